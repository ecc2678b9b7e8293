"""The interactive API page works offline: Swagger UI loads everything from the app
itself (no CDN, no web font) and runs under the strict Content-Security-Policy; the
viewers that would need a CDN are not offered. Chromium with every request to another
origin blocked."""

# ruff: noqa: F811  (the fixtures imported from ui_browser are test parameters here)
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Route, expect
from ui_browser import browser, chromium_executable, live_server, tab  # noqa: F401

from opendialer.admin_ui.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/schema", "/schema/swagger"])
async def test_swagger_renders_the_operations_with_no_other_origin(tab: Page, path: str) -> None:
    base = tab.base_url  # type: ignore[attr-defined]
    origin = urlsplit(base).netloc
    blocked: list[str] = []
    loaded: list[str] = []

    async def only_the_app(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == origin or url.startswith("data:"):
            loaded.append(url)
            await route.continue_()
        else:
            blocked.append(url)
            await route.abort()

    await tab.route("**/*", only_the_app)
    response = await tab.goto(f"{base}{path}")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # the operation list rendered: the campaigns routes, each with its method
    operation = tab.locator(".opblock-summary-path", has_text="/api/v1/campaigns").first
    await expect(operation).to_be_visible(timeout=30_000)
    assert await tab.locator(".opblock-summary-path").count() > 20
    await expect(tab.locator(".info .title")).to_contain_text("OpenDialer")
    assert blocked == []  # nothing asked of another origin (CDN, fonts, favicon)
    assert any(url.endswith("/schema/assets/swagger-ui-bundle.js") for url in loaded)
    assert any(url.endswith("/schema/openapi.json") for url in loaded)
    # the tab fixture fails the test on any script error or CSP violation


async def test_viewers_that_need_a_cdn_are_not_offered(live_server: str) -> None:
    async with httpx.AsyncClient(base_url=live_server) as client:
        for path in ("/schema/redoc", "/schema/elements", "/schema/rapidoc", "/schema/scalar"):
            assert (await client.get(path)).status_code == 404, path
        page = (await client.get("/schema")).text
        assert "http://" not in page and "https://" not in page
        assert "<script>" not in page and "<style" not in page  # no inline code
        css = await client.get("/schema/assets/swagger-ui.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "fonts.googleapis" not in css.text
        # only the files the page uses: not the package's demo page or source maps
        assert (await client.get("/schema/assets/index.html")).status_code == 404
        assert (await client.get("/schema/assets/swagger-ui.js.map")).status_code == 404
