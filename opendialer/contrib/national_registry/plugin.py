"""Plugin module of the national registry example (kind ``"national_registry"``)."""

from __future__ import annotations

from collections.abc import Mapping

from opendialer.contrib.national_registry.provider import NationalRegistryProvider
from opendialer.sdk import DncProviderFactory, hookimpl


@hookimpl
def register_dnc_providers() -> Mapping[str, DncProviderFactory]:
    return {"national_registry": NationalRegistryProvider}
