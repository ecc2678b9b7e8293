"""The options of the ``ivr`` routing target: what can be set, each checked with a
coded error naming the option (the codes and their page sentences are registered
here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from opendialer.sdk import ErrorMessage, OptionError, register_error_messages

_DURATIONS = {  # name: (minimum, default)
    "reservation_timeout_ms": (10, 120_000),
    "hold_timeout_ms": (10, 600_000),
    "status_poll_ms": (20, 2_000),
    "status_timeout_ms": (10, 1_000),
    "status_stale_after_ms": (50, 10_000),
}
#: Upper bounds: a dialer node carries at most 300 parallel calls, so more channels
#: than this is a typing mistake, not an IVR; no duration of these options is
#: longer than a day (larger values overflow the engine's timers).
MAX_CHANNELS = 5_000
MAX_DURATION_MS = 86_400_000
ALLOWED = {
    "channels",
    "status_url",
    "status_field",
    "status_authoritative",
    "ca_bundle",
    *_DURATIONS,
}


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the pages translate it."""
    return message


#: The codes of a bad option: the English detail, and what System → IVR shows at the
#: option's field (translated with the admin's catalogues).
ERRORS = {
    "route_ivr.option_unknown": ErrorMessage(
        "route_ivr: option %(option)r is not known; known options: %(known)s",
        N_("%(name)s is not an option of this routing target."),
    ),
    "route_ivr.channels_required": ErrorMessage(
        "route_ivr: option %(option)r is required: a whole number >= 0, got %(value)r",
        N_("Enter the number of IVR channels (a whole number, 0 or more)."),
    ),
    "route_ivr.channels_too_many": ErrorMessage(
        "route_ivr: option %(option)r must be at most %(n)s, got %(value)r",
        N_("Enter at most %(n)s IVR channels."),
    ),
    "route_ivr.duration_too_short": ErrorMessage(
        "route_ivr: option %(option)r must be a whole number of milliseconds >= %(n)s, "
        "got %(value)r",
        N_("Enter a whole number of milliseconds, at least %(n)s."),
    ),
    "route_ivr.duration_too_long": ErrorMessage(
        "route_ivr: option %(option)r must be at most %(n)s milliseconds (a day), got %(value)r",
        N_("Enter at most %(n)s milliseconds (one day)."),
    ),
    "route_ivr.url_invalid": ErrorMessage(
        "route_ivr: option %(option)r must be an http:// or https:// URL, got %(value)r",
        N_("Enter an http:// or https:// URL with a host name."),
    ),
    "route_ivr.field_name_invalid": ErrorMessage(
        "route_ivr: option %(option)r must be a field name, got %(value)r",
        N_("Enter a field name."),
    ),
    "route_ivr.not_bool": ErrorMessage(
        "route_ivr: option %(option)r must be true or false, got %(value)r",
        N_("Choose yes or no."),
    ),
    "route_ivr.authoritative_without_url": ErrorMessage(
        "route_ivr: option %(option)r is true but no status_url is set",
        N_("Enter a status URL first, or untick this option."),
    ),
    "route_ivr.ca_bundle_invalid": ErrorMessage(
        "route_ivr: option %(option)r must be a file path, got %(value)r",
        N_("Enter a file path."),
    ),
}
register_error_messages(ERRORS)


class IvrOptionError(OptionError):
    """An IVR option is missing or wrong (``sdk.OptionError``, the one contract of
    ``validate_options``); ``option`` is its name, ``code`` says how."""

    def __init__(self, code: str, /, *, option: str, **params: Any) -> None:
        super().__init__(code, option=option, **params)


@dataclass(frozen=True, slots=True)
class IvrOptions:
    channels: int
    reservation_timeout_ms: int
    hold_timeout_ms: int
    status_url: str | None
    status_field: str
    status_authoritative: bool
    status_poll_ms: int
    status_timeout_ms: int
    status_stale_after_ms: int
    ca_bundle: str | None


def parse_options(raw: Mapping[str, Any] | None) -> IvrOptions:
    raw = dict(raw or {})
    unknown = sorted(set(raw) - ALLOWED)
    if unknown:
        raise IvrOptionError(
            "route_ivr.option_unknown",
            option=unknown[0],
            name=unknown[0],
            known=", ".join(sorted(ALLOWED)),
        )
    channels = raw.get("channels")
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 0:
        raise IvrOptionError("route_ivr.channels_required", option="channels", value=channels)
    if channels > MAX_CHANNELS:
        raise IvrOptionError(
            "route_ivr.channels_too_many", option="channels", n=MAX_CHANNELS, value=channels
        )
    durations: dict[str, int] = {}
    for name, (minimum, default) in _DURATIONS.items():
        value = raw.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise IvrOptionError(
                "route_ivr.duration_too_short", option=name, n=minimum, value=value
            )
        if value > MAX_DURATION_MS:
            raise IvrOptionError(
                "route_ivr.duration_too_long", option=name, n=MAX_DURATION_MS, value=value
            )
        durations[name] = value
    url = raw.get("status_url")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise IvrOptionError("route_ivr.url_invalid", option="status_url", value=url)
    field = raw.get("status_field", "freeChannels")
    if not isinstance(field, str) or not field:
        raise IvrOptionError("route_ivr.field_name_invalid", option="status_field", value=field)
    authoritative = raw.get("status_authoritative", False)
    if not isinstance(authoritative, bool):
        raise IvrOptionError(
            "route_ivr.not_bool", option="status_authoritative", value=authoritative
        )
    if authoritative and url is None:
        raise IvrOptionError("route_ivr.authoritative_without_url", option="status_authoritative")
    ca_bundle = raw.get("ca_bundle")
    if ca_bundle is not None and not isinstance(ca_bundle, str):
        raise IvrOptionError("route_ivr.ca_bundle_invalid", option="ca_bundle", value=ca_bundle)
    return IvrOptions(channels, status_url=url, status_field=field,
                      status_authoritative=authoritative, ca_bundle=ca_bundle,
                      **durations)  # fmt: skip
