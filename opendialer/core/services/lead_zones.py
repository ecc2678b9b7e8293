"""A lead's time zone, for calling hours in the lead's own time (issue 18).

In order: the CSV's ``timezone`` column (an IANA name), else its ``region``/``state``
column (an ISO 3166-2 subdivision, ``BR-AM`` or ``AM`` in the campaign's country,
whose zones the IANA table lists), else the number's prefix in phonenumbers'
time-zone data (an area code: 5592… is America/Manaus, 5541… America/Sao_Paulo),
else the campaign's zone (stored as NULL, so it follows the campaign).

A number or subdivision that maps to several zones keeps them all, space-separated
in one key (``America/Chicago America/New_York``): the engine calls it only when
every one of them is inside the allowed hours — the intersection, never the most
convenient zone.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from phonenumbers import tzdata

from opendialer.core.services import holiday_calendars
from opendialer.core.services.campaign_regions import zone_countries
from opendialer.core.services.errors import InvalidValue

#: Where a lead's zone came from, as the lead list and the API show it.
FROM_CSV = "csv"
FROM_REGION = "region"
FROM_NUMBER = "number"
FROM_CAMPAIGN = "campaign"
#: phonenumbers' answer when a prefix has no zone of its own.
_UNKNOWN = "Etc/Unknown"
#: A key longer than this is a number the data maps to a whole continent's zones
#: (+1 without an area code); the campaign's zone is a better guess than 40 zones.
MAX_ZONES = 6


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_zone(raw: str) -> str:
    """An IANA zone name as given (``America/Sao_Paulo``), else ``InvalidValue``."""
    name = raw.strip()
    if name not in _known_zones():
        raise InvalidValue("lead_row.timezone_unknown", value=raw)
    return name


@lru_cache(maxsize=64)
def _country_zones(country: str) -> tuple[str, ...]:
    return tuple(sorted(z for z, c in zone_countries().items() if c == country))


def zones_for_region(raw: str, country: str) -> str:
    """The zone key of a ``region`` cell: ``BR-AM``, or ``AM`` in ``country``.

    A subdivision listed in :data:`SUBDIVISION_ZONES` has its zones; one of a country
    with a single zone (a subdivision the ``holidays`` package knows) has that zone."""
    code = raw.strip().upper().replace("_", "-")
    if "-" not in code:
        code = f"{country.upper()}-{code}"
    zones = SUBDIVISION_ZONES.get(code)
    if zones:
        return " ".join(sorted(zones))
    nation, _, subdivision = code.partition("-")
    single = _country_zones(nation)
    known = {s.upper() for s in holiday_calendars.supported().get(nation, ())}
    if len(single) == 1 and subdivision in known:
        return single[0]
    raise InvalidValue("lead_row.region_unknown", value=raw, country=country)


def zones_for_number(digits: str) -> str | None:
    """The zone key of an E.164 number (digits), from the longest prefix phonenumbers'
    time-zone data knows; None when it knows none or only a continent's worth."""
    data = tzdata.TIMEZONE_DATA
    for length in range(min(len(digits), tzdata.TIMEZONE_LONGEST_PREFIX), 0, -1):
        prefix = digits[:length]
        if prefix in data:
            return _key_of_prefix(prefix)
    return None


@lru_cache(maxsize=4096)  # one entry per prefix of the data (about 3,000), not per number
def _key_of_prefix(prefix: str) -> str | None:
    usable = sorted(
        z for z in tzdata.TIMEZONE_DATA[prefix] if z != _UNKNOWN and z in _known_zones()
    )
    if not usable or len(usable) > MAX_ZONES:
        return None
    return " ".join(usable)


def country_of_zone(zone: str) -> str:
    return zone_countries().get(zone, "")


#: ISO 3166-2 subdivisions whose zones differ within their country, for the markets
#: we serve first (Brazil, the United States, Mexico); a subdivision of a country with
#: one zone takes it from the IANA table. Source: IANA tz database zone1970.tab
#: comments (which zone covers which state), 2025 release.
SUBDIVISION_ZONES: dict[str, tuple[str, ...]] = {
    **{
        f"BR-{uf}": ("America/Sao_Paulo",)
        for uf in ("AL BA CE DF ES GO MA MG PA PB PE PI PR RJ RN RS SC SE SP TO AP").split()
    },
    "BR-AC": ("America/Rio_Branco",),
    "BR-AM": ("America/Eirunepe", "America/Manaus"),
    "BR-MS": ("America/Campo_Grande",),
    "BR-MT": ("America/Cuiaba",),
    "BR-RO": ("America/Porto_Velho",),
    "BR-RR": ("America/Boa_Vista",),
    **{
        f"US-{st}": ("America/New_York",)
        for st in "CT DC DE GA MA MD ME NC NH NJ NY OH PA RI SC VA VT WV".split()
    },
    "US-FL": ("America/Chicago", "America/New_York"),
    "US-IN": ("America/Chicago", "America/Indiana/Indianapolis"),
    "US-KY": ("America/Chicago", "America/New_York"),
    "US-MI": ("America/Detroit", "America/Menominee"),
    "US-TN": ("America/Chicago", "America/New_York"),
    **{f"US-{st}": ("America/Chicago",) for st in "AL AR IA IL LA MN MO MS OK WI".split()},
    "US-KS": ("America/Chicago", "America/Denver"),
    "US-NE": ("America/Chicago", "America/Denver"),
    "US-ND": ("America/Chicago", "America/Denver"),
    "US-SD": ("America/Chicago", "America/Denver"),
    "US-TX": ("America/Chicago", "America/Denver"),
    **{f"US-{st}": ("America/Denver",) for st in "CO MT NM UT WY".split()},
    "US-ID": ("America/Boise", "America/Los_Angeles"),
    "US-OR": ("America/Boise", "America/Los_Angeles"),
    "US-AZ": ("America/Phoenix",),
    **{f"US-{st}": ("America/Los_Angeles",) for st in "CA NV WA".split()},
    "US-AK": ("America/Anchorage", "America/Juneau", "America/Nome", "America/Sitka"),
    "US-HI": ("Pacific/Honolulu",),
    "US-PR": ("America/Puerto_Rico",),
    **{
        f"MX-{st}": ("America/Mexico_City",)
        for st in (
            "AGU CAM CHP CMX COA COL DUR GRO GUA HID JAL MEX MIC MOR NLE OAX PUE QUE SLP TAB "
            "TLA VER YUC ZAC TAM"
        ).split()
    },
    "MX-ROO": ("America/Cancun",),
    "MX-BCN": ("America/Tijuana",),
    "MX-BCS": ("America/Mazatlan",),
    "MX-CHH": ("America/Chihuahua", "America/Ciudad_Juarez", "America/Ojinaga"),
    "MX-NAY": ("America/Bahia_Banderas", "America/Mazatlan"),
    "MX-SIN": ("America/Mazatlan",),
    "MX-SON": ("America/Hermosillo",),
}


def zone_key_of(zones: str) -> tuple[str, ...]:
    """A stored key's zones."""
    return tuple(zones.split())


__all__ = [
    "FROM_CAMPAIGN",
    "FROM_CSV",
    "FROM_NUMBER",
    "FROM_REGION",
    "SUBDIVISION_ZONES",
    "check_zone",
    "zone_key_of",
    "zones_for_number",
    "zones_for_region",
]
