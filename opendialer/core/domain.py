"""Vocabulary of the product guide: roles, states and statuses, as string enums.

The string values are what the database stores and what the JSON API speaks.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    MASTER = "master"
    MANAGER = "manager"
    CAMPAIGN_ADMIN = "campaign_admin"
    CAMPAIGN_SUPERVISOR = "campaign_supervisor"


class CampaignState(StrEnum):
    STARTED = "STARTED"
    STOPPED = "STOPPED"


class CampaignType(StrEnum):
    OSCC = "OSCC"
    IVR = "IVR"


class ScheduleState(StrEnum):
    NOT_RUNNING = "NOT_RUNNING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    DNC_OUT_OF_SERVICE = "DNC_OUT_OF_SERVICE"


class LeadStatus(StrEnum):
    NOT_CALLED = "NOT_CALLED"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    BUSY = "BUSY"
    REJECTED = "REJECTED"
    AMD = "AMD"
    SERVICE_TEMPORARILY_UNAVAILABLE = "SERVICE_TEMPORARILY_UNAVAILABLE"
    DO_NOT_CALL = "DO_NOT_CALL"
    #: A person answered and no agent was free in time (over-dialing pacing): the
    #: safe-harbour message was played. Not final: the retry policy schedules it.
    ABANDONED = "ABANDONED"
    #: A machine answered and the campaign's voicemail message was left on it
    #: (``on_machine: leave_message``). Final: the message is what the call was for.
    MESSAGE_LEFT = "MESSAGE_LEFT"
    UNKNOWN = "UNKNOWN"


#: Statuses after which a lead is never dialed again, whatever its attempts.
FINAL_LEAD_STATUSES = frozenset(
    {LeadStatus.SUCCESS, LeadStatus.DO_NOT_CALL, LeadStatus.MESSAGE_LEFT}
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

DEFAULT_GROUP_NAME = "Default Dialer Group"
EMBEDDED_DNC_SERVICE_NAME = "Embedded Service"
