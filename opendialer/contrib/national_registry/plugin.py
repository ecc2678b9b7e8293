"""Plugin module of the national registry example (kind ``"national_registry"``)."""

from __future__ import annotations

from typing import Any

from opendialer.contrib.national_registry.provider import NationalRegistryProvider
from opendialer.sdk import hookimpl


@hookimpl
def register_dnc_providers() -> dict[str, Any]:
    return {"national_registry": NationalRegistryProvider}
