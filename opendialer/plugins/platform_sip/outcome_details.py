"""The codes of the SIP platform's call outcome details (``docs/errors.md``, section
``platform_sip``): the English detail of logs and the API, and the sentence the call
log shows (its msgid is translated in the admin's catalogues; ``babel.cfg`` extracts
``N_`` from the plugins). Registered when the plugin is imported; :mod:`.call` puts
them on its ``CallOutcome``s as ``detail_code`` with ``detail_params``.
"""

from __future__ import annotations

from opendialer.sdk import ErrorMessage, register_error_messages


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the call log translates it."""
    return message


NO_ANSWER = "platform_sip.no_answer"
INVITE_UNANSWERED = "platform_sip.invite_unanswered"
REFER_REFUSED = "platform_sip.refer_refused"
REFER_UNANSWERED = "platform_sip.refer_unanswered"
HUNG_UP_DURING_AMD = "platform_sip.hung_up_during_amd"
HUNG_UP_BEFORE_RESULT = "platform_sip.hung_up_before_transfer_result"
NOTIFY_TIMEOUT = "platform_sip.notify_timeout"
# Over-dialing: a person answered and no agent was held for the call (``agent_wait.py``).
HUNG_UP_WAITING_FOR_AGENT = "platform_sip.hung_up_waiting_for_agent"
ABANDONED_MESSAGE_PLAYED = "platform_sip.abandoned_message_played"
ABANDONED_NO_MESSAGE = "platform_sip.abandoned_no_message"
ABANDONED_HUNG_UP_DURING_MESSAGE = "platform_sip.abandoned_hung_up_during_message"
ABANDONED_MESSAGE_CUT = "platform_sip.abandoned_message_cut"
# Voicemail drop: a machine answered, the campaign leaves a message (``voicemail_drop.py``).
MESSAGE_LEFT = "platform_sip.message_left"
MESSAGE_NO_POINT = "platform_sip.message_no_point"
MESSAGE_HUNG_UP = "platform_sip.message_hung_up"

DETAILS: dict[str, ErrorMessage] = {
    NO_ANSWER: ErrorMessage("no answer after %(s)s s", N_("No answer after %(s)s s.")),
    INVITE_UNANSWERED: ErrorMessage(
        "the SIP server did not answer the INVITE",
        N_("The SIP server did not answer the call (INVITE)."),
    ),
    REFER_REFUSED: ErrorMessage("REFER refused", N_("The transfer (REFER) was refused.")),
    REFER_UNANSWERED: ErrorMessage(
        "REFER got no answer", N_("The transfer (REFER) got no answer.")
    ),
    HUNG_UP_DURING_AMD: ErrorMessage(
        "far end hung up during answering-machine detection",
        N_("The called party hung up during answering-machine detection."),
    ),
    HUNG_UP_BEFORE_RESULT: ErrorMessage(
        "far end hung up before the transfer reported a result",
        N_("The called party hung up before the transfer reported a result."),
    ),
    NOTIFY_TIMEOUT: ErrorMessage(
        "no final NOTIFY in time", N_("The transfer's result (NOTIFY) did not come in time.")
    ),
    HUNG_UP_WAITING_FOR_AGENT: ErrorMessage(
        "far end hung up while waiting for a free agent",
        N_("The called party hung up while the dialer waited for a free agent."),
    ),
    ABANDONED_MESSAGE_PLAYED: ErrorMessage(
        "no agent free in time: safe-harbour message played (%(s)s s), then hung up",
        N_(
            "No agent was free in time: the safe-harbour message (%(s)s s) was played, "
            "then the call was hung up."
        ),
    ),
    ABANDONED_NO_MESSAGE: ErrorMessage(
        "no agent free in time and no safe-harbour message: hung up at once",
        N_(
            "No agent was free in time and the campaign has no safe-harbour message: "
            "the call was hung up at once."
        ),
    ),
    ABANDONED_HUNG_UP_DURING_MESSAGE: ErrorMessage(
        "no agent free in time; far end hung up during the safe-harbour message "
        "(%(played)s s of %(s)s s played)",
        N_(
            "No agent was free in time; the called party hung up during the safe-harbour "
            "message (%(played)s s of %(s)s s played)."
        ),
    ),
    ABANDONED_MESSAGE_CUT: ErrorMessage(
        "no agent free in time; the far end did not take the whole safe-harbour message "
        "(on hold or no media address: %(played)s s of %(s)s s sent), then hung up",
        N_(
            "No agent was free in time; the safe-harbour message could not be played in "
            "full (%(played)s s of %(s)s s: the call was on hold or had no audio), then "
            "the call was hung up."
        ),
    ),
    MESSAGE_LEFT: ErrorMessage(
        "machine: voicemail message (%(s)s s) left from %(at)s s after answer (%(why)s), "
        "then hung up",
        # The tracker's ``why`` is its English trace: the call log shows it apart.
        N_(
            "A machine answered: the voicemail message (%(s)s s) was left from %(at)s s "
            "after the answer, then the call was hung up."
        ),
    ),
    MESSAGE_NO_POINT: ErrorMessage(
        "machine: no place to leave the voicemail message (%(why)s): hung up",
        N_(
            "A machine answered but the end of its greeting was not heard: no message was "
            "left, the call was hung up."
        ),
    ),
    MESSAGE_HUNG_UP: ErrorMessage(
        "machine: the far end hung up before the voicemail message ended "
        "(%(played)s s of %(s)s s played)",
        N_(
            "A machine answered and hung up before the voicemail message ended "
            "(%(played)s s of %(s)s s played)."
        ),
    ),
}
register_error_messages(DETAILS)
