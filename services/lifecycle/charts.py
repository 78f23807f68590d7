"""Simple server-drawn SVG charts (no JavaScript): horizontal bars with labels and values."""

from __future__ import annotations

from markupsafe import Markup, escape


def bar_chart(
    title: str, rows: list[tuple[str, float | None]], unit: str = "%", maximum: float | None = None, width: int = 560
) -> Markup:
    """A horizontal bar chart; rows are (label, value), a None value is drawn as "—"."""
    bar_h, gap, label_w, value_w, top = 22, 8, 170, 70, 30
    height = top + len(rows) * (bar_h + gap) + 10
    values = [v for _, v in rows if v is not None]
    scale_max = maximum if maximum is not None else (max(values) if values else 1) or 1
    plot_w = width - label_w - value_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title)}">',
        f'<title>{escape(title)}</title>',
        f'<text x="0" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(rows):
        y = top + index * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.0f}" text-anchor="end" '
            f'class="chart-label">{escape(label[:14])}</text>'
        )
        parts.append(f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" class="chart-track"/>')
        if value is not None:
            w = max(0.0, min(1.0, value / scale_max)) * plot_w
            parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" class="chart-bar"/>')
        shown = "—" if value is None else f"{value:g}{unit}"
        parts.append(
            f'<text x="{label_w + plot_w + 6}" y="{y + bar_h * 0.7:.0f}" class="chart-value">{escape(shown)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
