"""What a zh-CN office page shows a person, and the words on it that are not Chinese.

``visible_text`` collects the rendered text of a page (not code samples, hashes or key caps),
with tooltips and option labels; ``foreign_words`` returns the ASCII-only words of it that are
not on the allow-list of things that have no Chinese name: 户号 and other numbers, hashes and
identifiers, units, product and standard names, error codes shown beside their Chinese message.
"""

from __future__ import annotations

import re

from core.errors import CATALOGUE

VISIBLE_TEXT_JS = """() => {
  const skip = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "KBD", "NOSCRIPT", "TEXTAREA", "SVG"]);
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    let el = node.parentElement, hidden = false;
    while (el) {
      if (skip.has(el.tagName.toUpperCase()) || el.classList.contains("rv-hash")) { hidden = true; break; }
      el = el.parentElement;
    }
    if (hidden) { continue; }
    const style = getComputedStyle(node.parentElement);
    if (style.display === "none" || style.visibility === "hidden") { continue; }
    out.push(node.textContent);
  }
  document.querySelectorAll("[title]").forEach(e => out.push(e.getAttribute("title")));
  document.querySelectorAll("[placeholder]").forEach(e => out.push(e.getAttribute("placeholder")));
  document.querySelectorAll("img[alt]").forEach(e => out.push(e.getAttribute("alt")));
  return out.join("\\n");
}"""

# names that have no Chinese rendering: standards, products, units, keys on the keyboard
ALLOWED = {
    "Dangan",
    "EXIF",
    "GPS",
    "SHA-256",
    "SM3",
    "UTC",
    "TSA",
    "RFC",
    "CSV",
    "PDF",
    "XLSX",
    "JSON",
    "XMP",
    "ZIP",
    "UTF-8",
    "GB18030",
    "Merkle",
    "Ed25519",
    "ID",
    "CT",
    "PT",
    "kVA",
    "kV",
    "V",
    "B",
    "KB",
    "MB",
    "GB",
    "DateTimeOriginal",
    "OffsetTimeOriginal",
    "chinesecalendar",
    "holidays",
    "J",
    "K",
    "X",
    "A",
    "R",
    "I",
    "C",
    "N",
    "U",
    "Enter",
    "Shift",
    "outbox",
    "Redis",
    "JPEG",
    "PNG",
    "CA",
    "URL",
    "DA/T",
    "TIFF",
    "JPEG/PNG",
    "dpi",
    "HEIC",
    "WebP",
    "PEM",
    "DER",
}
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-.:/+]*[A-Za-z0-9]|[A-Za-z]")
IDENTIFIER = re.compile(
    r"^(?:[0-9a-f]{8,}|[A-Z]{1,4}-?\d[0-9A-Z-]*|UTC[+-]\d\d:\d\d|[0-9a-f]{8}-[0-9a-f-]{27}|(?:DGE|KH|EV|G|D|BG)-[0-9A-Za-z-]+|https?://\S+|v\d[\d.]*|"
    r"\d+(?:\.\d+)*(?:kV|V|kVA|KB|MB|GB|B))$"
)
REPRS = ("<built-in", "object at 0x", "<function", "{'", "[<", "None", "True", "False", "Traceback")


def foreign_words(text: str, extra_allowed: set[str] = frozenset()) -> list[str]:
    """The ASCII-only words of a page's text that a Chinese reader should not have to read."""
    out = []
    for word in WORD.findall(text):
        bare = word.strip(".:/-+")
        if not bare or bare in ALLOWED or bare in extra_allowed or bare in CATALOGUE or IDENTIFIER.match(bare):
            continue
        out.append(bare)
    return sorted(set(out))


def reprs(text: str) -> list[str]:
    """Python representations that leaked into a page."""
    return [r for r in REPRS if r in text]
