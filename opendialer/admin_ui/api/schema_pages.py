"""The interactive API page at ``/schema`` (and ``/schema/swagger``): Swagger UI, served
whole by the app — no CDN, no web font, no inline script — so it works on an offline
install under the admin's strict Content-Security-Policy.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (a pyproject
dependency; ``swagger_ui_bundle.swagger_ui_path``); the page's start-up script is
``static/swagger-init.js``. The viewers Litestar would fetch from a CDN (ReDoc,
Elements, RapiDoc, Scalar) are not offered: their paths answer 404.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import File
from swagger_ui_bundle import swagger_ui_path

SCHEMA_PATH = "/schema"
ASSETS = f"{SCHEMA_PATH}/assets"
#: The only files of the package the page needs (the rest — its demo page, source maps,
#: the OAuth2 redirect page — is not served).
ASSET_FILES = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


@get(
    "/assets/{name:str}",
    include_in_schema=False,
    sync_to_thread=False,
    cache_control=CacheControlHeader(max_age=86400),
)
def swagger_asset(name: FromPath[str]) -> File:
    media_type = ASSET_FILES.get(name)
    if media_type is None:
        raise NotFoundException(f"no file {name!r} here")
    return File(
        Path(str(swagger_ui_path)) / name,
        media_type=media_type,
        content_disposition_type="inline",
    )


class OfflineSwagger(OpenAPIRenderPlugin):
    """Swagger UI from the app's own files; the page reads ``openapi.json`` itself."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"], media_type=MediaType.HTML)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        spec_url = f"{SCHEMA_PATH}/openapi.json"
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} API</title>
  <link rel="icon" href="/favicon.ico" sizes="any">
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
  <script src="{ASSETS}/swagger-ui-bundle.js" defer></script>
  <script src="/static/swagger-init.js" defer></script>
</head>
<body>
  <div id="swagger-container" data-spec-url="{spec_url}"></div>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        router.register(swagger_asset)
