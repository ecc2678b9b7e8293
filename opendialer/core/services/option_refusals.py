"""A plugin's refused options as the settings services report them.

DNC providers, routing targets and platforms check their own options
(``validate_options``, :class:`~opendialer.sdk.ValidatesOptions`) and refuse them
with a coded ``OptionError`` naming the option, or several at once. The three
settings services (``dnc_services``, ``routing_config``, ``platform_config``) turn
them into field errors the same way, here: each by its own code and values, at the
field the service names for the option; a plugin's plain ``ValueError`` (a
third party's that codes nothing) under the service's wrapping code, its English
text as ``problem``.
"""

from __future__ import annotations

from collections.abc import Callable

from opendialer.core.services.errors import InvalidValue, ServiceError, ValidationFailed
from opendialer.sdk.options import option_errors

#: Per settings service, the code of a refusal without one of its own: it shows the
#: plugin's English text (``%(problem)s``).
UNCODED = {
    "dnc": "dnc.option_invalid",
    "routing": "routing.option_invalid",
    "platform": "platform.option_invalid",
}


def refused_fields(
    refusal: ValueError, *, field: Callable[[str | None], str | None], service: str
) -> list[ValidationFailed]:
    """One :class:`ValidationFailed` per option ``refusal`` names (``field(option)`` is
    its field); ``service`` (a key of :data:`UNCODED`) codes a refusal without a code."""
    found = []
    for error in option_errors(refusal) or [refusal]:
        where = field(getattr(error, "option", None))
        if isinstance(error, InvalidValue):
            found.append(ValidationFailed.from_value(error, field=where))
        else:
            found.append(ValidationFailed(UNCODED[service], field=where, problem=str(error)))
    return found


def refused(
    refusal: ValueError, *, field: Callable[[str | None], str | None], service: str
) -> ValidationFailed:
    """ONE error to raise: the first refused option's, listing all when there are more
    (the body's ``errors``, as :class:`~opendialer.core.services.errors.FieldErrors`)."""
    errors = refused_fields(refusal, field=field, service=service)
    first = errors[0]
    if len(errors) > 1:
        first.listed = list[ServiceError](errors)
    return first
