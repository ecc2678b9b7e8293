"""The message of every error code: one table, read like a ``.po`` file.

(Over 400 lines on purpose: it is a table, one entry per code, grouped by area;
splitting it would only scatter the codes a translator and a reader look up.)

Each code is a stable dotted identifier (``area.what``) that the API returns as
``code`` and never changes. Its :class:`ErrorMessage` holds

* ``detail``: the English sentence of the API, the CLI and the logs, with
  ``%(name)s`` / ``%(name)r`` placeholders filled by the error's parameters;
* ``text``: the sentence the web pages show, marked with :func:`N_` and translated
  by the admin's gettext catalogues (``admin_ui/locale``). It may say less than
  ``detail`` (no API path, no list of allowed values) and several codes may share one.
  ``None`` means "show the text of the problem": the error wraps a value's problem
  (a phone number's, a plugin's option), whose code and values it carries as the
  ``problem_code`` parameter and its own (``errors.problem_params``); ``fallback`` is
  shown for a problem without a code.

A plugin codes its errors the same way: it registers its own table under its own
prefix (:func:`register`, ``opendialer.sdk.register_error_messages``) when imported,
and raises ``InvalidValue(code, **params)``.

docs/errors.md lists every code with both sentences; tests/test_error_codes.py
checks that it agrees with this table and that every text is translated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); it is translated where shown."""
    return message


class ErrorMessage(NamedTuple):
    detail: str
    text: str | None
    #: With ``text`` None: what the pages show when the problem has no code of its own
    #: (a plugin's plain ``ValueError``), its English text as ``%(problem)s``.
    fallback: str | None = None


E = ErrorMessage

#: What every page says when a thing is gone (404s answer missing and out-of-scope alike).
GONE = N_("This item does not exist (any more).")
REQUIRED = N_("This field is required.")
WHOLE_NUMBER = N_("Enter a whole number from %(low)s to %(high)s.")
URL = N_("Enter a full URL starting with https://.")
MANAGER_ROLES = N_("A Manager may only give the Campaign Administrator or Supervisor role.")
CSRF = N_("Your page was out of date: reload it and try again.")
STATUS = N_("Choose a valid status.")
NOT_PHONE = N_("This is not a valid phone number.")
NOT_ACCEPTED = N_("This value is not accepted: %(problem)s")
UPLOAD_FORM = N_("The upload is not a valid form: choose the file and send it again.")

