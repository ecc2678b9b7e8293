"""The phone region of a campaign: the country whose numbers it dials without a
country code — sent as ``default_region``, else the country of its time zone
(from the IANA zone tables)."""

from __future__ import annotations

import importlib.resources
import zoneinfo
from functools import lru_cache
from pathlib import Path
from typing import Any

import phonenumbers

from opendialer.core.services.errors import ValidationFailed

#: The region of a campaign whose zone has no country (UTC, Etc/GMT+3…).
FALLBACK_REGION = "US"


def _zone_tables() -> list[str]:
    """zone1970.tab and zone.tab: the tzdata package's, else the system's."""
    texts = []
    for name in ("zone.tab", "zone1970.tab"):
        try:
            texts.append((importlib.resources.files("tzdata.zoneinfo") / name).read_text())
            continue
        except (ModuleNotFoundError, OSError):
            pass
        for folder in zoneinfo.TZPATH:
            path = Path(folder) / name
            if path.is_file():
                texts.append(path.read_text())
                break
    return texts


@lru_cache(maxsize=1)
def zone_countries() -> dict[str, str]:
    """IANA zone → its country's two-letter code, from the IANA tables (zone.tab has
    one country a zone; zone1970.tab, read second, fills zones it lacks with the
    first of its countries)."""
    countries: dict[str, str] = {}
    for text in _zone_tables():
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            codes, _, zone = line.split("\t")[:3]
            countries.setdefault(zone, codes.split(",")[0])
    return countries


def region_for_zone(zone: str | None) -> str:
    """The phone region of a campaign in ``zone``: its country, else ``FALLBACK_REGION``."""
    region = zone_countries().get(zone or "")
    return region if region in phonenumbers.SUPPORTED_REGIONS else FALLBACK_REGION


def region_of(campaign: dict[str, Any]) -> str:
    """A stored campaign's region (rows written without one take their zone's country)."""
    return campaign.get("default_region") or region_for_zone(campaign.get("timezone"))


def parse_region(raw: Any) -> str:
    region = raw.strip().upper() if isinstance(raw, str) else ""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed("campaign.region_invalid", field="default_region", value=raw)
    return region
