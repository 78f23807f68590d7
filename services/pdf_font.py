"""The Chinese font embedded in the PDFs (court report, dossier index): Noto Sans SC, subset per document.

Noto Sans SC comes from the pinned PyPI package ``pylopdf-fonts-zh-cn`` (SIL OFL). It has
PostScript (CFF) outlines, which ReportLab cannot embed, so the glyphs a document needs are cut
out with fontTools and given TrueType outlines; ReportLab then embeds that subset into the PDF.
A PDF made this way shows its Chinese text on any reader (poppler, pdf.js, Acrobat) without a
system font. Converting the whole font would take tens of seconds; a document's few hundred
characters take about a second.
"""

from __future__ import annotations

import hashlib
import io
import json
import string
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pylopdf_fonts_zh_cn
from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont

FAMILY = "NotoSansSC"
# Always present, so numbers, Latin codes and the usual full-width punctuation never fall out.
BASE_CHARACTERS = string.printable + "，。、；：？！（）《》“”‘’—…·【】「」／　"
_LOCK = threading.Lock()
_IN_USE: dict[str, int] = {}  # subset name → documents being built with it


def font_source() -> str:
    """Path of the Noto Sans SC OpenType file."""
    return str(pylopdf_fonts_zh_cn.sans_path())


def _truetype_subset(characters: str, postscript_name: str) -> bytes:
    """Noto Sans SC cut down to ``characters``, with quadratic (TrueType) outlines, as font file bytes.

    Each subset gets its own PostScript name: ReportLab shares one registered font per face name.
    """
    font = TTFont(font_source(), recalcTimestamp=False)  # same characters, same bytes
    options = subset.Options()
    options.layout_features = []
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    order = font.getGlyphOrder()
    outlines = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder, glyf.glyphs = order, {}
    for name in order:
        pen = TTGlyphPen(outlines)
        outlines[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    for tag in ("CFF ", "VORG"):
        if tag in font:
            del font[tag]
    font["loca"], font["glyf"] = newTable("loca"), glyf
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for attribute in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, attribute, 1 if attribute == "maxZones" else 0)
    post = font["post"]
    post.formatType, post.extraNames, post.mapping = 2.0, [], {}
    post.glyphOrder = order
    font.sfntVersion = "\x00\x01\x00\x00"
    names = font["name"]
    names.names = [record for record in names.names if record.nameID != 6]
    names.setName(postscript_name, 6, 3, 1, 0x409)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def document_characters(module_file: str, *data) -> str:
    """Every character a document can contain: its module's labels (the source text) and its data."""
    return Path(module_file).read_text(encoding="utf-8") + json.dumps(data, ensure_ascii=False, default=str)


@contextmanager
def embedded_font(*texts: str) -> Iterator[str]:
    """A registered font with every glyph of ``texts``, for building one document; its name.

    The name follows from the characters, so the same document gives the same PDF bytes. The font
    is dropped from ReportLab's registry when the last document using it is built, so a
    long-running server printing many documents keeps no font behind.
    """
    characters = "".join(sorted(set(BASE_CHARACTERS).union(*texts)))
    name = f"{FAMILY}-{hashlib.sha256(characters.encode('utf-8')).hexdigest()[:16]}"
    with _LOCK:
        registered = name in _IN_USE
    font = None if registered else ReportlabTTFont(name, io.BytesIO(_truetype_subset(characters, name)))
    with _LOCK:
        if name not in _IN_USE:
            pdfmetrics.registerFont(font or ReportlabTTFont(name, io.BytesIO(_truetype_subset(characters, name))))
        _IN_USE[name] = _IN_USE.get(name, 0) + 1
    try:
        yield name
    finally:
        with _LOCK:
            _IN_USE[name] -= 1
            if not _IN_USE[name]:
                del _IN_USE[name]
                font = pdfmetrics._fonts.pop(name, None)  # ReportLab has no public way to unregister
                if font is not None:
                    pdfmetrics._dynFaceNames.pop(font.face.name, None)


def registered_subsets() -> list[str]:
    """Names of the subsets registered right now (documents being built)."""
    return [name for name in pdfmetrics.getRegisteredFontNames() if name.startswith(f"{FAMILY}-")]
