"""A horizontal bar chart as inline SVG, drawn on the server (no chart service, no script).

Only SVG presentation attributes are used (no ``style``), so the page's CSP
(``style-src 'self'``) allows it.

Labels are translated ("Serviço temporariamente indisponível", "Servicio
temporalmente no disponible"), so the label column is sized to the longest label
rather than fixed: a label wider than ``MAX_LABEL_W`` wraps at spaces onto more
lines (its row grows), and the column is as wide as the widest line. Widths are
measured with DejaVu Sans's advance widths — the widest of the fonts the page's
``font-family`` falls back to — plus a margin, so the label fits in any of them.
"""

from __future__ import annotations

import unicodedata

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
    "ABANDONED": "#a93226",
    "MESSAGE_LEFT": "#2e86c1",
    "UNKNOWN": "#7f8c8d",
}

ROW_H = 30
LINE_H = 16
FONT_SIZE = 13
MIN_LABEL_W = 120
MAX_LABEL_W = 300
LABEL_GAP = 10
BAR_W = 480
VALUE_W = 70
TOP = 34
#: DejaVu Sans advance widths of " " .. "~" in thousandths of an em.
_ASCII_WIDTHS = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337,
    636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531,
    1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787,
    603, 787, 695, 635, 611, 732, 684, 989, 685, 611, 685, 390, 337, 390, 838, 500,
    500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612,
    635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
)  # fmt: skip
#: Head-room over DejaVu's widths (hinting, a bolder or wider fallback font).
WIDTH_MARGIN = 1.08


def text_width(text: str, font_size: float = FONT_SIZE) -> float:
    """Pixels ``text`` takes at ``font_size``: accented letters as their base letter
    (Ç as C), anything else unknown as a full em."""
    total = 0
    for char in text:
        base = unicodedata.normalize("NFD", char)[0]
        code = ord(base)
        total += _ASCII_WIDTHS[code - 32] if 32 <= code < 127 else 1000
    return total / 1000 * font_size * WIDTH_MARGIN


def wrap_label(label: str, max_width: float = MAX_LABEL_W) -> list[str]:
    """``label`` in lines of at most ``max_width`` pixels, broken at spaces (a single
    word wider than that stays whole: the column then grows to hold it)."""
    lines: list[str] = []
    for word in label.split():
        if lines and text_width(f"{lines[-1]} {word}") <= max_width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def bar_chart(rows: list[tuple[str, int, str]], *, title: str) -> Markup:
    """``rows``: (label, value, colour). Bars scale to the largest value; the label
    column fits the longest (wrapped) label."""
    wrapped = [wrap_label(label) for label, _, _ in rows]
    widest = max((text_width(line) for lines in wrapped for line in lines), default=0)
    label_w = max(MIN_LABEL_W, round(widest) + 2 * LABEL_GAP)
    heights = [max(ROW_H, LINE_H * len(lines) + 14) for lines in wrapped]
    width = max(label_w + BAR_W + VALUE_W, round(text_width(title, 14) * 1.1))
    height = TOP + sum(heights) + 8
    largest = max((value for _, value, _ in rows), default=0) or 1
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        '<text x="0" y="18" font-size="14" font-weight="600" fill="#1f2933">'
        f"{escape(title)}</text>",
    ]
    y = TOP
    for (_label, value, colour), lines, row_h in zip(rows, wrapped, heights, strict=True):
        bar = round(BAR_W * value / largest) if value else 0
        middle = y + row_h / 2
        first = middle + 5 - LINE_H * (len(lines) - 1) / 2  # baselines centred on the bar
        spans = "".join(
            f'<tspan x="{label_w - LABEL_GAP}" y="{first + i * LINE_H:g}">{escape(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        parts.append(
            f'<g class="bar" data-value="{value}">'
            f'<text class="label" font-size="{FONT_SIZE}" text-anchor="end" '
            f'fill="#44525f">{spans}</text>'
            f'<rect x="{label_w}" y="{middle - 10:g}" width="{BAR_W}" height="20" '
            f'fill="#eef1f4" rx="3"/>'
            f'<rect x="{label_w}" y="{middle - 10:g}" width="{bar}" height="20" '
            f'fill="{colour}" rx="3"/>'
            f'<text x="{label_w + BAR_W + 10}" y="{middle + 5:g}" font-size="{FONT_SIZE}" '
            f'font-weight="600" fill="#1f2933">{value}</text></g>'
        )
        y += row_h
    parts.append("</svg>")
    return Markup("".join(parts))
