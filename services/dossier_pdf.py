"""The printable 卷内目录 (dossier index) as PDF, its Chinese font (Noto Sans SC) embedded as a subset."""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from core.beijing_time import BEIJING
from services.pdf_font import document_characters, embedded_font

COLUMNS = (("序号", 12), ("文件题名", 62), ("文件类型", 32), ("日期", 22), ("页数", 12), ("页号", 18), ("来源", 18))


def index_pdf(header: dict, rows: list[dict], printed_at: datetime) -> bytes:
    """Render the index: a header block (档案号, 户号, 户名 …) and one table row per entry."""
    with embedded_font(document_characters(__file__, header, rows)) as font:
        return _index_pdf(header, rows, printed_at, font)


def _index_pdf(header: dict, rows: list[dict], printed_at: datetime, font: str) -> bytes:
    title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1)
    meta = ParagraphStyle("meta", fontName=font, fontSize=9.5, leading=14)
    cell = ParagraphStyle("cell", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"卷内目录 {header.get('archive_no', '')}",
        author="Dangan",
        initialFontName=font,
    )
    story = [Paragraph("卷内目录", title), Spacer(1, 4 * mm)]
    meta_rows = [
        [
            Paragraph(f"档案号：{header.get('archive_no', '')}", meta),
            Paragraph(f"户号：{header.get('account_no', '')}", meta),
        ],
        [
            Paragraph(f"户名：{header.get('name', '')}", meta),
            Paragraph(
                f"客户分类：{header.get('voltage_class', '')}　用电类别：{header.get('usage_category', '')}", meta
            ),
        ],
        [
            Paragraph(f"状态：{header.get('status', '')}", meta),
            Paragraph(f"存放位置：{header.get('box', '') or '—'}", meta),
        ],
    ]
    story += [
        Table(meta_rows, colWidths=[88 * mm, 94 * mm], style=[("FONTNAME", (0, 0), (-1, -1), font)]),
        Spacer(1, 4 * mm),
    ]
    data = [[Paragraph(name, cell) for name, _ in COLUMNS]]
    for row in rows:
        data.append(
            [
                Paragraph(str(row["seq"]), cell),
                Paragraph(_escape(row["title"]), cell),
                Paragraph(_escape(row["doc_type"]), cell),
                Paragraph(row["date"], cell),
                Paragraph(str(row["pages"]), cell),
                Paragraph(row.get("page_range", ""), cell),
                Paragraph(_escape(row["source"]), cell),
            ]
        )
    if not rows:
        data.append([Paragraph("（卷内暂无文件）", cell), "", "", "", "", "", ""])
    table = Table(data, colWidths=[w * mm for _, w in COLUMNS], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#52606d")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e7eb")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    stamp = printed_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    def footer(canvas, document):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(14 * mm, 9 * mm, f"打印时间 {stamp}（北京时间）")
        canvas.drawRightString(A4[0] - 14 * mm, 9 * mm, f"第 {document.page} 页")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _escape(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
