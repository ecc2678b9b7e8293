"""The codes of the SIP platform's refused options (``docs/errors.md``, section
``platform_sip``): the English detail of the API, and the sentence System →
Communication platform shows at the field (its msgid is translated in the admin's
catalogues; ``babel.cfg`` extracts ``N_`` from the plugins). Registered when the
plugin is imported; :mod:`.options` raises them as ``sdk.OptionError``.
"""

from __future__ import annotations

from opendialer.sdk import ErrorMessage, register_error_messages


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the pages translate it."""
    return message


WHOLE_NUMBER = N_("Enter a whole number from %(low)s to %(high)s.")

ERRORS: dict[str, ErrorMessage] = {
    "platform_sip.unknown_field": ErrorMessage(
        "unknown field(s): %(fields)s; allowed: %(allowed)s", N_("Unknown field(s): %(fields)s.")
    ),
    "platform_sip.register_not_bool": ErrorMessage(
        "register must be true or false", N_("Expected yes or no (true or false).")
    ),
    "platform_sip.follow_redirects_not_bool": ErrorMessage(
        "follow_redirects must be true or false", N_("Expected yes or no (true or false).")
    ),
    "platform_sip.max_redirects_invalid": ErrorMessage(
        "max_redirects must be a whole number from %(low)s to %(high)s, got %(value)s",
        WHOLE_NUMBER,
    ),
    "platform_sip.config_not_object": ErrorMessage(
        "the platform configuration must be a JSON object", N_("Expected a JSON object.")
    ),
    "platform_sip.server_required": ErrorMessage(
        "server is required: the SIP server as host:port, e.g. 10.0.0.5:5060",
        N_("Enter the SIP server as host:port, for example 10.0.0.5:5060."),
    ),
    "platform_sip.server_invalid": ErrorMessage(
        "server must be host:port with a port from 1 to 65535, got %(value)r",
        N_("Enter the SIP server as host:port with a port from 1 to 65535."),
    ),
    "platform_sip.transport_invalid": ErrorMessage(
        "transport must be one of %(transports)s, got %(value)r", N_("Choose UDP, TCP or TLS.")
    ),
    "platform_sip.domain_invalid": ErrorMessage(
        "domain must be a host name or address, got %(value)r",
        N_("Enter a host name or an IP address."),
    ),
    "platform_sip.caller_id_invalid": ErrorMessage(
        "caller_id must be digits with an optional leading +, got %(value)r",
        N_("Digits only, with an optional leading +."),
    ),
    "platform_sip.timeout_invalid": ErrorMessage(
        "%(name)s must be a number from %(low)s to %(high)s",
        N_("Enter a number of seconds from %(low)s to %(high)s."),
    ),
    "platform_sip.timeout_out_of_range": ErrorMessage(
        "%(name)s must be from %(low)s to %(high)s, got %(value)s",
        N_("Enter a number of seconds from %(low)s to %(high)s."),
    ),
    "platform_sip.rtp_port_invalid": ErrorMessage(
        "%(name)s must be a whole number from %(low)s to %(high)s", WHOLE_NUMBER
    ),
    "platform_sip.rtp_port_out_of_range": ErrorMessage(
        "%(name)s must be from %(low)s to %(high)s, got %(value)s", WHOLE_NUMBER
    ),
    "platform_sip.rtp_range_inverted": ErrorMessage(
        "rtp_port_max must be above rtp_port_min", N_("Must be above the lowest RTP port.")
    ),
    "platform_sip.rtp_range_too_small": ErrorMessage(
        "rtp_port_min..rtp_port_max holds %(n)s RTP ports (even numbers) "
        "but %(ports)s dialer ports may call at once: widen the range",
        N_("This range holds %(n)s RTP ports but there are %(ports)s dialer ports: widen it."),
    ),
    "platform_sip.ports_invalid": ErrorMessage(
        "ports must be a list of {user, auth_user, password}",
        N_("Enter the ports as a list of user, auth_user and password."),
    ),
    "platform_sip.too_many_ports": ErrorMessage("at most %(n)s ports", N_("At most %(n)s ports.")),
    "platform_sip.port_not_object": ErrorMessage(
        "%(where)s must be an object",
        N_("Enter the ports as a list of user, auth_user and password."),
    ),
    "platform_sip.port_unknown_field": ErrorMessage(
        "%(where)s: unknown field %(fields)r; allowed: user, auth_user, password",
        N_("Unknown field(s): %(fields)s."),
    ),
    "platform_sip.port_user_invalid": ErrorMessage(
        "%(where)s.%(which)s must be a SIP user name (%(chars)s; at most %(n)s)",
        N_(
            "A SIP user name: letters, digits and - . _ + ! ~ * & = $ , only; no spaces, "
            "quotes, ; or @ (at most %(n)s)."
        ),
    ),
    "platform_sip.port_user_twice": ErrorMessage(
        "%(where)s.user %(user)r is listed twice", N_("%(user)s is listed twice.")
    ),
    "platform_sip.port_password_invalid": ErrorMessage(
        "%(where)s.password must be text of at most 128 characters", N_("At most 128 characters.")
    ),
    "platform_sip.port_password_required": ErrorMessage(
        "%(where)s.password is required for %(user)r: ports register at the server",
        N_("A password is required: the ports register at the server."),
    ),
}

register_error_messages(ERRORS)
