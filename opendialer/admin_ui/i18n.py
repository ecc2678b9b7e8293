"""The admin's languages: gettext catalogues (Babel) for English, Portuguese and Spanish.

The ``.po`` files under ``locale/`` are the source of truth; they are compiled in
memory when this module is imported (no build step, no stale ``.mo``).
Templates call ``_("text", name=value)``; Python code marks text with :func:`N_`
so ``pybabel extract -F babel.cfg`` finds it.

Service errors carry English ``detail`` strings. :func:`translate_error` turns
them into the user's language systematically: one table of patterns
(:data:`ERROR_PATTERNS`) recognises each known detail, and its message id is
translated like any other text. An unknown detail falls back to a translated
sentence that quotes the English detail, so nothing is ever hidden.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from opendialer.core.services.errors import ServiceError

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGES: dict[str, str] = {"en": "English", "pt_BR": "Português", "es": "Español"}
DEFAULT_LANGUAGE = "en"
HTML_LANG = {"en": "en", "pt_BR": "pt-BR", "es": "es"}


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def _load(language: str) -> Translations:
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


#: Loaded once at import (start-up), never on a request.
CATALOGUES: dict[str, Translations] = {lang: _load(lang) for lang in LANGUAGES}


def normalise(language: str | None) -> str:
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Translator:
    """The gettext functions of one language, for Python code and for templates."""

    language: str

    @property
    def catalogue(self) -> Translations:
        return CATALOGUES[self.language]

    def gettext(self, message: str, **values: Any) -> str:
        return _fill(self.catalogue.gettext(message), values)

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        values.setdefault("num", n)
        return _fill(self.catalogue.ngettext(singular, plural, n), values)

    def template_globals(self) -> dict[str, Any]:
        """``_``/``gettext``/``ngettext`` for a template, autoescaping like Jinja's newstyle
        (the translation is trusted markup, the values are escaped)."""

        @pass_context
        def gettext(context: Context, message: str, **values: Any) -> str:
            text = self.catalogue.gettext(message)
            return _fill(text, values, markup=context.eval_ctx.autoescape)

        @pass_context
        def ngettext(context: Context, singular: str, plural: str, n: int, **values: Any) -> str:
            values.setdefault("num", n)
            text = self.catalogue.ngettext(singular, plural, n)
            return _fill(text, values, markup=context.eval_ctx.autoescape)

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext, "lang": self.language}


def _fill(text: str, values: dict[str, Any], *, markup: bool = False) -> str:
    """``text % values`` (values escaped when ``text`` is markup); ``text`` alone without values."""
    if markup:
        text = Markup(text)
    return text % values if values else text


def translator(language: str | None) -> Translator:
    return Translator(normalise(language))


# -- service errors in the user's language ------------------------------------

#: (pattern over the English detail, message id). Named groups fill the message's
#: ``%(name)s`` placeholders. First match wins; keep specific patterns first.
ERROR_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), m)
    for p, m in [
        # A tab the role does not see (admin_ui/pages/session.py require_tab), by its label.
        (
            r"^the Dialer Users pages are not available to your role",
            N_("The Dialer Users pages are not available to your role."),
        ),
        (
            r"^the Dialer Groups pages are not available to your role",
            N_("The Dialer Groups pages are not available to your role."),
        ),
        (
            r"^the Campaign Management pages are not available to your role",
            N_("The Campaign Management pages are not available to your role."),
        ),
        (
            r"^the Do-Not-Call pages are not available to your role",
            N_("The Do-Not-Call pages are not available to your role."),
        ),
        (
            r"^the System pages are not available to your role",
            N_("The System pages are not available to your role."),
        ),
        # Routing targets' options (plugins/route_oscc/options.py, plugins/route_ivr.py),
        # shown at the option's field on System → Contact center / IVR: first, as their
        # details quote option names that generic patterns would match.
        (
            r"^route_\w+: option '(?P<name>[^']*)' is not known",
            N_("%(name)s is not an option of this routing target."),
        ),
        (
            r"^route_oscc: option 'base_url' is required",
            N_("Enter the SDK's URL, e.g. https://oscc.example:9443/rest."),
        ),
        (
            r"^route_\w+: option '\w+' must be an http:// or https:// URL",
            N_("Enter an http:// or https:// URL with a host name."),
        ),
        (r"^route_oscc: option 'base_url' has a bad port", N_("The URL's port is not valid.")),
        (
            r"^route_\w+: option '[^']*' must be a whole number of milliseconds >= (?P<n>\d+)",
            N_("Enter a whole number of milliseconds, at least %(n)s."),
        ),
        (
            r"^route_\w+: option '[^']*' must be at most (?P<n>\d+) milliseconds",
            N_("Enter at most %(n)s milliseconds (one day)."),
        ),
        (
            r"^route_ivr: option 'channels' must be at most (?P<n>\d+)",
            N_("Enter at most %(n)s IVR channels."),
        ),
        (
            r"^route_oscc: option 'ca_bundle' names .*which is not a readable file",
            N_("There is no readable file at this path on the dialer's server."),
        ),
        (
            r"^route_oscc: option 'backoff_max_ms' must be >= backoff_initial_ms",
            N_("Must be at least the first retry wait."),
        ),
        (
            r"^route_oscc: option 'stale_after_ms' .*must be longer than poll_interval_ms",
            N_("Must be longer than the poll interval, or every count would be stale."),
        ),
        (r"^route_\w+: option '[^']*' must be true or false", N_("Choose yes or no.")),
        (
            r"^route_oscc: option 'queues' must be a list of queue names",
            N_("Enter queue names separated by commas."),
        ),
        (
            r"^route_oscc: option '(paths|fields)' must be a mapping",
            N_("Expected a JSON object of names and values."),
        ),
        (
            r"^route_oscc: option 'paths\.(?P<name>[^']*)' is not an operation",
            N_("%(name)s is not an operation of the contact center's protocol."),
        ),
        (
            r"^route_oscc: option 'paths\.[^']*' must look like 'POST /path'",
            N_("Enter a method and a path, e.g. POST /logon (methods GET, POST, PUT)."),
        ),
        (
            r"^route_oscc: option 'fields\.(?P<name>[^']*)' is not a field",
            N_("%(name)s is not a field of the contact center's protocol."),
        ),
        (
            r"^route_\w+: option '(fields\.[^']*|status_field)' must be a",
            N_("Enter a field name."),
        ),
        (r"^route_oscc: option '[^']*' must be a string", N_("Enter text.")),
        (
            r"^route_oscc: option 'codec' must be one of",
            N_("Enter json, or package.module:Class of a codec plugin."),
        ),
        (
            r"^route_oscc: option 'codec' .*(could not be loaded|lacks content_type)",
            N_("This codec cannot be loaded: check the package.module:Class name."),
        ),
        (
            r"^route_ivr: option 'channels' is required",
            N_("Enter the number of IVR channels (a whole number, 0 or more)."),
        ),
        (
            r"^route_ivr: option 'status_authoritative' is true but no status_url",
            N_("Enter a status URL first, or untick this option."),
        ),
        (r"^route_ivr: option 'ca_bundle' must be a file path", N_("Enter a file path.")),
        # A campaign's AMD settings (core/amd_settings.py and the strategy's checks):
        # first, as their details list parameter names that generic patterns would match.
        (r"^amd_params\.on_\w+: .* is not an action", N_("Choose hang up or transfer.")),
        (
            r"^amd_params\.preset: .* \(presets: (?P<presets>.*)\)$",
            N_("Choose one of the presets: %(presets)s."),
        ),
        (
            r"^amd_params\.strategy: .* \(installed: (?P<installed>.*)\)$",
            N_("Choose an installed AMD strategy: %(installed)s."),
        ),
        (
            r"^amd_params: AMD parameter (?P<name>\S+)(?: \(\w+\))?: .* is out of range "
            r"\[(?P<low>[^,]+), (?P<high>[^\]]+)\]",
            N_("%(name)s: enter a value from %(low)s to %(high)s."),
        ),
        (
            r"^amd_params: AMD parameter (?P<name>\S+)(?: \(\w+\))?: .* must be a whole number",
            N_("%(name)s: enter a whole number."),
        ),
        (
            r"^amd_params: AMD parameter (?P<name>\S+)(?: \(\w+\))?: .* is not a number",
            N_("%(name)s: enter a number."),
        ),
        (
            r"^amd_params: unknown AMD parameter '(?P<name>[^']*)'",
            N_("%(name)s is not an AMD parameter (the names are in docs/amd.md)."),
        ),
        (r"^amd_params must be a JSON object", N_("The AMD settings must be a JSON object.")),
        (r"^amd_params: (?P<detail>.+)", N_("AMD settings: %(detail)s")),
        # System → Communication platform (core/services/platform_config.py); first, as
        # they are more specific than the generic "<field> is required" ones below.
        (
            r"^name must be one of the installed platforms \((?P<names>[^)]*)\)",
            N_("Choose one of the installed platforms: %(names)s."),
        ),
        (
            r"^server is required",
            N_("Enter the SIP server as host:port, for example 10.0.0.5:5060."),
        ),
        (
            r"^server must be host:port",
            N_("Enter the SIP server as host:port with a port from 1 to 65535."),
        ),
        (r"^transport must be one of", N_("Choose UDP, TCP or TLS.")),
        (r"^domain must be a host name", N_("Enter a host name or an IP address.")),
        (
            r"^caller_id must be digits",
            N_("Digits only, with an optional leading +."),
        ),
        (
            r"^pilot_number must be digits, \* and #",
            N_("Digits, * and # only, with an optional leading +."),
        ),
        (
            r"^no_answer_timeout_s must be (a number )?from (?P<low>[\d.]+) to (?P<high>[\d.]+)",
            N_("Enter a number of seconds from %(low)s to %(high)s."),
        ),
        (
            r"^rtp_port_(min|max) must be (a whole number )?from (?P<low>\d+) to (?P<high>\d+)",
            N_("Enter a whole number from %(low)s to %(high)s."),
        ),
        (r"^rtp_port_max must be above rtp_port_min", N_("Must be above the lowest RTP port.")),
        (
            r"holds (?P<n>\d+) RTP ports .* but (?P<ports>\d+) dialer ports",
            N_("This range holds %(n)s RTP ports but there are %(ports)s dialer ports: widen it."),
        ),
        (
            r"^ports\[\d+\]\.(auth_)?user must be a SIP user name \([^;]*; at most (?P<n>\d+)\)",
            N_(
                "A SIP user name: letters, digits and - . _ + ! ~ * & = $ , only; no spaces, "
                "quotes, ; or @ (at most %(n)s)."
            ),
        ),
        (r"^ports\[\d+\]\.user '(?P<user>.*)' is listed twice", N_("%(user)s is listed twice.")),
        (
            r"^ports\[\d+\]\.password must be text",
            N_("At most 128 characters."),
        ),
        (
            r"^ports\[\d+\]\.password is required",
            N_("A password is required: the ports register at the server."),
        ),
        (r"^at most (?P<n>\d+) ports", N_("At most %(n)s ports.")),
        (r"^wrong user name or password$", N_("Wrong user name or password.")),
        (
            r"^your dialer groups are all disabled",
            N_(
                "Your dialer groups are all disabled (or you belong to none): "
                "ask a Manager or the Master to enable one."
            ),
        ),
        (
            r"^too many (failed )?(log-?in )?attempts",
            N_("Too many failed log-in attempts: wait a few minutes and try again."),
        ),
        (r"^a password is required$", N_("Enter a password.")),
        (
            r"^the password must have at least (?P<n>\d+) characters",
            N_("The password must have at least %(n)s characters."),
        ),
        (
            r"^the password must have at most (?P<n>\d+) characters",
            N_("The password must have at most %(n)s characters."),
        ),
        (
            r"^the password must not be the user name$",
            N_("The password must not be the user name."),
        ),
        (
            r"^the password must not repeat one or two characters$",
            N_("The password must not repeat one or two characters."),
        ),
        (
            r"^user name: 2-64 letters",
            N_("User name: 2 to 64 letters, digits, '.', '_', '@' or '-'."),
        ),
        (r"^the user name '(?P<name>.*)' is taken$", N_("The user name %(name)s is taken.")),
        (
            r"^a group named '(?P<name>.*)' already exists$",
            N_("A group named %(name)s already exists."),
        ),
        (
            r"^a campaign named '(?P<name>.*)' already exists",
            N_("A campaign named %(name)s already exists."),
        ),
        (r"^a .* needs at least one dialer group$", N_("Choose at least one dialer group.")),
        (
            r"^assign at least one of the groups you manage$",
            N_("Choose at least one of your groups."),
        ),
        (r"^a Master belongs to no group", N_("A Master belongs to no group: it sees them all.")),
        (
            r"^you may only assign the groups you manage",
            N_("You may only assign the groups you manage."),
        ),
        (r"^you cannot change your own role$", N_("You cannot change your own role.")),
        (r"^you cannot delete yourself$", N_("You cannot delete yourself.")),
        (r"^this is the last Master", N_("This is the last Master: create another one first.")),
        (
            r"^a Manager (creates|assigns)",
            N_("A Manager may only give the Campaign Administrator or Supervisor role."),
        ),
        (r"^passwords do not match$", N_("The passwords do not match.")),
        # lead files (per-line report) and list uploads
        (
            r"^expected 2 columns \(name,phone\) or 3 .*found (?P<n>\d+)",
            N_("Expected 2 columns (name,phone) or 3 (name,phone,description); found %(n)s."),
        ),
        (r"^empty name$", N_("The name is empty.")),
        (r"^name longer than (?P<n>\d+)", N_("The name is longer than %(n)s characters.")),
        (
            r"^description longer than (?P<n>\d+)",
            N_("The description is longer than %(n)s characters."),
        ),
        (r"^empty phone number$", N_("The phone number is empty.")),
        # core/services/phones.py: a number's shape (leads, lead edits, DNC lines)
        (r"^invalid phone number .*: it is empty", N_("The phone number is empty.")),
        (
            r"^invalid phone number (?P<phone>.*): only digits",
            N_(
                "Invalid phone number %(phone)s: use only digits, an optional leading + "
                "and the separators ( ) - . and space."
            ),
        ),
        (
            r"^invalid phone number (?P<phone>.*): it has (?P<n>\d+) digits; "
            r"a phone number has (?P<low>\d+) to (?P<high>\d+)",
            N_(
                "Invalid phone number %(phone)s: it has %(n)s digits; a phone number has "
                "%(low)s to %(high)s."
            ),
        ),
        (
            r"^invalid phone number (?P<phone>.*): it is longer than (?P<n>\d+) characters",
            N_("Invalid phone number %(phone)s: it is longer than %(n)s characters."),
        ),
        (
            r"^invalid phone number (?P<phone>.*): it would have (?P<n>\d+) digits with its "
            r"country code (?P<cc>\+\d+)",
            N_(
                "Invalid phone number %(phone)s: with its country code %(cc)s it would have "
                "%(n)s digits, more than a phone number has."
            ),
        ),
        (
            r"^invalid phone number (?P<phone>'.*?'): ",
            N_("Invalid phone number %(phone)s."),
        ),
        (
            r"^duplicate: (?P<phone>\S+) is already a lead of this campaign",
            N_("Duplicate: %(phone)s is already a lead of this campaign."),
        ),
        (
            r"^duplicate: (?P<phone>\S+) is also on line (?P<line>\d+)",
            N_("Duplicate: %(phone)s is also on line %(line)s."),
        ),
        (
            r"^(?P<n>\d+) row\(s\) of the file are invalid, so nothing was imported",
            N_(
                "%(n)s row(s) of the file are invalid, so nothing was imported: fix them, "
                "or tick “Skip invalid rows” to import the valid ones."
            ),
        ),
        (
            r"^(?P<n>\d+) invalid line\(s\), nothing was imported",
            N_(
                "%(n)s invalid line(s), nothing was imported: fix them, "
                "or tick “Skip invalid lines”."
            ),
        ),
        (
            r"^the file holds no leads",
            N_("The file holds no leads: put one lead per line as name,phone."),
        ),
        (r"not UTF-8", N_("The text is not UTF-8: save the file as “CSV UTF-8”.")),
        (r"^malformed CSV", N_("Malformed CSV (check the quotes on this line).")),
        (r"^not a phone number", N_("This is not a valid phone number.")),
        (
            r"^not a possible phone number \(length\) for region (?P<region>\w+)",
            N_("Not a possible phone number (length) for region %(region)s."),
        ),
        (r"^E\.164 digits expected", N_("E.164 digits expected (an optional +, then digits).")),
        (
            r"^url is plain http://",
            N_("The address is plain http://: use https://, or tick the test-only option."),
        ),
        (
            r"^options\.headers (?P<names>.+?): the service's address changed",
            N_(
                "The service's address changed: type the values of %(names)s again "
                "(a stored value is only sent to the address it was given for)."
            ),
        ),
        (
            r"^url has \S+ as its password, but no password is stored",
            N_("The address has *** as its password, but none is stored: type the password."),
        ),
        (
            r"^(url must|an http service needs its url)",
            N_("Enter a full URL starting with https://."),
        ),
        (
            r"^timeout_ms must be a whole number of milliseconds "
            r"from (?P<low>\d+) to (?P<high>\d+)",
            N_("The timeout must be a whole number of milliseconds from %(low)s to %(high)s."),
        ),
        (
            r"^a DNC service named '(?P<name>.*)' already exists",
            N_("A Do-Not-Call service named %(name)s already exists."),
        ),
        (
            r"is built in and cannot be",
            N_("The Embedded Service is not editable: load its list from a file."),
        ),
        (r"^the working hours end", N_("The end must come after the start.")),
        (r"is not a date", N_("Enter a date as YYYY-MM-DD.")),
        (r"is not a time of day", N_("Enter a time as HH:MM.")),
        (r"^\w+ (is required|must not be empty$)", N_("This field is required.")),
        (
            r"^only Masters and Campaign Administrators may import",
            N_("You may not load Do-Not-Call lists."),
        ),
        (
            r"^a Campaign Supervisor views campaigns",
            N_(
                "A Campaign Supervisor views campaigns; "
                "changing them needs a Campaign Administrator."
            ),
        ),
        (
            r"^missing or wrong CSRF token",
            N_("Your page was out of date: reload it and try again."),
        ),
        (
            r"^(?P<field>\w+) must have at most (?P<n>\d+) characters$",
            N_("At most %(n)s characters."),
        ),
        (
            r"^.*(while|is) STARTED",
            N_("Stop the campaign first: a started campaign cannot be changed."),
        ),
        # Start refuses what can never dial; a range with no schedule day is refused at save.
        (
            r"^campaign (?P<name>.+) has no schedule day left",
            N_(
                "The campaign %(name)s has no schedule day left (today or later): "
                "add a schedule or change its dates, then start it."
            ),
        ),
        (
            r"^campaign (?P<name>.+) has no lead left to call",
            N_(
                "The campaign %(name)s has no lead left to call (none not called or "
                "waiting for a retry): upload leads, then start it."
            ),
        ),
        (
            r"^no day from (?P<start>\S+) to (?P<end>\S+) falls on the selected weekdays",
            N_(
                "No day from %(start)s to %(end)s falls on the selected weekdays: "
                "select another weekday or widen the dates."
            ),
        ),
        (r"^.*group .*is disabled", N_("This dialer group is disabled.")),
        (r"^.*(not a valid|invalid) phone", N_("This is not a valid phone number.")),
        (r"^.*time zone", N_("Choose a valid time zone (for example America/Sao_Paulo).")),
        (r"^.*(date|time).*(before|after)", N_("The end must come after the start.")),
        (r"^.*weekday", N_("Choose at least one weekday.")),
        (r"^.*max_attempts", N_("Max attempts must be a whole number from 1 to 100.")),
        (r"^.*retry_after", N_("Retry after must be a whole number of minutes from 1 to 1440.")),
        (r"^.*(does not exist|no longer exists)", N_("This item does not exist (any more).")),
        # Every other detail the services raise (tests/test_ui_error_patterns.py scans them).
        (
            r"^\w+ must be a whole number from (?P<low>\d+) to (?P<high>\d+)",
            N_("Enter a whole number from %(low)s to %(high)s."),
        ),
        (
            r"is not an ISO 8601 time",
            N_("Enter a date and time in ISO 8601 form, for example 2026-11-27T08:00:00Z."),
        ),
        (r"^status must be", N_("Choose a valid status.")),
        (
            r"give a local time without offset",
            N_("Give a local time without a UTC offset: the campaign's time zone applies."),
        ),
        (
            r"^default_region: .* is not a two-letter region",
            N_("Choose a two-letter region, for example BR, US or DE."),
        ),
        (
            r"^routing_target: .* is not a routing target",
            N_("Choose an installed routing target, or none to route by campaign type."),
        ),
        (r"^\w+ must be an id \(a positive whole number\)", N_("Choose an item from the list.")),
        (
            r"^the date range may span at most (?P<n>\d+) days",
            N_("The date range may span at most %(n)s days."),
        ),
        (r"^type must be OSCC or IVR", N_("Choose the type OSCC or IVR.")),
        (r"must be a JSON object$", N_("Expected a JSON object.")),
        (
            r"is read-only: use POST",
            N_("The state is read-only: start or stop the campaign instead."),
        ),
        (r"^unknown field\(s\): (?P<fields>[^;]*);", N_("Unknown field(s): %(fields)s.")),
        (
            r"^campaigns are run by Campaign Administrators",
            N_(
                "Campaigns are run by Campaign Administrators and viewed by "
                "Campaign Supervisors of their groups."
            ),
        ),
        (r"^group \d+ is not one of your groups", N_("This dialer group is not one of yours.")),
        (r"^no campaign named '(?P<name>.*)' \(", N_("No campaign is named %(name)s.")),
        (
            r"^campaign '(?P<name>.*)' is already \w+$",
            N_("The campaign %(name)s is already in that state."),
        ),
        (
            r"changed state meanwhile",
            N_("The campaign changed state meanwhile: reload the page and try again."),
        ),
        (r"^state must be STARTED or STOPPED", N_("Choose the state STARTED or STOPPED.")),
        (r"^\w+ must be a string$", N_("Expected text.")),
        (r"must not contain NUL characters", N_("The text must not contain NUL characters.")),
        (r"^\w+ must be true or false", N_("Expected yes or no (true or false).")),
        (r"^page must be an integer of 1 or more", N_("The page number must be 1 or more.")),
        (
            r"^per_page must be an integer from 1 to (?P<n>\d+)",
            N_("Items per page must be from 1 to %(n)s."),
        ),
        (r"^no Do-Not-Call service with", N_("This Do-Not-Call service does not exist.")),
        (
            r"numbers can only be imported into a service of kind '(?P<kind>[^']*)'",
            N_("Numbers can only be loaded into a service of kind %(kind)s."),
        ),
        (r"^format must be one of", N_("Choose a supported list format.")),
        (r"^cannot read the list file", N_("The list file cannot be read.")),
        (
            r"^only .* users may \w+ Do-Not-Call services",
            N_("Your role may not do this with Do-Not-Call services."),
        ),
        (r"^kind must be one of", N_("Choose a known kind of service.")),
        (
            r"^ca_bundle must be PEM text of at most (?P<n>\d+)",
            N_("The CA bundle must be PEM text of at most %(n)s characters."),
        ),
        (
            r"^ca_bundle is not a PEM certificate bundle",
            N_("The CA bundle is not PEM: paste the CA's -----BEGIN CERTIFICATE----- block(s)."),
        ),
        (
            r"^options must be at most (?P<n>\d+) characters",
            N_("The options must be at most %(n)s characters of JSON."),
        ),
        (
            r"^an embedded service has no",
            N_(
                "An embedded service has no address nor CA bundle: "
                "its list is loaded into the dialer."
            ),
        ),
        (
            r"is used by (?P<n>\d+) campaign\(s\)",
            N_(
                "This Do-Not-Call service is used by %(n)s campaign(s): "
                "choose another service for them first."
            ),
        ),
        (r"^only a Master creates dialer groups", N_("Only a Master creates dialer groups.")),
        (
            r"^a Manager may only enable or disable its groups",
            N_("A Manager may only enable or disable its groups."),
        ),
        (
            r"^only a Master or the group's Manager changes a group",
            N_("Only a Master or the group's Manager changes a group."),
        ),
        (
            r"^q must have at most (?P<n>\d+) characters",
            N_("The search must have at most %(n)s characters."),
        ),
        (
            r"^(?P<phone>\S+) is already lead \d+ of this campaign",
            N_("%(phone)s is already a lead of this campaign."),
        ),
        (
            r"^only a Master may see or change routing settings",
            N_("Only a Master may see or change the routing settings."),
        ),
        (r"^no routing target '(?P<name>[^']*)'", N_("There is no routing target %(name)s.")),
        (
            r"^routing target '(?P<name>[^']*)' is not configured",
            N_("The routing target %(name)s is not configured."),
        ),
        (
            r"give the value itself; nothing is stored to keep",
            N_("Give the value itself: nothing is stored to keep."),
        ),
        (
            r"^date \S+ is in the past \(today is (?P<today>\S+) in (?P<zone>[^)]+)\)",
            N_("This date is in the past (today is %(today)s in %(zone)s)."),
        ),
        (
            r"already has a schedule on (?P<day>[^:\s]+):",
            N_("The campaign already has a schedule on %(day)s: edit that one instead."),
        ),
        (
            r"^the schedule of (?P<day>\S+) is in the past \(today is (?P<today>\S+) "
            r"in (?P<zone>[^)]+)\)",
            N_(
                "The schedule of %(day)s is in the past (today is %(today)s in %(zone)s): "
                "past schedules do not change."
            ),
        ),
        (
            r"^the schedule of (?P<day>\S+) has run",
            N_(
                "The schedule of %(day)s has already run: it keeps its date and cannot be "
                "deleted; only its hours may change."
            ),
        ),
        (
            r"^date (?P<day>\S+) is outside the campaign's date range (?P<start>\S+) "
            r"to (?P<end>\S+):",
            N_(
                "%(day)s is outside the campaign's dates (%(start)s to %(end)s): choose a "
                "date inside them, or widen the campaign's dates first."
            ),
        ),
        (
            r"^(?P<day>\S+) already has a schedule in campaign",
            N_("%(day)s already has a schedule: choose a free date (one schedule per day)."),
        ),
        (
            r"^campaign \S+ has no schedule (?P<key>\S+) \(give its id or its date\)",
            N_("This campaign has no schedule %(key)s."),
        ),
        (
            r"^phone: .* has no digits",
            N_("Enter the phone number, or some of its digits."),
        ),
        (
            r"^only a Master or a Manager manages dialer users",
            N_("Only a Master or a Manager manages dialer users."),
        ),
        (r"^group_ids must be a list of group ids", N_("Choose dialer groups from the list.")),
        (r"^group\(s\) (?P<ids>.*) do not exist", N_("Dialer group(s) %(ids)s do not exist.")),
        (r"^language must be one of", N_("Choose English, Português or Español.")),
        (
            r"^passwords change through",
            N_("Change the password with its own form (password reset)."),
        ),
        (
            r"^this user also belongs to groups you do not manage",
            N_("This user also belongs to groups you do not manage: remove it from yours instead."),
        ),
        (r"^only a Master resets passwords", N_("Only a Master resets passwords.")),
        (r"^role must be one of", N_("Choose a role.")),
        (
            r"^only a Master may see or change the communication platform",
            N_("Only a Master may see or change the communication platform."),
        ),
    ]
]

#: When no pattern knows the detail: a sentence in the user's language quoting it.
FALLBACK_BY_CODE: dict[str, str] = {
    "validation_failed": N_("This value is not accepted: %(detail)s"),
    "forbidden": N_("You are not allowed to do this: %(detail)s"),
    "not_found": N_("Not found: %(detail)s"),
    "conflict": N_("This conflicts with the current state: %(detail)s"),
}
FALLBACK = N_("The request failed: %(detail)s")


def translate_detail(detail: str, code: str, t: Translator) -> str:
    for pattern, message_id in ERROR_PATTERNS:
        match = pattern.search(detail)
        if match:
            values = {k: v for k, v in match.groupdict().items() if v is not None}
            values.pop("field", None)
            return t.gettext(message_id, **values) if "%(" in message_id else t.gettext(message_id)
    if t.language == DEFAULT_LANGUAGE:
        return detail[:1].upper() + detail[1:]
    return t.gettext(FALLBACK_BY_CODE.get(code, FALLBACK), detail=detail)


def translate_error(exc: ServiceError, t: Translator) -> str:
    return translate_detail(exc.detail, exc.code, t)
