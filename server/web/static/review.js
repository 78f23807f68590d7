// Keyboard work on the review pages (no inline scripts: the CSP forbids them).
// Queue: J/K move, Enter open, X select, Shift+A approve selection, / filters.
// Detail: A approve, R reject, I has issues, C comment, N next, U back to the queue.
// A key that cannot act says why in the status line (#key-feedback) instead of doing nothing.
(function () {
  "use strict";

  var feedbackTimer = null;

  function say(text) {
    var box = document.getElementById("key-feedback");
    if (!box) {
      box = document.createElement("div");
      box.id = "key-feedback";
      box.className = "rv-key-feedback";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.classList.add("shown");
    if (feedbackTimer) { window.clearTimeout(feedbackTimer); }
    feedbackTimer = window.setTimeout(function () { box.classList.remove("shown"); }, 6000);
  }

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
    var picked = current >= 0 && all[current];
    if (key === "j" || key === "ArrowDown" || key === "k" || key === "ArrowUp") {
      if (!all.length) { say("本页没有可选的行。"); return; }
      select(current + (key === "j" || key === "ArrowDown" ? 1 : -1));
      event.preventDefault();
    } else if (key === "Enter" || key === "o") {
      if (picked) { window.location.href = all[current].getAttribute("data-href"); }
      else { say("请先用 J / K 选中一行，再按 Enter 打开。"); }
    } else if (key === "x") {
      var box = picked ? all[current].querySelector("input[type=checkbox]") : null;
      if (box) { box.checked = !box.checked; updateCount(); }
      else if (picked) { say("这一行不能勾选。"); }
      else { say("请先用 J / K 选中一行，再按 X 勾选。"); }
    } else if (key === "A" && event.shiftKey) {
      var bulk = document.getElementById("bulk-approve");
      if (!bulk) { say("此处不能批量通过（只有待审核或有问题的采集可以，且需要档案员角色）。"); }
      else if (!document.querySelectorAll("#queue input[name=capture]:checked").length) {
        say("请先用 X 勾选要通过的采集，再按 Shift+A。");
      } else { bulk.click(); }
    } else if (key === "/") {
      var first = document.querySelector("#queue-filters select");
      if (first) { first.focus(); event.preventDefault(); }
      else { say("本页没有筛选条件。"); }
    } else if (key === "n") {
      var next = document.getElementById("next-page");
      if (next) { window.location.href = next.href; }
      else { say("已是最后一页。"); }
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

  var CLOSED = "这条采集已处理完毕，不能再审核。";

  function openLinkDialog() {
    var panel = document.getElementById("link-panel");
    if (!panel) { return false; }
    panel.classList.add("rv-attention");
    panel.scrollIntoView({ block: "start" });
    var query = document.getElementById("link-query");
    if (query) { query.focus(); }
    return true;
  }

  function onDetailKey(event) {
    var key = event.key;
    var approve = document.getElementById("approve");
    if (key === "a") {
      if (approve && !approve.disabled) { approve.click(); }
      else if (openLinkDialog()) {
        event.preventDefault();
        say("该采集尚未关联客户：请在“关联客户”中查找并关联正确的客户，然后再按 A 通过。");
      } else if (document.getElementById("incomplete-note")) {
        say("应交照片尚未全部上传，暂不能归档。");
      } else { say(approve ? "现在不能通过这条采集。" : CLOSED); }
    } else if (key === "r" || key === "i" || key === "c") {
      var target = { r: "reject-reason", i: "issues-text", c: "comment-body" }[key];
      if (focus(target)) { event.preventDefault(); }
      else { say(key === "c" ? "您的角色不能添加备注。" : CLOSED); }
    } else if (key === "n") {
      if (!click("next-item")) { say("没有下一条待审核的采集了。"); }
    } else if (key === "u") { click("back-to-queue"); }
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
