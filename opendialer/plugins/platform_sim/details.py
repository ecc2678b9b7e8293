"""The codes of the simulator's call outcome details (``docs/errors.md``, section
``platform_sim``): the English detail of logs and the API, and the sentence the call
log shows (its msgid is translated in the admin's catalogues; ``babel.cfg`` extracts
``N_`` from the plugins). Registered when the plugin is imported; :mod:`.platform`
puts them on its ``CallOutcome``s as ``detail_code`` with ``detail_params``.

``truth`` is ``human`` or ``machine`` and ``verdict`` an AMD label: the call log
translates both before filling the sentence.
"""

from __future__ import annotations

from opendialer.sdk import ErrorMessage, register_error_messages


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the call log translates it."""
    return message


TRANSFERRED = "platform_sim.transferred"
AMD_HANGUP = "platform_sim.amd_hangup"
NO_ANSWER = "platform_sim.no_answer"
HUNG_UP = "platform_sim.hung_up_before_transfer"
NO_FREE_AGENT = "platform_sim.no_free_agent"
ABANDONED = "platform_sim.abandoned"
ABANDONED_SILENT = "platform_sim.abandoned_without_message"
MESSAGE_LEFT = "platform_sim.message_left"

DETAILS: dict[str, ErrorMessage] = {
    TRANSFERRED: ErrorMessage(
        "transferred to %(to)s; far end was a %(truth)s (sim)",
        N_("Transferred to %(to)s; the far end was %(truth)s (simulator)."),
    ),
    AMD_HANGUP: ErrorMessage(
        "AMD %(verdict)s; far end was a %(truth)s (sim)",
        N_("AMD said %(verdict)s; the far end was %(truth)s (simulator)."),
    ),
    NO_ANSWER: ErrorMessage("no answer (sim)", N_("No answer (simulator).")),
    HUNG_UP: ErrorMessage(
        "far end hung up before the transfer (sim)",
        N_("The called party hung up before the transfer (simulator)."),
    ),
    NO_FREE_AGENT: ErrorMessage(
        "no free agent in the simulated queue", N_("No free agent in the simulated queue.")
    ),
    ABANDONED: ErrorMessage(
        "no agent after %(waited_ms)s ms; safe-harbour message played (%(message_ms)s ms) (sim)",
        N_(
            "No agent was free after %(waited_ms)s ms: the safe-harbour message was played "
            "(%(message_ms)s ms), then the call was hung up (simulator)."
        ),
    ),
    ABANDONED_SILENT: ErrorMessage(
        "no agent after %(waited_ms)s ms; no safe-harbour message set, hung up (sim)",
        N_(
            "No agent was free after %(waited_ms)s ms and no safe-harbour message is set: "
            "the call was hung up (simulator)."
        ),
    ),
    MESSAGE_LEFT: ErrorMessage(
        "voicemail message (%(message_ms)s ms) left at %(at_s)s s: %(why)s (sim)",
        # The tracker's ``why`` is its English trace: the call log shows it apart.
        N_(
            "A machine answered: the voicemail message (%(message_ms)s ms) was left at "
            "%(at_s)s s, then the call was hung up (simulator)."
        ),
    ),
}
register_error_messages(DETAILS)
