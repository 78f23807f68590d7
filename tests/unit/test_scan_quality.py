"""Reading a scan's pages, resolution and colour mode from its bytes (DA/T 31 flags)."""

import pytest

from core import scans
from tests.helpers.scans import make_page_image, make_pdf, make_tiff


def test_pdf_pages_resolution_and_grey_mode_come_from_the_page_pictures():
    info = scans.inspect(make_pdf(pages=3, dpi=300, mode="L"))
    assert (info.file_format, info.page_count, info.min_dpi, info.colour_modes, info.flags) == (
        "pdf",
        3,
        300.0,
        ["grey"],
        [],
    )


def test_pdf_below_200_dpi_is_flagged_low_resolution():
    assert scans.inspect(make_pdf(pages=1, dpi=150, mode="RGB")).flags == ["low_resolution"]


def test_exactly_200_dpi_meets_the_rule():
    info = scans.inspect(make_tiff(pages=1, dpi=200, mode="L"))
    assert info.min_dpi == 200.0 and info.flags == []


def test_multi_page_bilevel_tiff_reports_every_page_and_the_lowest_resolution():
    info = scans.inspect(make_tiff(pages=4, dpi=150, mode="1"))
    assert (info.file_format, info.page_count, info.colour_modes) == ("tiff", 4, ["bilevel"])
    assert [p.page for p in info.pages] == [1, 2, 3, 4] and info.flags == ["low_resolution"]


def test_png_without_recorded_resolution_is_flagged_unknown():
    info = scans.inspect(make_page_image("PNG", dpi=None, mode="L"))
    assert info.min_dpi is None and info.flags == ["resolution_unknown"]


def test_colour_jpeg_page():
    info = scans.inspect(make_page_image("JPEG", dpi=300, mode="RGB"))
    assert (info.file_format, info.page_count, info.colour_modes, info.flags) == ("jpeg", 1, ["colour"], [])


def test_declared_page_count_is_checked_against_the_file():
    assert scans.inspect(make_pdf(pages=2), declared_pages=2).flags == []
    assert scans.inspect(make_pdf(pages=2), declared_pages=3).flags == ["page_count_mismatch"]


@pytest.mark.parametrize("data", [b"", b"hello", b"%PDF-1.4 truncated", b"GIF89a" + b"\0" * 20])
def test_files_that_are_not_readable_scans_raise_scan_error(data):
    with pytest.raises(scans.ScanError):
        scans.inspect(data)


def test_first_page_renders_within_the_requested_size():
    for data, fmt in ((make_pdf(pages=2), "pdf"), (make_tiff(pages=2), "tiff")):
        image = scans.first_page(data, fmt, 320)
        assert image.mode == "RGB" and max(image.size) <= 320
