"""Built-in plugin ``dnc_http``: an external Do-Not-Call service over HTTPS (kind ``"http"``)."""

from __future__ import annotations

from typing import Any

from opendialer.plugins.dnc_http.provider import HttpDncProvider
from opendialer.sdk import hookimpl


@hookimpl
def register_dnc_providers() -> dict[str, Any]:
    return {"http": HttpDncProvider}
