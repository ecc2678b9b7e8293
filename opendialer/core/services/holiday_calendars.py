"""Public holidays a campaign skips: the ``holidays`` package's calendars, by country
and subdivision, plus the campaign's own dates. No calendar is written here.

A calendar is named ``CC`` (a country's national holidays: ``BR``, ``US``, ``GB``)
or ``CC-SUB`` (with a subdivision's own: ``BR-SP``, ``US-CA``, ``GB-SCT``), the
ISO 3166 codes the package uses.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

from opendialer.core.services.errors import InvalidValue

#: A UI language → the language the package names holidays in (where it has it).
_NAME_LANGUAGES = {"en": ("en_US", "en_GB", "en"), "pt_BR": ("pt_BR",), "es": ("es",)}


@lru_cache(maxsize=1)
def supported() -> dict[str, tuple[str, ...]]:
    """Country code → its subdivision codes."""
    return {code: tuple(subs) for code, subs in holidays.list_supported_countries().items()}


def parse_calendar(raw: object) -> str:
    """``CC`` or ``CC-SUB`` upper-cased and checked, else ``InvalidValue``."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidValue("compliance.holiday_calendar_unknown", value=raw)
    country, _, subdivision = raw.strip().partition("-")
    country = country.upper()
    known = supported()
    if country not in known:
        raise InvalidValue("compliance.holiday_calendar_unknown", value=raw)
    if subdivision:
        wanted = subdivision.upper()
        match = next((s for s in known[country] if s.upper() == wanted), None)
        if match is None:
            raise InvalidValue(
                "compliance.holiday_subdivision_unknown",
                value=raw,
                country=country,
                known=", ".join(known[country]),
            )
        return f"{country}-{match}"
    return country


@lru_cache(maxsize=256)
def _calendar(name: str, year: int, language: str | None) -> holidays.HolidayBase:
    country, _, subdivision = name.partition("-")
    return holidays.country_holidays(
        country, subdiv=subdivision or None, years=year, language=language
    )


@lru_cache(maxsize=256)  # the schedule page asks once per day shown and calendar
def _language_for(calendar: str, ui_language: str) -> str | None:
    country = calendar.partition("-")[0]
    available = set(getattr(holidays.country_holidays(country), "supported_languages", ()))
    for wanted in _NAME_LANGUAGES.get(ui_language, ()):
        if wanted in available:
            return wanted
    return None


def holiday_names(
    day: date, calendars: tuple[str, ...], own_dates: tuple[date, ...], ui_language: str = "en"
) -> list[str]:
    """Why ``day`` is skipped: ``"Carnaval (BR)"``…; empty when it is not."""
    names: list[str] = []
    if day in own_dates:
        names.append("*")  # the campaign's own date: the page says so in its language
    for name in calendars:
        language = _language_for(name, ui_language) if ui_language != "en" else None
        found = _calendar(name, day.year, language).get(day)
        if found:
            names.append(f"{found} ({name})")
    return names


def is_holiday(day: date, calendars: tuple[str, ...], own_dates: tuple[date, ...]) -> bool:
    if day in own_dates:
        return True
    return any(day in _calendar(name, day.year, None) for name in calendars)


__all__ = ["holiday_names", "is_holiday", "parse_calendar", "supported"]