MESSAGES: dict[str, ErrorMessage] = {
    # -- any field (core/services/common.py) ---------------------------------------
    "field.required": E("%(name)s is required", REQUIRED),
    "field.empty": E("%(name)s must not be empty", REQUIRED),
    "field.not_text": E("%(name)s must be a string", N_("Expected text.")),
    "field.nul": E(
        "%(name)s must not contain NUL characters", N_("The text must not contain NUL characters.")
    ),
    "field.too_long": E(
        "%(name)s must have at most %(n)s characters", N_("At most %(n)s characters.")
    ),
    "field.not_bool": E(
        "%(name)s must be true or false", N_("Expected yes or no (true or false).")
    ),
    "field.unknown": E(
        "unknown field(s): %(fields)s; allowed: %(allowed)s", N_("Unknown field(s): %(fields)s.")
    ),
    "field.not_id": E(
        "%(name)s must be an id (a positive whole number)", N_("Choose an item from the list.")
    ),
    "field.whole_number_range": E(
        "%(name)s must be a whole number from %(low)s to %(high)s (default %(default)s)",
        WHOLE_NUMBER,
    ),
    "field.date_required": E("%(name)s is required, as YYYY-MM-DD", REQUIRED),
    "field.not_date": E(
        "%(name)s: %(value)r is not a date; use YYYY-MM-DD", N_("Enter a date as YYYY-MM-DD.")
    ),
    "field.time_required": E("%(name)s is required, as HH:MM or HH:MM:SS", REQUIRED),
    "field.not_time": E(
        "%(name)s: %(value)r is not a time of day; use HH:MM or HH:MM:SS",
        N_("Enter a time as HH:MM."),
    ),
    "field.time_with_offset": E(
        "%(name)s: give a local time without offset; the zone is the campaign's timezone",
        N_("Give a local time without a UTC offset: the campaign's time zone applies."),
    ),
    "options.not_object": E("options must be a JSON object", N_("Expected a JSON object.")),
    "page.invalid": E(
        "page must be an integer of 1 or more", N_("The page number must be 1 or more.")
    ),
    "page.per_page_invalid": E(
        "per_page must be an integer from 1 to %(n)s", N_("Items per page must be from 1 to %(n)s.")
    ),
    # -- log-in, sessions and tokens ----------------------------------------------
    "auth.wrong_credentials": E("wrong user name or password", N_("Wrong user name or password.")),
    "auth.no_enabled_group": E(
        "your dialer groups are all disabled (or you belong to none): "
        "ask a Manager or the Master to enable one",
        N_(
            "Your dialer groups are all disabled (or you belong to none): "
            "ask a Manager or the Master to enable one."
        ),
    ),
    "auth.too_many_attempts": E(
        "too many failed log-ins for %(what)s: try again in %(wait)s s",
        N_("Too many failed log-in attempts: wait a few minutes and try again."),
    ),
    "auth.user_gone": E("the user of this session no longer exists", GONE),
    "auth.bearer_required": E("log in, or send Authorization: Bearer <token>", N_("Log in first.")),
    "auth.login_required": E(
        "log in first (POST /api/v1/auth/login), or send a bearer token", N_("Log in first.")
    ),
    "auth.token_unknown": E(
        "this token is unknown or was revoked: log in again",
        N_("This token is unknown or was revoked: log in again."),
    ),
    "auth.token_expired": E(
        "this token has expired: log in again", N_("This token has expired: log in again.")
    ),
    "auth.token_days_range": E(
        "expires_in_days must be a whole number from %(low)s to %(high)s", WHOLE_NUMBER
    ),
    "auth.token_not_found": E("token %(id)s does not exist", GONE),
    "auth.csrf_api": E(
        "missing or wrong CSRF token: send the %(header)s header (the %(cookie)s cookie's value)",
        CSRF,
    ),
    "auth.csrf_page": E(
        "missing or wrong CSRF token: reload the page (the %(cookie)s cookie)", CSRF
    ),
    # A tab the role does not see (admin_ui/pages/session.py), one code per tab.
    "tab.users_denied": E(
        "the Dialer Users pages are not available to your role",
        N_("The Dialer Users pages are not available to your role."),
    ),
    "tab.groups_denied": E(
        "the Dialer Groups pages are not available to your role",
        N_("The Dialer Groups pages are not available to your role."),
    ),
    "tab.campaigns_denied": E(
        "the Campaign Management pages are not available to your role",
        N_("The Campaign Management pages are not available to your role."),
    ),
    "tab.dnc_denied": E(
        "the Do-Not-Call pages are not available to your role",
        N_("The Do-Not-Call pages are not available to your role."),
    ),
    "tab.system_denied": E(
        "the System pages are not available to your role",
        N_("The System pages are not available to your role."),
    ),
    "system.logs_master_only": E(
        "only a Master downloads the dialer's logs",
        N_("Only a Master downloads the dialer's logs."),
    ),
    # -- passwords (core/services/passwords.py) -------------------------------------
    "password.required": E("a password is required", N_("Enter a password.")),
    "password.too_short": E(
        "the password must have at least %(n)s characters (it has %(length)s)",
        N_("The password must have at least %(n)s characters."),
    ),
    "password.too_long": E(
        "the password must have at most %(n)s characters",
        N_("The password must have at most %(n)s characters."),
    ),
    "password.is_username": E(
        "the password must not be the user name", N_("The password must not be the user name.")
    ),
    "password.repetitive": E(
        "the password must not repeat one or two characters",
        N_("The password must not repeat one or two characters."),
    ),
    "password.mismatch": E("passwords do not match", N_("The passwords do not match.")),
    # -- dialer users (core/services/users.py) ---------------------------------------
    "user.manage_denied": E(
        "only a Master or a Manager manages dialer users",
        N_("Only a Master or a Manager manages dialer users."),
    ),
    "user.not_found": E("user %(id)s does not exist", GONE),
    "user.role_invalid": E("role must be one of %(roles)s", N_("Choose a role.")),
    "user.group_ids_invalid": E(
        "group_ids must be a list of group ids", N_("Choose dialer groups from the list.")
    ),
    "user.groups_missing": E(
        "group(s) %(ids)s do not exist", N_("Dialer group(s) %(ids)s do not exist.")
    ),
    "user.groups_not_managed": E(
        "you may only assign the groups you manage; not %(ids)s",
        N_("You may only assign the groups you manage."),
    ),
    "user.no_managed_group": E(
        "assign at least one of the groups you manage", N_("Choose at least one of your groups.")
    ),
    "user.group_needed": E(
        "a %(role)s needs at least one dialer group", N_("Choose at least one dialer group.")
    ),
    "user.master_no_group": E(
        "a Master belongs to no group: it sees them all",
        N_("A Master belongs to no group: it sees them all."),
    ),
    "user.name_invalid": E(
        "user name: 2-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        N_("User name: 2 to 64 letters, digits, '.', '_', '@' or '-'."),
    ),
    "user.language_invalid": E(
        "language must be one of %(languages)s", N_("Choose English, Português or Español.")
    ),
    "user.manager_creates": E(
        "a Manager creates Campaign Administrators and Campaign Supervisors only", MANAGER_ROLES
    ),
    "user.manager_assigns": E(
        "a Manager assigns the Campaign Administrator or Supervisor role only", MANAGER_ROLES
    ),
    "user.name_taken": E("the user name %(name)r is taken", N_("The user name %(name)s is taken.")),
    "user.password_elsewhere": E(
        "passwords change through POST /api/v1/users/{id}/password",
        N_("Change the password with its own form (password reset)."),
    ),
    "user.own_role": E("you cannot change your own role", N_("You cannot change your own role.")),
    "user.delete_self": E("you cannot delete yourself", N_("You cannot delete yourself.")),
    "user.foreign_groups": E(
        "this user also belongs to groups you do not manage: remove it from yours instead",
        N_("This user also belongs to groups you do not manage: remove it from yours instead."),
    ),
    "user.last_master": E(
        "this is the last Master: create another one first",
        N_("This is the last Master: create another one first."),
    ),
    "user.reset_denied": E("only a Master resets passwords", N_("Only a Master resets passwords.")),
    # -- dialer groups (core/services/groups.py) -------------------------------------
    "group.not_found": E("group %(id)s does not exist", GONE),
    "group.create_denied": E(
        "only a Master creates dialer groups", N_("Only a Master creates dialer groups.")
    ),
    "group.name_taken": E(
        "a group named %(name)r already exists", N_("A group named %(name)s already exists.")
    ),
    "group.manager_toggles_only": E(
        "a Manager may only enable or disable its groups",
        N_("A Manager may only enable or disable its groups."),
    ),
    "group.never_deleted": E(
        "dialer groups are never deleted: disable the group instead "
        '(PATCH {"enabled": false}); its started campaigns run to the end of their schedules',
        N_("Dialer groups are never deleted: disable the group instead."),
    ),
    "group.change_denied": E(
        "only a Master or the group's Manager changes a group",
        N_("Only a Master or the group's Manager changes a group."),
    ),
    # -- campaigns (core/services/campaigns.py, campaign_fields.py) -----------------
    "campaign.no_access": E(
        "campaigns are run by Campaign Administrators and viewed by Campaign Supervisors "
        "of their groups; a %(role)s has no access to campaigns",
        N_(
            "Campaigns are run by Campaign Administrators and viewed by "
            "Campaign Supervisors of their groups."
        ),
    ),
    "campaign.supervisor_views": E(
        "a Campaign Supervisor views campaigns; changing them needs a Campaign Administrator",
        N_("A Campaign Supervisor views campaigns; changing them needs a Campaign Administrator."),
    ),
    "campaign.not_found": E("campaign %(id)s does not exist", GONE),
    "campaign.not_found_by_name": E(
        "no campaign named %(name)r (give its exact name or its id)",
        N_("No campaign is named %(name)s."),
    ),
    "campaign.started": E(
        "campaign %(name)r is STARTED: stop it first "
        "(POST /api/v1/campaigns/%(id)s/stop), then change it",
        N_("Stop the campaign first: a started campaign cannot be changed."),
    ),
    "campaign.group_not_found": E("group %(id)s does not exist", GONE),
    "campaign.group_not_yours": E(
        "group %(id)s is not one of your groups; use one of %(yours)s",
        N_("This dialer group is not one of yours."),
    ),
    "campaign.group_disabled": E(
        "group %(name)r is disabled: no campaign can be created in or moved to it",
        N_("This dialer group is disabled."),
    ),
    "campaign.group_disabled_start": E(
        "group %(name)r is disabled: its stopped campaigns cannot start; "
        "ask a Master or the group's Manager to enable it",
        N_("This dialer group is disabled."),
    ),
    "campaign.dnc_service_not_found": E("DNC service %(id)s does not exist", GONE),
    "campaign.name_taken": E(
        "a campaign named %(name)r already exists", N_("A campaign named %(name)s already exists.")
    ),
    "campaign.state_filter_invalid": E(
        "state must be STARTED or STOPPED", N_("Choose the state STARTED or STOPPED.")
    ),
    "campaign.already_in_state": E(
        "campaign %(name)r is already %(state)s",
        N_("The campaign %(name)s is already in that state."),
    ),
    "campaign.state_changed": E(
        "campaign %(name)r changed state meanwhile; reload it and try again",
        N_("The campaign changed state meanwhile: reload the page and try again."),
    ),
    "campaign.no_schedule_left": E(
        "campaign %(name)s has no schedule day left (today or later): add a schedule or "
        "change its dates (/campaigns/%(id)s/schedules), then start it",
        N_(
            "The campaign %(name)s has no schedule day left (today or later): "
            "add a schedule or change its dates, then start it."
        ),
    ),
    "campaign.no_leads_left": E(
        "campaign %(name)s has no lead left to call (none NOT_CALLED or waiting for a retry): "
        "upload leads (/campaigns/%(id)s/leads/upload), then start it",
        N_(
            "The campaign %(name)s has no lead left to call (none not called or "
            "waiting for a retry): upload leads, then start it."
        ),
    ),
    "campaign.max_attempts_range": E(
        "%(name)s must be a whole number from %(low)s to %(high)s (default %(default)s)",
        N_("Max attempts must be a whole number from 1 to 100."),
    ),
    "campaign.retry_after_range": E(
        "%(name)s must be a whole number from %(low)s to %(high)s (default %(default)s)",
        N_("Retry after must be a whole number of minutes from 1 to 1440."),
    ),
    "campaign.hours_order": E(
        "the working hours end (%(end)s) must be after their start (%(start)s) on the same day",
        N_("The end must come after the start."),
    ),
    "campaign.timezone_invalid": E(
        "timezone: %(value)r is not an IANA time zone; use e.g. 'America/Sao_Paulo' or 'UTC'",
        N_("Choose a valid time zone (for example America/Sao_Paulo)."),
    ),
    "campaign.weekdays_invalid": E(
        "weekdays must be a non-empty list of %(days)s", N_("Choose at least one weekday.")
    ),
    "campaign.weekdays_unknown": E(
        "weekdays: unknown day(s) %(unknown)s; use %(days)s", N_("Choose at least one weekday.")
    ),
    "campaign.region_invalid": E(
        "default_region: %(value)r is not a two-letter region phonenumbers knows (e.g. BR, US, DE)",
        N_("Choose a two-letter region, for example BR, US or DE."),
    ),
    "campaign.routing_target_unknown": E(
        "routing_target: %(value)r is not a routing target; use null (by type) or one of %(known)s",
        N_("Choose an installed routing target, or none to route by campaign type."),
    ),
    "campaign.end_before_start": E(
        "end_date (%(end)s) is before start_date (%(start)s)",
        N_("The end must come after the start."),
    ),
    "campaign.range_too_long": E(
        "the date range may span at most %(n)s days",
        N_("The date range may span at most %(n)s days."),
    ),
    "campaign.group_required": E("group_id is required: the dialer group it belongs to", REQUIRED),
    "campaign.type_invalid": E("type must be OSCC or IVR", N_("Choose the type OSCC or IVR.")),
    "campaign.caller_id_invalid": E(
        "caller_id must be digits with an optional leading + %(rule)s, got %(value)r",
        N_("Digits only, with an optional leading +."),
    ),
    "campaign.pilot_number_invalid": E(
        "pilot_number must be digits, * and # with an optional leading + %(rule)s, got %(value)r",
        N_("Digits, * and # only, with an optional leading +."),
    ),
    "campaign.read_only": E(
        "%(name)s is read-only: use POST /api/v1/campaigns/{id}/start or /stop",
        N_("The state is read-only: start or stop the campaign instead."),
    ),
    "campaign.no_weekday_in_range": E(
        "no day from %(start)s to %(end)s falls on the selected weekdays (%(weekdays)s): "
        "the campaign would have no schedule day; select another weekday or widen "
        "start_date/end_date",
        N_(
            "No day from %(start)s to %(end)s falls on the selected weekdays: "
            "select another weekday or widen the dates."
        ),
    ),
    # -- a campaign's pacing (core/services/campaign_pacing.py) ----------------------
    "campaign.pacing_mode_unknown": E(
        "pacing_mode: %(value)r is not an installed pacing mode; use one of %(known)s",
        N_("Choose an installed pacing mode: %(known)s."),
    ),
    "campaign.lines_per_agent_out_of_range": E(
        "lines_per_agent must be a number from %(low)s to %(high)s (default %(default)s), "
        "got %(value)r",
        N_("Lines per agent: enter a number from 1 to 5 (for example 1.5)."),
    ),
    "campaign.abandon_target_pct_out_of_range": E(
        "abandon_target_pct must be a number from %(low)s to %(high)s (default %(default)s), "
        "got %(value)r",
        N_("Abandon target: enter a percentage from 0 to 10 (for example 3)."),
    ),
    "campaign.abandon_window_invalid": E(
        "abandon_window must be one of %(known)s, got %(value)r",
        N_("Choose the last 24 hours, the last 30 days or the whole campaign."),
    ),
    "campaign.abandon_timeout_ms_out_of_range": E(
        "abandon_timeout_ms must be a whole number of milliseconds from %(low)s to %(high)s "
        "(default %(default)s), got %(value)r",
        N_("Wait for an agent: enter a whole number of milliseconds from 500 to 10000."),
    ),
    "campaign.max_lines_per_agent_out_of_range": E(
        "max_lines_per_agent must be a number from %(low)s to %(high)s (default %(default)s), "
        "got %(value)r",
        N_("Maximum lines per agent: enter a number from 1 to 5 (for example 3)."),
    ),
    "campaign.lines_above_max": E(
        "lines_per_agent (%(lines)s) is above max_lines_per_agent (%(cap)s): in power mode the "
        "cap would always win; lower lines_per_agent or raise max_lines_per_agent",
        N_(
            "Lines per agent is above the maximum lines per agent, which would always win: "
            "lower it or raise the maximum."
        ),
    ),
    # -- a campaign's compliance policy (core/services/compliance_policy.py) ----------
    "compliance.not_an_object": E(
        "the compliance policy must be a JSON object",
        N_("The compliance policy is not valid."),
    ),
    "compliance.unknown_field": E(
        "unknown compliance field(s) %(names)s; known: %(known)s",
        N_("Unknown field(s): %(names)s."),
    ),
    "compliance.preset_unknown": E(
        "preset must be one of %(known)s, got %(value)r",
        N_("Choose one of the presets."),
    ),
    "compliance.value_out_of_range": E(
        "must be empty (no limit) or a number from %(low)s to %(high)s, got %(value)r",
        N_("Leave it empty (no limit) or enter a number from %(low)s to %(high)s."),
    ),
    "compliance.not_a_boolean": E("must be true or false, got %(value)r", N_("Choose yes or no.")),
    "compliance.local_hours_days": E(
        "local_hours must be an object whose keys are weekdays (%(known)s), or null",
        N_("Calling hours are given per weekday."),
    ),
    "compliance.local_hours_invalid": E(
        "calling hours are spans like 08:00-21:00 (the end after the start), got %(value)r",
        N_("Write calling hours like 08:00-21:00 (the end after the start): %(value)s"),
    ),
    "compliance.local_hours_overlap": E(
        "the calling hours of %(day)s overlap",
        N_("The calling hours of one day overlap (%(day)s)."),
    ),
    "compliance.holiday_calendar_unknown": E(
        "unknown holiday calendar %(value)r: write a country code (BR, US, GB) or a "
        "country and subdivision (BR-SP, US-CA)",
        N_("%(value)s is not a holiday calendar: write a country (BR) or a subdivision (BR-SP)."),
    ),
    "compliance.holiday_subdivision_unknown": E(
        "unknown subdivision in %(value)r; %(country)s has: %(known)s",
        N_("%(value)s: this country has no such subdivision."),
    ),
    "compliance.holiday_date_invalid": E(
        "holiday dates are written YYYY-MM-DD, got %(value)r",
        N_("Write each date as YYYY-MM-DD: %(value)s"),
    ),
    "compliance.ring_time_below_policy": E(
        "the no-answer timeout (%(value)s s) is under the %(min)s s the compliance policy requires",
        N_("The compliance policy requires at least %(min)s seconds of ringing."),
    ),
    "compliance.caller_id_required": E(
        "the compliance policy requires a caller ID: set the campaign's caller ID or the "
        "platform's before starting",
        N_(
            "The compliance policy requires a caller ID: set one in the campaign (or the "
            "communication platform) before starting."
        ),
    ),
    "compliance.dnc_service_required": E(
        "the compliance policy limits the DNC list's age (%(days)s days): choose the "
        "campaign's DNC service before starting",
        N_(
            "The compliance policy requires a Do-Not-Call list no older than %(days)s "
            "days: choose the campaign's DNC service before starting."
        ),
    ),
    "compliance.abandon_above_policy": E(
        "the compliance policy allows at most %(max)s %% abandoned calls, got %(value)s",
        N_("The compliance policy allows at most %(max)s %% abandoned calls."),
    ),
    "compliance.abandon_window_policy": E(
        "the compliance policy counts abandons over %(window)s, got %(value)s",
        N_("The compliance policy sets the window of the abandon rate: %(window)s."),
    ),
    "compliance.abandon_timeout_above_policy": E(
        "the compliance policy allows at most %(max)s ms to reach an agent, got %(value)s",
        N_("The compliance policy allows at most %(max)s ms to reach an agent."),
    ),
    "compliance.safe_harbour_required": E(
        "the compliance policy requires a recorded message for abandoned calls: upload "
        "one before starting an over-dialing campaign",
        N_(
            "The compliance policy requires a recorded message for abandoned calls: upload "
            "one before starting."
        ),
    ),
    # -- a campaign's safe-harbour message (core/services/message_audio.py) ----------
    "safe_harbour.not_found": E(
        "campaign %(id)s has no safe-harbour message",
        N_("This campaign has no safe-harbour message."),
    ),
    "safe_harbour.empty": E(
        "the uploaded file is empty", N_("The file is empty: choose a WAV or MP3 recording.")
    ),
    "safe_harbour.too_large": E(
        "the file has %(size)s bytes; at most %(mb)s MB are accepted",
        N_("The file is too large: at most %(mb)s MB."),
    ),
    "safe_harbour.not_audio": E(
        "the file is neither a WAV nor an MP3 recording",
        N_("This is not a WAV or MP3 recording."),
    ),
    "safe_harbour.unreadable": E(
        "the %(kind)s file could not be decoded (%(reason)s): it is damaged or of an "
        "unsupported kind",
        N_("The %(kind)s file is damaged or of a kind that cannot be read."),
    ),
    "safe_harbour.no_audio": E(
        "the %(kind)s file holds no audio", N_("The %(kind)s file holds no sound.")
    ),
    "safe_harbour.too_short": E(
        "the message lasts %(ms)s ms; a safe-harbour message lasts at least %(low)s s",
        N_("The message is too short: it must last at least %(low)s s."),
    ),
    "safe_harbour.too_long": E(
        "the message lasts %(seconds)s s or more; at most %(high)s s are accepted",
        N_("The message is too long (%(seconds)s s): at most %(high)s s."),
    ),
    "safe_harbour.silent": E(
        "the recording is silent: its loudest 50 ms are at %(dbfs)s dBFS, below %(limit)s dBFS",
        N_("The recording is silent: nobody would hear anything."),
    ),
    "safe_harbour.no_file": E(
        "no file in the form: send the recording in a file field named 'file'",
        N_("Choose a WAV or MP3 recording to upload."),
    ),
    "safe_harbour.unsupported_upload": E(
        "send the recording as the body (Content-Type: audio/wav or audio/mpeg) or as a "
        "multipart/form-data file field named 'file'; got %(kind)r",
        N_("Choose a WAV or MP3 recording to upload."),
    ),
    # -- a campaign's AMD settings (core/amd_settings.py) ---------------------------
    "amd.not_object": E(
        "amd_params must be a JSON object", N_("The AMD settings must be a JSON object.")
    ),
    "amd.action_invalid": E(
        "amd_params.%(key)s: %(value)r is not an action; use hangup or transfer "
        "(on_machine: also leave_message)",
        N_("Choose hang up or transfer."),
    ),
    "amd.strategy_unknown": E(
        "amd_params.strategy: %(value)r is not an installed AMD strategy "
        "(installed: %(installed)s)",
        N_("Choose an installed AMD strategy: %(installed)s."),
    ),
    "amd.preset_unknown": E(
        "amd_params.preset: %(value)r is not a preset of the %(strategy)s strategy "
        "(presets: %(presets)s)",
        N_("Choose one of the presets: %(presets)s."),
    ),
    "amd.strategy_refused": E("amd_params: %(problem)s", None, N_("AMD settings: %(problem)s")),
    "amd.leave_message_machine_only": E(
        "amd_params.%(key)s: leave_message is for answering machines only (on_machine); "
        "use hangup or transfer",
        N_("Leaving a message is for answering machines only: choose hang up or transfer."),
    ),
    "amd.voicemail_missing": E(
        "amd_params.on_machine: leave_message needs the campaign's voicemail message; "
        "upload it first (PUT /api/v1/campaigns/{id}/voicemail-message, or the campaign "
        "form's AMD settings), then choose leave_message",
        N_(
            "This campaign has no voicemail message: choose a WAV or MP3 file under "
            "Voicemail message (below) and save again, or choose another action."
        ),
    ),
    "campaign.voicemail_missing": E(
        "campaign %(name)s leaves a message on answering machines (on_machine: "
        "leave_message) and has no voicemail message: upload one (PUT "
        "/api/v1/campaigns/%(id)s/voicemail-message) or choose another action, then start it",
        N_(
            "This campaign leaves a message on answering machines and has no voicemail "
            "message: upload one in Edit campaign, AMD settings, or choose another action."
        ),
    ),
    "voicemail.not_found": E(
        "campaign %(id)s has no voicemail message",
        N_("This campaign has no voicemail message."),
    ),
    # -- schedules (core/services/schedules.py) --------------------------------------
    "schedule.date_past": E(
        "date %(day)s is in the past (today is %(today)s in %(zone)s)",
        N_("This date is in the past (today is %(today)s in %(zone)s)."),
    ),
    "schedule.outside_range": E(
        "date %(day)s is outside the campaign's date range %(start)s to %(end)s: "
        "choose a date inside it, or widen the range first",
        N_(
            "%(day)s is outside the campaign's dates (%(start)s to %(end)s): choose a "
            "date inside them, or widen the campaign's dates first."
        ),
    ),
    "schedule.exists_on_day": E(
        "campaign %(name)r already has a schedule on %(day)s: "
        "edit that one instead (one schedule per date)",
        N_("The campaign already has a schedule on %(day)s: edit that one instead."),
    ),
    "schedule.day_taken": E(
        "%(day)s already has a schedule in campaign %(name)r: "
        "choose a free date (one schedule per date)",
        N_("%(day)s already has a schedule: choose a free date (one schedule per day)."),
    ),
    "schedule.not_found": E(
        "campaign %(campaign_id)s has no schedule %(key)s (give its id or its date)",
        N_("This campaign has no schedule %(key)s."),
    ),
    "schedule.past": E(
        "the schedule of %(day)s is in the past (today is %(today)s in %(zone)s): "
        "past schedules are history and do not change",
        N_(
            "The schedule of %(day)s is in the past (today is %(today)s in %(zone)s): "
            "past schedules do not change."
        ),
    ),
    "schedule.has_run": E(
        "the schedule of %(day)s has run (%(state)s): it cannot be %(verb)s; "
        "only its hours may change",
        N_(
            "The schedule of %(day)s has already run: it keeps its date and cannot be "
            "deleted; only its hours may change."
        ),
    ),
    # -- leads (core/services/leads.py, lead_import.py, leads_csv.py) --------------
    "lead.status_invalid": E("status must be one of %(statuses)s", STATUS),
    "lead.search_too_long": E(
        "q must have at most %(n)s characters, and no NUL",
        N_("The search must have at most %(n)s characters."),
    ),
    "lead.not_found": E("lead %(id)s does not exist in campaign %(campaign_id)s", GONE),
    "lead.phone_invalid": E(
        "invalid phone number %(phone)s: %(problem)s (default region %(region)s)", None, NOT_PHONE
    ),
    "lead.phone_taken": E(
        "%(phone)s is already lead %(id)s of this campaign",
        N_("%(phone)s is already a lead of this campaign."),
    ),
    "lead_file.empty": E(
        "the file holds no leads: it is empty or only a header; "
        "put one lead per line as name,phone",
        N_("The file holds no leads: put one lead per line as name,phone."),
    ),
    "lead_file.invalid_rows": E(
        "%(n)s row(s) of the file are invalid, so nothing was imported "
        "(first: line %(first_line)s, %(reason)s); fix them, or import with skip_invalid "
        "(API ?skip_invalid=true, CLI --skip-invalid) to load the %(valid)s valid row(s)",
        N_(
            "%(n)s row(s) of the file are invalid, so nothing was imported: fix them, "
            "or tick “Skip invalid rows” to import the valid ones."
        ),
    ),
    "lead_file.not_text": E(
        "the file is %(what)s, not a CSV text file: %(how)s and upload that",
        N_("The file is not a CSV text file: save it as “CSV UTF-8” and upload that."),
    ),
    "lead_file.binary": E(
        "the file is binary (it holds NUL or control bytes), not a CSV text file: "
        "export the leads as 'CSV UTF-8' with the columns name,phone",
        N_("The file is not a CSV text file: save it as “CSV UTF-8” and upload that."),
    ),
    "lead_file.unsupported_upload": E(
        "send the leads as a CSV body (Content-Type: text/csv) or as a multipart/form-data "
        "file field named 'file'; got %(kind)r",
        N_("Choose a CSV file to upload."),
    ),
    "upload.multipart_malformed": E("malformed multipart body: %(reason)s", UPLOAD_FORM),
    "upload.no_boundary": E("multipart body without a boundary", UPLOAD_FORM),
    "upload.no_file": E(
        "no file in the form: send the CSV in a file field named 'file'",
        N_("Choose a CSV file to upload."),
    ),
    # One row of a lead file (the per-line report; the reason of each row).
    "lead_row.columns": E(
        "expected 2 to 4 columns (name,phone[,description[,timezone]]) or the columns the "
        "header names, found %(n)s",
        N_(
            "Expected 2 to 4 columns (name, phone, description, time zone) or the columns "
            "the header names; found %(n)s."
        ),
    ),
    "lead_row.timezone_unknown": E(
        "unknown IANA time zone %(value)r (write it like America/Sao_Paulo)",
        N_("%(value)s is not a time zone: write it like America/Sao_Paulo."),
    ),
    "lead_row.region_unknown": E(
        "unknown region %(value)r: write an ISO 3166-2 subdivision such as BR-AM or US-TX "
        "(or AM in the campaign's country, %(country)s)",
        N_(
            "%(value)s is not a region we know: write it like BR-AM or US-TX (or AM for "
            "the campaign's country, %(country)s)."
        ),
    ),
    "lead_row.empty_name": E("empty name", N_("The name is empty.")),
    "lead_row.name_too_long": E(
        "name longer than %(n)s characters", N_("The name is longer than %(n)s characters.")
    ),
    "lead_row.description_too_long": E(
        "description longer than %(n)s characters",
        N_("The description is longer than %(n)s characters."),
    ),
    "lead_row.empty_phone": E("empty phone number", N_("The phone number is empty.")),
    "lead_row.malformed": E(
        "malformed CSV: %(reason)s", N_("Malformed CSV (check the quotes on this line).")
    ),
    "lead_row.nul_bytes": E(
        "holds NUL bytes: the file is not plain text; re-export it as CSV UTF-8",
        N_("The text is not UTF-8: save the file as “CSV UTF-8”."),
    ),
    "lead_row.not_utf8": E(
        "not UTF-8 (looks like Latin-1: re-save the file as UTF-8)",
        N_("The text is not UTF-8: save the file as “CSV UTF-8”."),
    ),
    "lead_row.duplicate_lead": E(
        "duplicate: %(phone)s is already a lead of this campaign (lead %(id)s)",
        N_("Duplicate: %(phone)s is already a lead of this campaign."),
    ),
    "lead_row.duplicate_line": E(
        "duplicate: %(phone)s is also on line %(line)s",
        N_("Duplicate: %(phone)s is also on line %(line)s."),
    ),
    # -- a phone number's shape (core/services/phones.py) ---------------------------
    # ``detail`` is the reason alone (callers prefix "invalid phone number 'x': ");
    # ``text`` is the whole sentence, given the number as ``phone`` (quoted, as the
    # wrappers' details quote it).
    "phone.invalid": E("invalid phone number %(phone)s: %(problem)s", None, NOT_PHONE),
    "phone.empty": E("it is empty", N_("The phone number is empty.")),
    "phone.text_too_long": E(
        "it is longer than %(n)s characters",
        N_("Invalid phone number %(phone)s: it is longer than %(n)s characters."),
    ),
    "phone.characters": E(
        "only digits, an optional leading + and the separators ( ) - . and space are allowed",
        N_(
            "Invalid phone number %(phone)s: use only digits, an optional leading + "
            "and the separators ( ) - . and space."
        ),
    ),
    "phone.digit_count": E(
        "it has %(n)s digits; a phone number has %(low)s to %(high)s",
        N_(
            "Invalid phone number %(phone)s: it has %(n)s digits; a phone number has "
            "%(low)s to %(high)s."
        ),
    ),
    "phone.too_long_with_country_code": E(
        "it would have %(n)s digits with its country code %(cc)s; "
        "a phone number has at most %(high)s",
        N_(
            "Invalid phone number %(phone)s: with its country code %(cc)s it would have "
            "%(n)s digits, more than a phone number has."
        ),
    ),
    # -- calls (core/services/calls.py) ------------------------------------------
    "call.since_invalid": E(
        "since: %(value)r is not an ISO 8601 time, e.g. 2026-11-27T08:00:00Z",
        N_("Enter a date and time in ISO 8601 form, for example 2026-11-27T08:00:00Z."),
    ),
    "audit.range_invalid": E(
        "%(bound)s: %(value)r is neither a date (2026-12-01) nor an ISO 8601 time "
        "(2026-12-01T08:00:00Z)",
        N_("Enter a date such as 2026-12-01, or a time such as 2026-12-01T08:00:00Z."),
    ),
    "audit.range_empty": E(
        "to (%(end)s) must come after from (%(start)s): the range is [from, to)",
        N_("The end must come after the start (the end day itself is not included)."),
    ),
    "call.status_invalid": E("status must be %(in_progress)s or one of %(statuses)s", STATUS),
    "call.phone_no_digits": E(
        "phone: %(value)r has no digits; give the number or a part of it",
        N_("Enter the phone number, or some of its digits."),
    ),
    # A call outcome's detail the engine writes itself (core/engine/records.py): not an
    # error, a call record's ``detail_code``; the call log shows its sentence.
    "call.dnc_blocked": E(
        "on the Do-Not-Call list of %(service)s; no call placed",
        N_("On the Do-Not-Call list of %(service)s; no call placed."),
    ),
    # -- Do-Not-Call services (core/services/dnc_services.py) ----------------------
    "dnc.role_denied": E(
        "only %(roles)s users may %(what)s Do-Not-Call services",
        N_("Your role may not do this with Do-Not-Call services."),
    ),
    "dnc.service_not_found": E("DNC service %(id)s does not exist", GONE),
    "dnc.kind_invalid": E(
        "kind must be one of %(kinds)s (plugins add kinds)", N_("Choose a known kind of service.")
    ),
    "dnc.kind_required": E("kind is required: one of %(kinds)s", REQUIRED),
    "dnc.timeout_range": E(
        "timeout_ms must be a whole number of milliseconds from %(low)s to %(high)s",
        N_("The timeout must be a whole number of milliseconds from %(low)s to %(high)s."),
    ),
    "dnc.url_required": E("an http service needs its url (https://…)", URL),
    "dnc.url_too_long": E("url must be at most 500 characters", URL),
    "dnc.url_invalid": E("url must look like https://host/path (got %(url)r)", URL),
    "dnc.url_plain_http": E(
        "url is plain http://: use https://, or set insecure to true for a test service",
        N_("The address is plain http://: use https://, or tick the test-only option."),
    ),
    "dnc.url_password_masked": E(
        "url has %(mask)s as its password, but no password is stored for this user "
        "at this address: type the password, or remove it from the url",
        N_("The address has *** as its password, but none is stored: type the password."),
    ),
    "dnc.ca_bundle_too_long": E(
        "ca_bundle must be PEM text of at most %(n)s characters",
        N_("The CA bundle must be PEM text of at most %(n)s characters."),
    ),
    "dnc.ca_bundle_invalid": E(
        "ca_bundle is not a PEM certificate bundle (%(reason)s): paste the CA's "
        "-----BEGIN CERTIFICATE----- block(s)",
        N_("The CA bundle is not PEM: paste the CA's -----BEGIN CERTIFICATE----- block(s)."),
    ),
    "dnc.options_too_long": E(
        "options must be at most %(n)s characters of JSON",
        N_("The options must be at most %(n)s characters of JSON."),
    ),
    "dnc.headers_retype": E(
        "options.headers %(names)s: the service's address changed, so type their values "
        "again (a stored value is only sent to the address it was given for)",
        N_(
            "The service's address changed: type the values of %(names)s again "
            "(a stored value is only sent to the address it was given for)."
        ),
    ),
    "dnc.option_invalid": E("%(problem)s", None, NOT_ACCEPTED),
    "dnc.embedded_has_no": E(
        "an embedded service has no %(name)s: its list is imported into the dialer "
        "(remove the field, or choose kind http)",
        N_("An embedded service has no address nor CA bundle: its list is loaded into the dialer."),
    ),
    "dnc.name_taken": E(
        "a DNC service named %(name)r already exists",
        N_("A Do-Not-Call service named %(name)s already exists."),
    ),
    "dnc.builtin": E(
        "the %(name)r is built in and cannot be %(what)s: "
        "import its numbers instead, or create another service",
        N_("The Embedded Service is not editable: load its list from a file."),
    ),
    "dnc.service_in_use": E(
        "DNC service %(name)r is used by %(n)s campaign(s)%(shown)s: "
        "choose another DNC service for them first",
        N_(
            "This Do-Not-Call service is used by %(n)s campaign(s): "
            "choose another service for them first."
        ),
    ),
    # -- Do-Not-Call numbers (core/services/dnc_numbers.py, dnc_csv.py) ------------
    "dnc.service_not_found_by": E(
        "no Do-Not-Call service with %(where)s", N_("This Do-Not-Call service does not exist.")
    ),
    "dnc.import_denied": E(
        "only Masters and Campaign Administrators may import Do-Not-Call numbers",
        N_("You may not load Do-Not-Call lists."),
    ),
    "dnc.not_embedded": E(
        "service %(name)r is of kind %(service_kind)r; numbers can only be imported into a "
        "service of kind %(kind)r",
        N_("Numbers can only be loaded into a service of kind %(kind)s."),
    ),
    "dnc.format_invalid": E(
        "format must be one of %(formats)s", N_("Choose a supported list format.")
    ),
    "dnc.number_format_invalid": E(
        "number format must be one of %(formats)s", N_("Choose a supported list format.")
    ),
    "dnc.region_invalid": E(
        "unknown region %(region)r: use a two-letter code such as BR or US",
        N_("Choose a two-letter region, for example BR, US or DE."),
    ),
    "dnc.file_unreadable": E(
        "cannot read the list file: %(reason)s", N_("The list file cannot be read.")
    ),
    "dnc.invalid_lines": E(
        "%(n)s invalid line(s), nothing was imported — %(shown)s%(more)s. "
        "Fix them, or import with skip_invalid to leave them out.",
        N_("%(n)s invalid line(s), nothing was imported: fix them, or tick “Skip invalid lines”."),
    ),
    # One line of a Do-Not-Call list (the reason of each invalid line).
    "dnc_line.not_utf8": E(
        "not UTF-8 text", N_("The text is not UTF-8: save the file as “CSV UTF-8”.")
    ),
    "dnc_line.e164_characters": E(
        "E.164 digits expected (optional +, then digits only)",
        N_("E.164 digits expected (an optional +, then digits)."),
    ),
    "dnc_line.e164_length": E(
        "E.164 numbers have %(low)s to %(high)s digits and do not start with 0",
        N_("E.164 digits expected (an optional +, then digits)."),
    ),
    # -- routing settings (core/services/routing_config.py) ------------------------
    "routing.master_only": E(
        "only a Master may see or change routing settings",
        N_("Only a Master may see or change the routing settings."),
    ),
    "routing.target_unknown": E(
        "no routing target %(name)r; installed: %(installed)s",
        N_("There is no routing target %(name)s."),
    ),
    "routing.not_configured": E(
        "routing target %(name)r is not configured",
        N_("The routing target %(name)s is not configured."),
    ),
    "routing.secret_needs_value": E(
        "%(key)s: give the value itself; nothing is stored to keep",
        N_("Give the value itself: nothing is stored to keep."),
    ),
    "routing.option_invalid": E("%(problem)s", None, NOT_ACCEPTED),
    # -- communication platform (core/services/platform_choice.py, platform_config.py;
    # the SIP platform's own fields: plugins/platform_sip/option_messages.py)
    "platform.master_only": E(
        "only a Master may see or change the communication platform",
        N_("Only a Master may see or change the communication platform."),
    ),
    "platform.unknown": E(
        "name must be one of the installed platforms (%(names)s), got %(value)r",
        N_("Choose one of the installed platforms: %(names)s."),
    ),
    "platform.none_editable": E(
        "no installed platform has options to configure",
        N_("No installed platform has options to configure."),
    ),
    "platform.not_editable": E(
        "platform %(name)r has no options to configure",
        N_("This platform has no options to configure."),
    ),
    #: A platform plugin's refusal without a code of its own (its plain ValueError).
    "platform.option_invalid": E("%(problem)s", None, NOT_ACCEPTED),
    # -- installation and start-up (CLI only: no page shows them) -------------------
    "install.demo_database": E(
        "this database was seeded by `opendialer demo`, whose logins have a published "
        "password, so `serve` refuses it: point OPENDIALER_DATABASE_URL at your own "
        "database, or run `opendialer demo` to show the demo",
        N_("This database was seeded by the demo: serve refuses it."),
    ),
    "install.demo_password": E(
        "user %(user)r of this database still has the published password of "
        "`opendialer demo`, so `serve` refuses it: change that password (serve once "
        "with --allow-demo-database on 127.0.0.1), or point OPENDIALER_DATABASE_URL "
        "at your own database",
        N_("This database was seeded by the demo: serve refuses it."),
    ),
    "install.demo_not_loopback": E(
        "--allow-demo-database serves a demo database on loopback only, not on %(host)r "
        "(its password is published): use --host 127.0.0.1",
        N_("This database was seeded by the demo: serve refuses it."),
    ),
    "install.not_demo_database": E(
        "this database has users that `opendialer demo` did not create: the demo never "
        "writes into a real installation; unset OPENDIALER_DATABASE_URL to run it on its "
        "own database",
        N_("This database was seeded by the demo: serve refuses it."),
    ),
    "install.not_migrated": E(
        "%(database)s has no OpenDialer schema yet: run `opendialer db migrate` first "
        "(a node never migrates by itself)",
        N_("The database has no OpenDialer schema yet: run opendialer db migrate first."),
    ),
    "logs.setting_invalid": E(
        "%(env)s=%(value)r is not one of %(allowed)s",
        N_("A log setting of the environment is not valid."),
    ),
}

