// Keyboard work on the review pages (no inline scripts: the CSP forbids them).
// Queue: J/K move, Enter open, X select, Shift+A approve selection, / filters.
// Detail: A approve, R reject, I has issues, C comment, N next, U back to the queue.
(function () {
  "use strict";

  function typing(event) {
    var el = event.target;
    var tag = el && el.tagName ? el.tagName.toLowerCase() : "";
    return tag === "input" || tag === "textarea" || tag === "select" || (el && el.isContentEditable);
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr.rv-row"));
  }

  var current = -1;

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row) { row.classList.remove("rv-current"); });
    all[index].classList.add("rv-current");
    all[index].scrollIntoView({ block: "nearest" });
    current = index;
  }

  function updateCount() {
    var label = document.getElementById("selected-count");
    if (!label) { return; }
    var n = document.querySelectorAll("#queue input[name=capture]:checked").length;
    label.textContent = "已选 " + n + " 条";
  }

  function onQueueKey(event) {
    var all = rows();
    var key = event.key;
    if (key === "j" || key === "ArrowDown") { select(current + 1); event.preventDefault(); }
    else if (key === "k" || key === "ArrowUp") { select(current - 1); event.preventDefault(); }
    else if ((key === "Enter" || key === "o") && current >= 0 && all[current]) {
      window.location.href = all[current].getAttribute("data-href");
    } else if (key === "x" && current >= 0 && all[current]) {
      var box = all[current].querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; updateCount(); }
    } else if (key === "A" && event.shiftKey) {
      var bulk = document.getElementById("bulk-approve");
      if (bulk) { bulk.click(); }
    } else if (key === "/") {
      var first = document.querySelector("#queue-filters select");
      if (first) { first.focus(); event.preventDefault(); }
    } else if (key === "n") {
      var next = document.getElementById("next-page");
      if (next) { window.location.href = next.href; }
    }
  }

  function click(id) {
    var el = document.getElementById(id);
    if (el && !el.disabled) { el.click(); return true; }
    return false;
  }

  function focus(id) {
    var el = document.getElementById(id);
    if (el) { el.focus(); return true; }
    return false;
  }

  function onDetailKey(event) {
    var key = event.key;
    if (key === "a") { click("approve"); }
    else if (key === "r") { if (focus("reject-reason")) { event.preventDefault(); } }
    else if (key === "i") { if (focus("issues-text")) { event.preventDefault(); } }
    else if (key === "c") { if (focus("comment-body")) { event.preventDefault(); } }
    else if (key === "n") { click("next-item"); }
    else if (key === "u") { click("back-to-queue"); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var queue = document.getElementById("queue");
    var detail = document.querySelector(".rv-detail");

    rows().forEach(function (row, index) {
      row.addEventListener("click", function (event) {
        var tag = event.target.tagName.toLowerCase();
        if (tag === "input" || tag === "a" || tag === "button" || tag === "label") { return; }
        select(index);
        if (event.detail === 2) { window.location.href = row.getAttribute("data-href"); }
      });
    });

    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll("#queue input[name=capture]").forEach(function (box) {
          box.checked = all.checked;
        });
        updateCount();
      });
    }
    document.querySelectorAll("#queue input[name=capture]").forEach(function (box) {
      box.addEventListener("change", updateCount);
    });

    var bulkForm = document.getElementById("bulk-form");
    if (bulkForm) {
      bulkForm.addEventListener("submit", function (event) {
        var n = document.querySelectorAll("#queue input[name=capture]:checked").length;
        if (!n || !window.confirm("确定批量通过所选的 " + n + " 条采集，并按建议文件类型归档？")) {
          event.preventDefault();
        }
      });
    }

    var filterForm = document.getElementById("queue-filters");
    if (filterForm) {
      // keep the address short: empty filters mean "any" and need not travel
      filterForm.addEventListener("submit", function () {
        filterForm.querySelectorAll("select, input").forEach(function (field) {
          if (!field.value) { field.disabled = true; }
        });
      });
    }

    var rejectForm = document.getElementById("reject-form");
    if (rejectForm) {
      rejectForm.addEventListener("submit", function (event) {
        var reason = document.getElementById("reject-reason");
        if (reason && !reason.value) { reason.focus(); event.preventDefault(); }
      });
    }

    var printButton = document.getElementById("print-now");
    if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event)) {
        if (event.key === "Escape") { event.target.blur(); }
        return;
      }
      if (queue) { onQueueKey(event); }
      else if (detail) { onDetailKey(event); }
      else if (document.getElementById("dossier-results") || document.getElementById("unlinked")) {
        onQueueKey(event);
      }
    });
  });
})();
