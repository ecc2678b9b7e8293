"""A horizontal bar chart as inline SVG, drawn on the server (no chart service, no script).

Only SVG presentation attributes are used (no ``style``), so the page's CSP
(``style-src 'self'``) allows it.
"""

from __future__ import annotations

from markupsafe import Markup, escape

#: One colour per lead status: success green, failures red/orange, waiting grey.
STATUS_COLOURS = {
    "NOT_CALLED": "#9aa8b6",
    "SUCCESS": "#1c7c45",
    "FAILURE": "#c0392b",
    "BUSY": "#e67e22",
    "REJECTED": "#d35400",
    "AMD": "#8e44ad",
    "SERVICE_TEMPORARILY_UNAVAILABLE": "#b7950b",
    "DO_NOT_CALL": "#34495e",
    "UNKNOWN": "#7f8c8d",
}

ROW_H = 30
LABEL_W = 250
BAR_W = 480
VALUE_W = 70
TOP = 34


def bar_chart(rows: list[tuple[str, int, str]], *, title: str) -> Markup:
    """``rows``: (label, value, colour). Bars scale to the largest value."""
    width = LABEL_W + BAR_W + VALUE_W
    height = TOP + ROW_H * len(rows) + 8
    largest = max((value for _, value, _ in rows), default=0) or 1
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<text x="0" y="18" font-size="14" font-weight="600" fill="#1f2933">'
        f"{escape(title)}</text>",
    ]
    for index, (label, value, colour) in enumerate(rows):
        y = TOP + index * ROW_H
        bar = round(BAR_W * value / largest) if value else 0
        parts.append(
            f'<g class="bar" data-value="{value}">'
            f'<text x="{LABEL_W - 10}" y="{y + 19}" font-size="13" text-anchor="end" '
            f'fill="#44525f">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y + 5}" width="{BAR_W}" height="{ROW_H - 10}" '
            f'fill="#eef1f4" rx="3"/>'
            f'<rect x="{LABEL_W}" y="{y + 5}" width="{bar}" height="{ROW_H - 10}" '
            f'fill="{colour}" rx="3"/>'
            f'<text x="{LABEL_W + BAR_W + 10}" y="{y + 19}" font-size="13" '
            f'font-weight="600" fill="#1f2933">{value}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
