"""report.pdf of an evidence bundle, in Chinese: a cover page, then one page per photo.

The Chinese text is set in Noto Sans SC, embedded as a subset of the characters the report uses
(:mod:`services.pdf_font`), so every PDF reader shows it without a system font. The report is
written to a file on disk (never into memory as a whole) and then streamed into the bundle.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import IO, Callable
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.beijing_time import BEIJING
from core.labels import BASIS_LABELS, TSA_KIND_LABELS, basis_detail, flag_label
from services.pdf_font import document_characters, embedded_font

FLAG_TEXT = "时间/位置存在不一致，详见清单"


def china_time(value) -> str:
    """An ISO string or datetime as Beijing time text, or 未知."""
    if not value:
        return "未知"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def _basis(times: dict) -> str:
    """The estimate's basis in Chinese (the stored English sentence stays in manifest.json)."""
    analysis = times.get("analysis") or {}
    code = analysis.get("basis_code")
    if not code:
        return "—"
    return f"{BASIS_LABELS.get(code, code)}（{basis_detail(code, analysis.get('details') or {}, times.get('estimate_basis'))}）"


def _place(item: dict) -> str:
    place = item.get("place") or {}
    parts = []
    if place.get("exif_gps"):
        parts.append(f"照片GPS {place['exif_gps']['latitude']:.6f}, {place['exif_gps']['longitude']:.6f}")
    if place.get("device"):
        parts.append(f"平板定位 {place['device']['latitude']:.6f}, {place['device']['longitude']:.6f}")
    if place.get("customer_site"):
        parts.append(f"客户现场 {place['customer_site']['latitude']:.6f}, {place['customer_site']['longitude']:.6f}")
    address = (item.get("customer") or {}).get("address")
    if address:
        parts.append(f"地址 {address}")
    return "；".join(parts) or "无定位"


class _Styles:
    def __init__(self, font: str):
        self.font = font
        self.title = ParagraphStyle("title", fontName=font, fontSize=20, leading=28, alignment=1)
        self.heading = ParagraphStyle("heading", fontName=font, fontSize=13, leading=18)
        self.body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
        self.cell = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11.5, wordWrap="CJK")


def _p(text, style) -> Paragraph:
    return Paragraph(escape(str(text)), style)


def _table(rows: list[tuple[str, str]], styles: _Styles) -> Table:
    table = Table([[_p(k, styles.cell), _p(v, styles.cell)] for k, v in rows], colWidths=[34 * mm, 146 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), styles.font),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#7b8794")),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#e4e7eb")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _cover(cover: dict, count: int, styles: _Styles) -> list:
    rows = [
        ("导出编号", cover["export_id"]),
        ("用途（案由）", cover["purpose"]),
        ("申请人", cover["requester"]),
        ("批准人", cover.get("approved_by") or "无需审批"),
        ("申请时间", china_time(cover["requested_at"])),
        ("生成时间", china_time(cover["built_at"])),
        ("照片数量", str(count)),
        ("时间戳服务", cover["tsa_statement"]),
        ("证据日志检查点", f"树大小 {cover['tree_size']}，根哈希 {cover['root_hash']}"),
        ("清单 SHA-256", cover["manifest_sha256"]),
    ]
    return [
        Spacer(1, 30 * mm),
        _p("电子证据包报告", styles.title),
        Spacer(1, 12 * mm),
        _table(rows, styles),
        Spacer(1, 8 * mm),
        _p(
            "本报告仅为阅读方便。证据以包内原始文件、manifest.json、时间戳令牌和证明文件为准；校验方法见 VERIFY.md。",
            styles.body,
        ),
        PageBreak(),
    ]


def _photo_page(item: dict, check: dict, preview: bytes | None, styles: _Styles) -> list:
    story = [_p(f"证据编号 {item['evidence_no']}", styles.heading), Spacer(1, 3 * mm)]
    if preview:
        reader = ImageReader(io.BytesIO(preview))
        width, height = reader.getSize()
        scale = min(180 * mm / width, 95 * mm / height)
        story += [Image(io.BytesIO(preview), width=width * scale, height=height * scale), Spacer(1, 3 * mm)]
    else:
        story += [_p("（无预览图：原始文件无法解码为图像，原始字节仍完整收录）", styles.body), Spacer(1, 3 * mm)]
    return story + [_table(photo_rows(item, check), styles), PageBreak()]


def photo_rows(item: dict, check: dict) -> list[tuple[str, str]]:
    """The (label, value) rows of one photo's page, every value worded in Chinese."""
    times, customer, stamp = item.get("times") or {}, item.get("customer") or {}, item.get("timestamp") or {}
    return [
        ("户号 / 户名", f"{customer.get('account_no', '—')} / {customer.get('name', '—')}"),
        ("检查员", ((item.get("inspector") or {}).get("display_name")) or "—"),
        ("设备", ((item.get("device") or {}).get("name")) or (item.get("device") or {}).get("id", "—")),
        ("推定拍摄时间", f"{china_time(times.get('estimated_capture_at'))}　依据：{_basis(times)}"),
        ("平板记录时间", china_time(times.get("device_captured_at"))),
        ("服务器接收时间", china_time(times.get("received_at"))),
        (
            "可信时间戳时间",
            f"{china_time(times.get('tsa_gen_time'))}（{TSA_KIND_LABELS.get(stamp.get('kind', ''), '无')}）",
        ),
        ("时间标记", "、".join(flag_label(f) for f in times.get("flags") or []) or "无"),
        ("地点", _place(item)),
        ("SHA-256", item.get("sha256") or ""),
        ("SM3", item.get("sm3") or ""),
        ("原始文件", f"{item['files']['original']}（{item.get('size')} 字节）"),
        ("校验状态", "；".join(f"{k}：{v}" for k, v in check.items())),
    ]


def render_report(
    target: IO[bytes], cover: dict, items: list[dict], checks: dict[str, dict], preview: Callable[[dict], bytes | None]
) -> None:
    """Write the report: cover, then one page per item (``preview(item)`` gives its preview JPEG)."""
    # the rows are worded from the label catalogue, so their text joins the characters to embed
    rows = [photo_rows(item, checks.get(item.get("photo_id") or item.get("scan_id", ""), {})) for item in items]
    with embedded_font(document_characters(__file__, cover, items, checks, rows)) as font:
        _build(target, cover, items, checks, preview, _Styles(font))


def _build(
    target: IO[bytes],
    cover: dict,
    items: list[dict],
    checks: dict[str, dict],
    preview: Callable[[dict], bytes | None],
    styles: _Styles,
) -> None:
    doc = SimpleDocTemplate(
        target,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"电子证据包报告 {cover['export_id']}",
        author="Dangan",
        invariant=1,
        initialFontName=styles.font,
    )
    story = _cover(cover, len(items), styles)
    for item in items:
        story += _photo_page(
            item, checks.get(item.get("photo_id") or item.get("scan_id", ""), {}), preview(item), styles
        )

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(styles.font, 8)
        canvas.drawString(15 * mm, 8 * mm, f"导出编号 {cover['export_id']}　第 {document.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
