"""The court report and the dossier index embed their Chinese font: poppler renders and extracts the text."""

import io
from datetime import datetime, timezone

from PIL import Image

from services.dossier_pdf import index_pdf
from services.pdf_font import registered_subsets
from services.report_pdf import render_report
from tests.helpers.pdf import dark_pixels, fonts_of, render_page, text_of

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _preview() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), (255, 255, 255)).save(buffer, "JPEG")
    return buffer.getvalue()


def _report(path) -> None:
    cover = {
        "export_id": "EXP-7",
        "purpose": "供电合同纠纷诉讼",
        "requester": "王律师",
        "approved_by": "李主任",
        "requested_at": NOW,
        "built_at": NOW,
        "tsa_statement": "本地时间戳服务（非第三方）",
        "tree_size": 12,
        "root_hash": "ab" * 32,
        "manifest_sha256": "cd" * 32,
    }
    item = {
        "photo_id": "p1",
        "evidence_no": "DGE-20260302-ABCDEF012345",
        "sha256": "ef" * 32,
        "sm3": "01" * 32,
        "size": 1234,
        "files": {"original": "photos/DGE-20260302-ABCDEF012345.heic"},
        "customer": {"account_no": "3100012345", "name": "浦江饮料有限公司", "address": "上海市黄浦区中山东一路1号"},
        "inspector": {"display_name": "张检查"},
        "device": {"name": "平板-07"},
        "times": {
            "estimated_capture_at": "2026-03-02T01:15:30Z",
            "estimate_basis": "EXIF拍摄时间",
            "flags": ["GPS时间与EXIF时间不一致"],
        },
        "timestamp": {"kind": "local"},
        "place": {},
    }
    with open(path, "wb") as fh:
        render_report(fh, cover, [item], {"p1": {"哈希": "一致"}}, lambda _item: _preview())


def test_court_report_text_is_found_by_pdftotext_and_its_font_is_embedded(tmp_path):
    pdf = tmp_path / "report.pdf"
    _report(pdf)
    text = text_of(pdf)
    for words in ("电子证据包报告", "户号", "证据", "浦江饮料有限公司", "上海市黄浦区中山东一路1号", "北京时间"):
        assert words in text
    fonts = fonts_of(pdf)
    assert fonts and all(font["emb"] == "yes" for font in fonts), fonts
    assert any("NotoSansSC" in font["name"] and font["sub"] == "yes" for font in fonts)


def test_court_report_pages_render_with_text_in_the_table(tmp_path):
    pdf = tmp_path / "report.pdf"
    _report(pdf)
    # the photo page: a white preview, then the table of facts. With a font that is not embedded
    # poppler draws none of the Chinese text and this region stays without a single dark pixel.
    page = render_page(pdf, 2, tmp_path)
    width, height = page.size
    assert dark_pixels(page, (0, height // 3, width, height)) > 500


def test_dossier_index_text_is_found_by_pdftotext_and_its_font_is_embedded(tmp_path):
    header = {
        "archive_no": "DA-2026-0001",
        "account_no": "3100012345",
        "name": "浦江饮料有限公司",
        "voltage_class": "高压",
        "usage_category": "大工业用电",
        "status": "在库",
        "box": "A-01",
    }
    rows = [
        {
            "seq": 1,
            "title": "现场检查证据照片",
            "doc_type": "检查记录",
            "date": "2026-03-02",
            "pages": 2,
            "source": "平板上传",
        }
    ]
    pdf = tmp_path / "index.pdf"
    pdf.write_bytes(index_pdf(header, rows, NOW))
    text = text_of(pdf)
    for words in ("卷内目录", "户号", "3100012345", "浦江饮料有限公司", "现场检查证据照片", "证据", "打印时间"):
        assert words in text
    fonts = fonts_of(pdf)
    assert fonts and all(font["emb"] == "yes" for font in fonts), fonts
    assert dark_pixels(render_page(pdf, 1, tmp_path)) > 500


def test_the_same_report_gives_the_same_bytes_and_leaves_no_font_registered(tmp_path):
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    _report(first)
    _report(second)
    assert first.read_bytes() == second.read_bytes()
    assert registered_subsets() == []
