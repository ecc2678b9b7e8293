"""What one health check answers: a name, ok/warn/fail, and one line saying what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works now, but needs attention (a certificate near expiry, a clock not synced)
    FAIL = "fail"  # broken: dialing (or part of it) cannot work until fixed


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of ``opendialer doctor`` and of System → Diagnostics.

    ``check`` is the stable id of the check (``database``, ``sip``, ...), ``subject``
    what it looked at when there are several (a port, a DNC service), ``message`` what
    is OK or exactly what to fix."""

    check: str
    status: Status
    message: str
    subject: str = ""

    @property
    def name(self) -> str:
        return f"{self.check}: {self.subject}" if self.subject else self.check

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "check": self.check,
            "subject": self.subject,
            "status": self.status.value,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    """How checks run: the bound on every network exchange, extra files to look at."""

    timeout_s: float = 5.0
    #: the bound on starting a DNC provider: an embedded one loads its whole list first
    #: (seconds for tens of millions of numbers)
    dnc_start_timeout_s: float = 60.0
    #: the web server's certificate (PEM), when not registered by ``serve`` in this process
    web_certfile: str | None = None