#: Core's own codes, in the table's order (plugins add theirs in the order they load).
CORE_CODES = tuple(MESSAGES)


def register(messages: Mapping[str, ErrorMessage]) -> None:
    """Add a plugin's codes (under its own prefix, e.g. ``route_oscc.``) to the table."""
    for code, entry in messages.items():
        if MESSAGES.get(code, entry) != entry:
            raise ValueError(f"error code {code!r} is registered twice, with two messages")
        MESSAGES[code] = entry


def reference_page() -> str:
    """docs/errors.md: every code with its English detail and its page sentence (the
    installed plugins' codes too: they register theirs when the plugins load)."""
    from opendialer.core.plugins import get_plugin_manager

    get_plugin_manager()
    lines = [
        "# Error codes",
        "",
        "<!-- Generated from opendialer/core/services/error_messages.py; "
        "tests/test_error_codes.py checks it. -->",
        "",
        "Every error of the JSON API carries a stable `code` beside `error` (its kind, one",
        "per HTTP status or a precise one such as `campaign_started`) and `detail` (the",
        "English sentence below, filled with the error's values). A 422 that lists several",
        "fields gives each item of `errors[]` its own `code`; each rejected line of a lead",
        "or Do-Not-Call file has one too. Match on `code`, never on `detail`: the wording",
        "may improve, the code does not change.",
        "",
        "The web pages show the *page sentence* in the viewer's language (English,",
        "Portuguese or Spanish). `%(name)s` marks a value; `%(name)r` a value shown in",
        "quotes. A page sentence of *(the problem's)* shows the sentence of the problem",
        "the error wraps (its `problem_code`).",
        "",
        "A few codes name no error but how a call ended: a call record's `detail_code`",
        "(`call.dnc_blocked`, the platforms' outcome details; see the call log in",
        "[the API](api.md)) takes its sentences from this same table.",
    ]
    area = ""
    plugins = sorted(set(MESSAGES) - set(CORE_CODES))
    for code in (*CORE_CODES, *plugins):
        entry = MESSAGES[code]
        prefix = code.split(".", 1)[0]
        if prefix != area:
            area = prefix
            lines += ["", f"## {area}", "", "| Code | Detail (API, CLI) | Page sentence |"]
            lines.append("|---|---|---|")
        text = entry.text if entry.text is not None else "*(the problem's)*"
        lines.append(f"| `{code}` | {_cell(entry.detail)} | {_cell(text)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("*", "\\*").replace("<", "&lt;")
