"""Whether the SIP server answers: the platform's health, with hysteresis.

Evidence against the server is a request *to the server itself* that got no
answer at all — Timer B of an initial INVITE, Timer F of a REGISTER or of the
OPTIONS probe (RFC 3261 §17.1) — or a TCP/TLS connection to it that cannot be
made. A request inside a dialog (BYE, re-INVITE, REFER, NOTIFY …), a CANCEL,
or an INVITE whose final never came after the server sent a 1xx, says
something about that one call's path (the far phone, a proxy that dropped the
dialog), not about the server: it is logged against the call and changes
nothing here.

The rule (docs/sip.md, "Platform health"):

* **down** after :data:`DOWN_AFTER` unanswered requests to the server in a row
  — any message from the server in between starts the count again — or at
  once when the connection cannot be made (a refusal or a failed TLS handshake
  is an answer, not a loss);
* the first unanswered request starts the OPTIONS probe, which the platform
  repeats every ``probe_interval_s`` while there is doubt (a count above 0) or
  the server is down; its own timeouts count like any other;
* **up** again as soon as the probe's OPTIONS gets any final response (405
  included): no restart, and no other traffic needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiosipua import SipRequest, SipResponse

from opendialer.plugins.platform_sip.signalling import SipEndpoint
from opendialer.plugins.platform_sip.transactions import ClientTransaction

log = logging.getLogger("opendialer.plugins.platform_sip.platform")

#: Unanswered requests to the server in a row that put the platform down. One
#: lost request is what UDP and a busy server do now and then; three in a row,
#: with the probe's own OPTIONS among them, is a server that is not there.
DOWN_AFTER = 3
#: Out-of-dialog requests whose silence is the server's (RFC 3261 Timers B and F).
SERVER_METHODS = frozenset({"INVITE", "REGISTER", "OPTIONS"})


def to_the_server(request: SipRequest) -> bool:
    """An INVITE, REGISTER or OPTIONS outside any dialog (its To has no tag)."""
    if request.method.upper() not in SERVER_METHODS:
        return False
    to = request.headers.get_first("to") or ""
    params = to.rpartition(">")[2] if ">" in to else to.partition(";")[2]
    names = {p.partition("=")[0].strip().lower() for p in params.split(";")}
    return "tag" not in names


class ServerHealth:
    """The platform's view of its server; ``on_doubt`` starts the probe."""

    def __init__(self, on_doubt: Callable[[], None], down_after: int = DOWN_AFTER) -> None:
        self._on_doubt = on_doubt
        self.down_after = down_after
        self.unanswered_in_a_row = 0
        self.down_reason: str | None = None
        self.down_since: datetime | None = None

    @property
    def down(self) -> bool:
        return self.down_reason is not None

    @property
    def in_doubt(self) -> bool:
        """The probe should run: something went unanswered since the last answer."""
        return self.down or self.unanswered_in_a_row > 0

    def answered(self) -> None:
        """A message from the server: the count starts again (only the probe brings it up)."""
        if not self.down:
            self.unanswered_in_a_row = 0

    def probe_answered(self) -> None:
        self.unanswered_in_a_row = 0
        if self.down:
            log.info("sip.server_up after=%s", self.down_reason)
            self.down_reason = self.down_since = None

    def unanswered(self, what: str) -> None:
        self.unanswered_in_a_row += 1
        log.info("sip.server_unanswered request=%s in_a_row=%d", what, self.unanswered_in_a_row)
        if self.unanswered_in_a_row >= self.down_after:
            self._go_down(
                f"the SIP server did not answer {self.unanswered_in_a_row} requests in a row "
                f"(last: {what}; RFC 3261 Timer B/F)"
            )
        self._on_doubt()

    def unreachable(self, reason: str) -> None:
        self.unanswered_in_a_row += 1
        self._go_down(reason)
        self._on_doubt()

    def reset(self) -> None:
        """A new endpoint (server or transport changed): nothing is known yet."""
        self.unanswered_in_a_row = 0
        self.down_reason = self.down_since = None

    def _go_down(self, reason: str) -> None:
        if self.down:
            return  # the reason that took it down stays what the screen says
        log.warning("sip.server_down reason=%s", reason)
        self.down_reason = reason
        self.down_since = datetime.now(UTC)


class WatchedEndpoint(SipEndpoint):
    """A :class:`SipEndpoint` that tells ``health`` what became of each request.

    ``watched`` goes False when the platform moves to another endpoint: what is
    lost on the way out (a call finishing, an un-REGISTER to the old server)
    is no longer the platform's health.
    """

    def __init__(self, *, health: ServerHealth, **endpoint: Any) -> None:
        super().__init__(on_server_alive=health.answered, **endpoint)
        self.health = health
        self.watched = True

    def request(
        self,
        request: SipRequest,
        *,
        on_provisional: Callable[[SipResponse], None] | None = None,
        timeout_s: float | None = None,
    ) -> ClientTransaction:
        transaction = super().request(request, on_provisional=on_provisional, timeout_s=timeout_s)
        transaction.final.add_done_callback(partial(self._judge, transaction))
        return transaction

    def _judge(
        self, transaction: ClientTransaction, final: asyncio.Future[SipResponse | None]
    ) -> None:
        if final.cancelled() or self.closed or not self.watched:
            return
        request, method = transaction.request, transaction.method
        if final.result() is not None:
            if method == "OPTIONS" and to_the_server(request):
                self.health.probe_answered()
            else:
                self.health.answered()
        elif to_the_server(request) and not transaction.provisional_seen:
            self.health.unanswered(method)
        else:  # in a dialog, a CANCEL, or an INVITE the server did answer with a 1xx
            handler = self._dialogs.get(request.call_id or "")
            call = getattr(getattr(handler, "request", None), "call_id", None)
            log.warning(
                "sip.call_request_timeout call=%s method=%s sip_call_id=%s "
                "(the call's loss, not the server's: health unchanged)",
                call,
                method,
                request.call_id,
            )
