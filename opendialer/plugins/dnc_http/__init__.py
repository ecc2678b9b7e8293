"""Built-in plugin ``dnc_http``: an external Do-Not-Call service over HTTPS (kind ``"http"``)."""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.plugins.dnc_http.provider import HttpDncProvider
from opendialer.sdk import DncProviderFactory, hookimpl


@hookimpl
def register_dnc_providers() -> Mapping[str, DncProviderFactory]:
    return {"http": HttpDncProvider}
