"""The summary's bar chart fits its labels in every language: rendered in pt_BR and es,
each label measured with the real DejaVu Sans metrics (the widest of the page's fonts;
matplotlib ships the file) lies inside the SVG, and rows do not overlap. The browser
test checks the same with Chromium's own layout (getBBox) and keeps a screenshot."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import matplotlib
import pytest
from api_client import PASSWORD, ApiClient
from PIL import ImageFont
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.admin_ui.pages.chart import STATUS_COLOURS, bar_chart
from opendialer.admin_ui.pages.session import LANGUAGE_COOKIE

SVG = "{http://www.w3.org/2000/svg}"
LONG_LABELS = [
    "SERVIÇO_TEMPORARIAMENTE_INDISPONÍVEL",
    "Serviço temporariamente indisponível",
    "Servicio temporalmente no disponible",
    "Contestador automático (máquina de respuesta)",
]


@cache
def dejavu(size: int) -> ImageFont.FreeTypeFont:
    fonts = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
    return ImageFont.truetype(str(fonts / "DejaVuSans.ttf"), size)


def label_boxes(
    svg_text: str, only: str | None = None
) -> tuple[float, float, list[tuple[str, float, float, float]]]:
    """(width, height, [(line, left, right, baseline)]) of the chart's text lines
    (``only="label"``: the status labels)."""
    svg = ET.fromstring(svg_text)
    _, _, width, height = (float(v) for v in svg.attrib["viewBox"].split())
    boxes = []
    for text in svg.iter(f"{SVG}text"):
        if only and text.attrib.get("class") != only:
            continue
        size = int(text.attrib["font-size"])
        spans = list(text.iter(f"{SVG}tspan")) or [text]
        for span in spans:
            line = "".join(span.itertext())
            x, y = float(span.attrib["x"]), float(span.attrib["y"])
            measured = dejavu(size).getlength(line)
            anchor = text.attrib.get("text-anchor", "start")
            left = x - measured if anchor == "end" else x
            boxes.append((line, left, left + measured, y))
    return width, height, boxes


def assert_inside(svg_text: str) -> None:
    width, height, boxes = label_boxes(svg_text)
    for line, left, right, baseline in boxes:
        assert left >= 0 and right <= width, (line, left, right, width)
        assert 12 <= baseline <= height - 3, (line, baseline, height)
    baselines = sorted(b for *_, b in label_boxes(svg_text, "label")[2])
    assert all(b - a >= 14 for a, b in itertools.pairwise(baselines)), baselines


def test_long_and_code_like_labels_fit() -> None:
    rows = [(label, n, "#123456") for n, label in enumerate(LONG_LABELS)]
    svg = str(bar_chart(rows, title="Contactos por estado"))
    assert_inside(svg)
    # A label too long for one line wraps at spaces and keeps every word.
    _, _, boxes = label_boxes(svg, "label")
    assert " ".join(line for line, *_ in boxes).count("máquina de respuesta") == 1


async def _summary_svg(app: ApiClient, language: str) -> str:
    group = await app.group()
    admin = await app.login_as("campaign_admin", [group])
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Cobrança",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
        },
    )
    assert r.status_code == 201, r.text
    browser = app.client()
    browser.cookies.set(LANGUAGE_COOKIE, language)
    login = {"username": admin.user["username"], "password": PASSWORD}
    assert (await browser.post("/login", data=login)).status_code == 303
    page = await browser.get(f"/campaigns/{r.json()['id']}/summary")
    assert page.status_code == 200, page.text
    start = page.text.index('<svg class="chart"')
    return page.text[start : page.text.index("</svg>", start) + len("</svg>")]


@pytest.mark.parametrize("language", ["en", "pt_BR", "es"])
async def test_the_summary_chart_fits_its_translated_labels(
    app_client: ApiClient, language: str
) -> None:
    svg = await _summary_svg(app_client, language)
    assert_inside(svg)
    _, _, boxes = label_boxes(svg, "label")
    shown = " ".join(line for line, *_ in boxes)
    expected = {
        "en": "Service temporarily unavailable",
        "pt_BR": "Serviço temporariamente indisponível",
        "es": "Servicio temporalmente no disponible",
    }[language]
    assert all(word in shown for word in expected.split()), shown
    assert len(list(ET.fromstring(svg).iter(f"{SVG}g"))) == len(STATUS_COLOURS)


@pytest.mark.browser
@pytest.mark.parametrize("language", ["pt_BR", "es"])
async def test_chromium_lays_every_label_inside_the_chart(
    tab: object, db: object, language: str, tmp_path: Path
) -> None:
    from opendialer.core.services import campaigns, groups, users
    from opendialer.core.services.common import SYSTEM

    group = (await groups.create_group(SYSTEM, {"name": f"Sul {language}"}))["id"]
    username = f"ana-{language.lower()}"
    await users.create_user(
        SYSTEM,
        {
            "username": username,
            "password": PASSWORD,
            "role": "campaign_admin",
            "group_ids": [group],
            "language": language,
        },
    )
    created = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": f"Cobrança {language}",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
        },
    )
    base: str = tab.base_url  # type: ignore[attr-defined]
    await tab.goto(f"{base}/login")  # type: ignore[attr-defined]
    await tab.fill("#username", username)  # type: ignore[attr-defined]
    await tab.fill("#password", PASSWORD)  # type: ignore[attr-defined]
    await tab.click("#submit")  # type: ignore[attr-defined]
    await tab.goto(f"{base}/campaigns/{created['id']}/summary")  # type: ignore[attr-defined]
    chart = tab.locator("svg.chart")  # type: ignore[attr-defined]
    await chart.wait_for()
    outside = await chart.evaluate(
        """svg => {
          const box = svg.viewBox.baseVal, out = [];
          for (const t of svg.querySelectorAll("text")) {
            const b = t.getBBox();
            if (b.x < 0 || b.y < 0 || b.x + b.width > box.width || b.y + b.height > box.height)
              out.push([t.textContent, b.x, b.y, b.width, b.height, box.width, box.height]);
          }
          return out;
        }"""
    )
    assert outside == [], outside
    labels = await chart.locator("text.label").all_text_contents()
    assert len(labels) == len(STATUS_COLOURS)
    shot = tmp_path / f"chart-{language}.png"
    await chart.screenshot(path=str(shot))
    assert shot.stat().st_size > 1000
