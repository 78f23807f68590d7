"""Derived copies: orientation applied, no GPS carried over, stamped band with the evidence number."""

import io

import pytest
from PIL import Image

from core import derivatives
from core.exif import read_metadata
from tests.helpers.images import bomb_jpeg, make_image, make_jpeg, truncated_jpeg


def test_thumbnail_and_preview_are_upright_and_carry_no_gps():
    data = make_jpeg(width=800, height=600, orientation=6, gps=(31.2, 121.4))
    image = derivatives.decode(data)
    for made, edge in ((derivatives.thumbnail(image), 320), (derivatives.preview(image), 1600)):
        copy = Image.open(io.BytesIO(made))
        assert copy.height > copy.width  # orientation 6: the landscape frame is shown portrait
        assert max(copy.size) <= edge
        assert 0x8825 not in copy.getexif()
        assert read_metadata(made).gps_latitude is None


@pytest.mark.parametrize("fmt", ["HEIF", "PNG", "WEBP"])
def test_heic_png_and_webp_give_upright_jpeg_copies_without_gps(fmt):
    data = make_image(fmt, width=800, height=600, orientation=6, gps=(31.2, 121.4))
    image = derivatives.decode(data)
    band = derivatives.Band("DGE-20260302-ABCDEF012345", "ab" * 32)
    for made, edge in (
        (derivatives.thumbnail(image), 320),
        (derivatives.preview(image), 1600),
        (derivatives.stamped_copy(image, band), 2000),
    ):
        copy = Image.open(io.BytesIO(made))
        assert copy.format == "JPEG"
        assert max(copy.size) <= edge
        assert copy.height > copy.width  # orientation 6: the landscape frame is shown portrait
        assert 0x8825 not in copy.getexif() and read_metadata(made).gps_latitude is None


def test_stamped_copy_names_the_evidence_number_and_is_deterministic():
    image = derivatives.decode(make_jpeg())
    band = derivatives.Band(
        "DGE-20260302-ABCDEF012345",
        "ab" * 32,
        "3100012345",
        "测试客户有限公司",
        "2026-03-02 09:15:30（北京时间）",
        "EXIF拍摄时间",
        "31.230416, 121.473701",
        "2026-03-02 09:20:00",
    )
    first, second = derivatives.stamped_copy(image, band), derivatives.stamped_copy(image, band)
    assert first == second
    stamped = Image.open(io.BytesIO(first))
    assert stamped.height > image.height and stamped.width == image.width
    assert "DGE-20260302-ABCDEF012345" in stamped.getexif()[0x010E]
    assert b"dc:identifier=\"DGE-20260302-ABCDEF012345\"" in first


def test_the_project_ships_its_own_cjk_font():
    path = derivatives.font_path()
    assert "pylopdf_fonts_zh_cn" in path
    font = derivatives._font(20)
    assert font.getbbox("户号")[2] > 20  # real glyphs, not empty boxes of zero width


@pytest.mark.parametrize("make", [truncated_jpeg, bomb_jpeg])
@pytest.mark.timeout(10)
def test_undecodable_pictures_raise_a_recorded_reason(make):
    with pytest.raises(derivatives.DerivativeError):
        derivatives.decode(make())


def test_small_copies_are_the_thumbnail_and_preview_of_one_decode():
    image = derivatives.decode(make_jpeg(width=2400, height=1800))
    made = derivatives.small_copies(image)
    assert set(made) == {"thumbnail_key", "preview_key"}
    sizes = {key: Image.open(io.BytesIO(data)).size for key, data in made.items()}
    assert max(sizes["thumbnail_key"]) == derivatives.THUMBNAIL_EDGE
    assert max(sizes["preview_key"]) == derivatives.PREVIEW_EDGE


def test_long_band_lines_are_wrapped_where_the_longest_fitting_prefix_ends():
    widths = {n: n * 7 for n in range(200)}
    for room in (70, 71, 300, 1000):
        expected = max([10] + [n for n in range(10, 120) if widths[n] <= room])
        assert derivatives._longest_fitting("x" * 119, lambda text: widths[len(text)] <= room) == expected
