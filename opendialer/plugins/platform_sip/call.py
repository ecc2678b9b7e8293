"""One outbound call, INVITE to its last BYE/CANCEL, as a small state machine.

(Over 400 lines: the machine below reads top to bottom as the call goes; its
layers — dialog, SDP, transactions, transport framing — are their own modules.)

    INVITE ─1xx─► ringing ─(no-answer timer)─► CANCEL ─487─► NO_ANSWER
       │ 3xx-6xx ─► FINAL_RESPONSE (sip_code)         (Timer B) ─► PLATFORM_ERROR
       │ 300-302 with follow_redirects ─► INVITE to its Contact (hop limit, no loops)
       └ 2xx ─► ACK ─► answer audio ─► AMD verdict ─ hang up ─► BYE ─► AMD_HANGUP
                                        │            └ transfer ─► REFER ─► NOTIFY sipfrag
                                        └ far-end BYE ─► FAR_END_HANGUP      2xx ─► TRANSFERRED
                                                                          else ─► TRANSFER_FAILED
    Over-dialing (``claim_agent`` set): before the REFER, wait for an agent
    (``agent_wait.py``); none ─► safe-harbour message over RTP ─► BYE ─► ABANDONED.
    Voicemail drop (verdict action ``leave_message``, ``voicemail_drop.py``): audio on to
    the message point tracker ─► voicemail message over RTP ─► BYE ─► MESSAGE_LEFT.

The dialog state (Call-ID, tags, CSeq, route set, remote target) is a
:class:`~.dialog.Dialog`; the call answers in-dialog requests the dialog owns
(the endpoint answers 481 to the others), re-ACKs retransmitted 2xx, answers a
re-INVITE with the same SDP, and follows NOTIFY sipfrag progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from aiosipua import SipDigestAuth, SipRequest, SipResponse
from aiosipua.auth import answer_challenge

from opendialer.plugins.platform_sip import agent_wait, voicemail_drop
from opendialer.plugins.platform_sip import outcome_details as details
from opendialer.plugins.platform_sip.amd_streams import AmdStreams, StreamClock
from opendialer.plugins.platform_sip.config import SipAccount, Tunables
from opendialer.plugins.platform_sip.dialog import Dialog, cancel_of
from opendialer.plugins.platform_sip.redirects import redirect_target, uri_key
from opendialer.plugins.platform_sip.refusals import cseq_parts, from_tag
from opendialer.plugins.platform_sip.rtp import RtpEndpoint
from opendialer.plugins.platform_sip.sdp import (
    ANSWER_DIRECTION,
    RemoteMedia,
    answer_media,
    offer_sdp,
    sipfrag_code,
)
from opendialer.plugins.platform_sip.signalling import (
    SipEndpoint,
    make_response,
    stale_challenge,
)
from opendialer.plugins.platform_sip.transactions import ClientTransaction
from opendialer.sdk import (
    AmdDecision,
    AmdLabel,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
    is_dial_string,
)

log = logging.getLogger(__name__)

#: RTP packets (20 ms each) missing from a call's answer audio that end its analysis
#: as NOTSURE. Network loss of a few % misses a packet here and there; a node that
#: fell ~5 s behind loses whole seconds when its sockets' buffers fill
#: (docs/performance.md, "AMD streams on one engine"), and the detector would take
#: what is left for the whole greeting.
AMD_MAX_LOST_PACKETS = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CallSetup:
    endpoint: SipEndpoint
    account: SipAccount
    domain: str
    rtp: RtpEndpoint
    tunables: Tunables
    max_redirects: int = 0  # 3xx a call follows (SipConfig.redirect_hops; 0: none)
    amd_streams: AmdStreams = field(default_factory=AmdStreams)  # the platform's, shared


class SipCall:
    """Runs one :class:`CallRequest`; ``run()`` returns its outcome and never raises."""

    def __init__(self, request: CallRequest, setup: CallSetup) -> None:
        self.request = request
        self.setup = setup
        self.endpoint = setup.endpoint
        self.rtp = setup.rtp
        domain = setup.domain
        caller = request.caller_id or setup.account.user
        self.dialog = Dialog(
            local_uri=f"sip:{caller}@{domain}", remote_uri=f"sip:{request.number}@{domain}"
        )
        self.ended_by_far_end = asyncio.Event()
        self.decision: asyncio.Future[AmdDecision] = asyncio.get_running_loop().create_future()
        self.notifies: asyncio.Queue[int] = asyncio.Queue()
        self.amd_clock: StreamClock | None = None  # while and after AMD listened
        # The INVITE's Request-URI: the called number, or where a 3xx redirected it
        # (the To header keeps naming the called number, §8.1.3.4).
        self.request_uri = self.dialog.remote_uri
        self.invite: SipRequest | None = None
        self.ack: SipRequest | None = None
        self._sdp_session = int(time.time())
        self._sdp_version = self._sdp_session
        self.created_at = utcnow()
        self.answered_at: datetime | None = None

    # ------------------------------------------------------------ requests

    @property
    def confirmed(self) -> bool:
        return self.dialog.confirmed

    def _new_request(self, method: str, *, in_dialog: bool) -> SipRequest:
        return self.dialog.request(
            method,
            in_dialog=in_dialog,
            via=self.endpoint.via(),
            contact=self.endpoint.contact(self.setup.account.user),
            user_agent=self.setup.tunables.user_agent,
        )

    def _build_invite(self, authorization: tuple[str, str] | None = None) -> SipRequest:
        invite = self._new_request("INVITE", in_dialog=False)
        invite.uri = self.request_uri
        if self.request.caller_id:
            invite.headers.set_single("P-Asserted-Identity", f"<{self.dialog.local_uri}>")
        invite.headers.set_single("Allow", "INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS")
        invite.headers.set_single("Content-Type", "application/sdp")
        if authorization:
            invite.headers.set_single(*authorization)
        invite.text = self._sdp()
        return invite

    def _sdp(self, direction: str = "sendrecv") -> str:
        return offer_sdp(
            self.endpoint.advertised_host,
            self.rtp.port,
            self._sdp_session,
            self._sdp_version,
            direction,
        )

    def _use_media(self, media: RemoteMedia) -> None:
        self.rtp.expect(media.address, media.payload_type, media.receives)

    # ------------------------------------------------------------ the call

    async def run(self) -> CallOutcome:
        self.endpoint.add_dialog(self.dialog.call_id, self)
        try:
            return await self._run()
        except Exception as exc:  # a bug must not cost the engine its call loop
            log.exception("sip.call_error call=%s", self.request.call_id)
            if self.confirmed and not self.ended_by_far_end.is_set():
                await self.send_bye()
            return self.outcome(CallDisposition.UNKNOWN, detail=f"internal error: {exc!r}")
        finally:
            self.rtp.close()
            # keep the dialog a moment longer so late retransmissions get answers
            asyncio.get_running_loop().call_later(
                self.endpoint.timers.t4, self.endpoint.remove_dialog, self.dialog.call_id
            )

    def _unsafe(self) -> str:
        """Why a value of the request cannot go into a SIP header ('' when all can).

        The services refuse such values since they check them (phones.dial_string);
        rows stored before that, or a plugin's request, are refused here, not sent."""
        checks = (
            ("number", self.request.number, False),
            ("caller_id", self.request.caller_id or "", False),
            ("pilot number (transfer target)", self.request.transfer_to, True),
        )
        for name, value, keys in checks:
            if value and not is_dial_string(value, keys=keys):
                return (
                    f"refused to dial: the {name} {value!r} cannot go into a SIP header "
                    "(digits with an optional leading + only); fix the campaign"
                )
        return ""

    async def _run(self) -> CallOutcome:
        unsafe = self._unsafe()
        if unsafe:
            log.error("sip.call_refused call=%s %s", self.request.call_id, unsafe)
            return self.outcome(CallDisposition.PLATFORM_ERROR, detail=unsafe)
        response, cancelled = await self._invite()
        if response is None:
            if cancelled:
                return self.outcome(CallDisposition.NO_ANSWER, detail="CANCEL got no answer")
            return self.outcome(
                CallDisposition.PLATFORM_ERROR, detail_code=details.INVITE_UNANSWERED
            )
        code = response.status_code
        if code >= 300:
            if cancelled and code == 487:
                return self.outcome(
                    CallDisposition.NO_ANSWER,
                    sip_code=code,
                    sip_reason=response.reason_phrase,
                    detail_code=details.NO_ANSWER,
                    detail_params={"s": f"{self.request.no_answer_timeout_s:g}"},
                )
            return self.outcome(
                CallDisposition.FINAL_RESPONSE, sip_code=code, sip_reason=response.reason_phrase
            )
        self._confirm(response)
        if cancelled:  # 200 crossed our CANCEL: the callee answered too late
            await self.send_bye()
            return self.outcome(
                CallDisposition.NO_ANSWER, sip_code=code, detail="answered after CANCEL; hung up"
            )
        self.answered_at = utcnow()
        if self.request.on_answered is not None:
            with contextlib.suppress(Exception):
                self.request.on_answered(self.answered_at)
        return await self._answered(response)

    async def _invite(self) -> tuple[SipResponse | None, bool]:
        """Send the INVITE, following 3xx redirects as far as the platform allows
        (``max_redirects``, never to a URI already tried); return (final, cancelled).

        Each redirect is a new INVITE transaction in the same Call-ID and From
        tag with the next CSeq (§8.1.3.4), through the same server; its ring time
        starts afresh. A redirect that is not followed ends the call with it."""
        tried = {uri_key(self.request_uri)}
        hops = 0
        while True:
            response, cancelled = await self._invite_target()
            if response is None or cancelled or not self.setup.max_redirects:
                return response, cancelled
            target = redirect_target(response)
            if target is None:
                return response, cancelled
            why = ""
            if hops >= self.setup.max_redirects:
                why = f"limit of {self.setup.max_redirects} reached"
            elif uri_key(target) in tried:
                why = "a URI already tried (loop)"
            if why:
                log.info(
                    "sip.redirect_not_followed call=%s code=%s to=%s: %s",
                    self.request.call_id,
                    response.status_code,
                    target,
                    why,
                )
                return response, cancelled
            hops += 1
            tried.add(uri_key(target))
            log.info(
                "sip.redirect call=%s code=%s to=%s hop=%d",
                self.request.call_id,
                response.status_code,
                target,
                hops,
            )
            self.rtp.stop_sending()  # early media of the old target ends with it
            self.request_uri = target

    async def _invite_target(self) -> tuple[SipResponse | None, bool]:
        """INVITE ``request_uri`` (answering one digest challenge, and once more one that
        says its nonce went stale); (final, cancelled)."""
        authorization: tuple[str, str] | None = None
        for attempt in range(3):
            invite = self._build_invite(authorization)
            self.invite = invite
            ringing = _Ringing(self, invite)
            transaction = self.endpoint.request(invite, on_provisional=ringing.provisional)
            ringing.transaction = transaction
            timer = asyncio.get_running_loop().call_later(
                self.request.no_answer_timeout_s, ringing.no_answer
            )
            try:
                response = await transaction.final
            finally:
                timer.cancel()
            if (
                response is not None
                and response.status_code in (401, 407)
                and (attempt == 0 or (attempt == 1 and stale_challenge(response)))
            ):
                account = self.setup.account
                authorization = answer_challenge(
                    SipDigestAuth(account.auth_user, account.password),
                    response,
                    response.status_code,
                    "INVITE",
                    invite.uri,
                )
                if authorization is not None and not ringing.cancelled:
                    continue
            return response, ringing.cancelled
        raise AssertionError("unreachable")

    def _early_media(self, response: SipResponse) -> None:
        if response.body and "sdp" in (response.content_type or "").lower():
            media = answer_media(response.text)
            if media is not None:
                self._use_media(media)
                if self.setup.tunables.rtp_send == "early":
                    self.rtp.start_sending()

    def _confirm(self, response: SipResponse) -> None:
        self.dialog.confirm(response)
        self.ack = self._new_request("ACK", in_dialog=True)
        seq = (response.headers.get_first("cseq") or "1").split()[0]
        self.ack.headers.set_single("CSeq", f"{seq} ACK")
        self.endpoint.send_message(self.ack)
        media = answer_media(response.text) if response.body else None
        if media is not None:
            self._use_media(media)
        if self.setup.tunables.rtp_send != "off":
            self.rtp.start_sending()  # to the answer's address, or the early media one

    async def _answered(self, response: SipResponse) -> CallOutcome:
        decision: AmdDecision | None = None
        session = self.request.amd_session
        if session is not None:
            decision = await self._analyse()
            if decision is None:
                return self.outcome(
                    CallDisposition.FAR_END_HANGUP,
                    sip_code=response.status_code,
                    detail_code=details.HUNG_UP_DURING_AMD,
                )
            try:
                action = self.request.on_verdict(decision)
            except Exception:
                log.exception("sip.on_verdict_error call=%s", self.request.call_id)
                action = CallAction.HANGUP
            if action is CallAction.LEAVE_MESSAGE:
                return await voicemail_drop.leave_message(self, response.status_code, decision)
            if action is not CallAction.TRANSFER:
                await self.send_bye()
                return self.outcome(
                    CallDisposition.AMD_HANGUP, sip_code=response.status_code, amd=decision
                )
        if self.request.claim_agent is not None:  # over-dialed: no agent held yet
            claimed = await agent_wait.wait_for_agent(self)
            if claimed is None:
                return self.outcome(
                    CallDisposition.FAR_END_HANGUP,
                    sip_code=response.status_code,
                    amd=decision,
                    detail_code=details.HUNG_UP_WAITING_FOR_AGENT,
                )
            if not claimed:
                return await agent_wait.abandon(self, response.status_code, decision)
        return await self._transfer(response, decision)

    async def _analyse(self) -> AmdDecision | None:
        """Feed answer audio to AMD until it decides; None if the far end hung up first."""
        session = self.request.amd_session
        assert session is not None
        streams = self.setup.amd_streams
        clock = self.amd_clock = StreamClock(streams)

        lost_before = self.rtp.lost

        def feed(pcm: npt.NDArray[np.int16]) -> None:
            if self.decision.done():
                return
            lost = self.rtp.lost - lost_before
            if lost >= AMD_MAX_LOST_PACKETS:
                # the detector would judge a greeting with holes it cannot see (a beep
                # lost, a pause made shorter): no verdict is better than a wrong one
                fed_ms = 1000 * (clock.samples + len(pcm)) / 8000
                verdict: AmdDecision | None = AmdDecision(
                    AmdLabel.NOTSURE,
                    fed_ms,
                    f"audio lost: {lost} RTP packets ({20 * lost} ms) missing from the analysis",
                )
            else:
                try:
                    verdict = session.feed(pcm)
                except Exception as exc:
                    log.exception("sip.amd_feed_error call=%s", self.request.call_id)
                    verdict = AmdDecision(AmdLabel.NOTSURE, 0.0, f"detector error: {exc!r}")
            clock.fed(len(pcm))
            if verdict is not None:
                clock.decided(verdict.decision_ms)
                self.decision.set_result(verdict)
                self.rtp.stop_decoding()

        self.rtp.start(feed)
        bye: asyncio.Future[object] = asyncio.ensure_future(self.ended_by_far_end.wait())
        waiters: set[asyncio.Future[object]] = {self.decision, bye}  # type: ignore[arg-type]
        streams.active += 1
        try:
            await asyncio.wait(
                waiters,
                timeout=self.setup.tunables.amd_max_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            streams.active -= 1
            bye.cancel()
            self.rtp.stop_decoding()
        if self.decision.done():
            return self.decision.result()
        if self.ended_by_far_end.is_set():
            return None
        try:
            return session.finish()  # no decision in time (or no RTP at all)
        except Exception as exc:
            return AmdDecision(AmdLabel.NOTSURE, 0.0, f"detector error: {exc!r}")

    async def _transfer(self, answer: SipResponse, decision: AmdDecision | None) -> CallOutcome:
        # The far end is about to call the pilot: our silence has done its job.
        self.rtp.stop_sending()
        refer = self._new_request("REFER", in_dialog=True)
        pilot = f"sip:{self.request.transfer_to}@{self.setup.domain}"
        refer.headers.set_single("Refer-To", f"<{pilot}>")
        refer.headers.set_single("Referred-By", f"<{self.dialog.local_uri}>")
        response = await self.endpoint.request(refer).final
        if self.ended_by_far_end.is_set():
            return self.outcome(
                CallDisposition.FAR_END_HANGUP, sip_code=answer.status_code, amd=decision
            )
        if response is None or response.status_code >= 300:
            await self.send_bye()
            return self.outcome(
                CallDisposition.TRANSFER_FAILED,
                sip_code=answer.status_code,
                amd=decision,
                transfer_code=response.status_code if response else None,
                detail_code=details.REFER_REFUSED if response else details.REFER_UNANSWERED,
            )
        final = await self._await_transfer_result()
        if final is None and self.ended_by_far_end.is_set():
            return self.outcome(
                CallDisposition.FAR_END_HANGUP,
                sip_code=answer.status_code,
                amd=decision,
                detail_code=details.HUNG_UP_BEFORE_RESULT,
            )
        if not self.ended_by_far_end.is_set():
            await self.send_bye()
        ok = final is not None and 200 <= final < 300
        return self.outcome(
            CallDisposition.TRANSFERRED if ok else CallDisposition.TRANSFER_FAILED,
            sip_code=answer.status_code,
            amd=decision,
            transfer_code=final,
            detail_code=None if final is not None else details.NOTIFY_TIMEOUT,
        )

    async def _await_transfer_result(self) -> int | None:
        deadline = asyncio.get_running_loop().time() + self.setup.tunables.transfer_timeout_s
        bye = asyncio.ensure_future(self.ended_by_far_end.wait())
        try:
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    return None
                notify = asyncio.ensure_future(self.notifies.get())
                done, _ = await asyncio.wait(
                    {notify, bye}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if notify not in done:
                    notify.cancel()
                    return None
                code = notify.result()
                if code >= 200:
                    return code
        finally:
            bye.cancel()

    async def send_bye(self) -> None:
        if not self.confirmed or self.ended_by_far_end.is_set():
            return
        self.rtp.stop_sending()
        bye = self._new_request("BYE", in_dialog=True)
        self.dialog.confirmed = False
        await self.endpoint.request(bye).final

    def outcome(self, disposition: CallDisposition, **fields: object) -> CallOutcome:
        return CallOutcome(
            disposition=disposition,
            port=self.setup.account.user,
            created_at=self.created_at,
            ended_at=utcnow(),
            answered_at=self.answered_at,
            **fields,  # type: ignore[arg-type]
        )

    # ------------------------------------------------------------ from the far end

    def owns(self, request: SipRequest) -> bool:
        return self.dialog.owns(request)

    def handle_request(self, request: SipRequest, reply: Callable[[SipResponse], None]) -> None:
        """A request of this dialog (the endpoint answered 481 to any other, §12.2.2)."""
        method = request.method.upper()
        if method == "ACK":
            return
        if method == "BYE":
            reply(make_response(request, 200, "OK"))
            self.dialog.confirmed = False
            self.ended_by_far_end.set()
            self.rtp.stop_decoding()
            self.rtp.stop_sending()
        elif method == "NOTIFY":
            reply(make_response(request, 200, "OK"))
            if (request.headers.get_first("event") or "").lower().startswith("refer"):
                code = sipfrag_code(request.text)
                if code is not None:
                    self.notifies.put_nowait(code)
        elif method == "INVITE":  # re-INVITE (hold, session refresh, media change)
            media = answer_media(request.text) if request.body else None
            if media is not None:
                self._use_media(media)  # a new address or codec takes effect next frame
            ok = make_response(request, 200, "OK")
            ok.headers.set_single("Contact", self.endpoint.contact(self.setup.account.user))
            ok.headers.set_single("Content-Type", "application/sdp")
            self._sdp_version += 1
            ok.text = self._sdp(ANSWER_DIRECTION[media.direction] if media else "sendrecv")
            reply(ok)
        elif method in ("OPTIONS", "INFO", "UPDATE"):
            reply(make_response(request, 200, "OK"))
        elif method == "CANCEL":
            reply(make_response(request, 481, "Call/Transaction Does Not Exist"))
        else:
            reply(make_response(request, 501, "Not Implemented"))

    def handle_stray_response(self, response: SipResponse) -> bool:
        """A response to our INVITE after its transaction ended (on its final response).

        A 2xx: the ACK was lost, send it again. A 1xx: a provisional overtaken by the
        final response — a proxy forwarding them from different worker processes
        (Kamailio over TCP) delivers them out of order —, late and of no use:
        absorbed. Only a response to our INVITE — its CSeq and From tag — is taken;
        anything else with our Call-ID is not this dialog's (False: refused)."""
        invite, ack = self.invite, self.ack
        kind = response.status_code // 100
        if invite is None or kind not in (1, 2) or (kind == 2 and ack is None):
            return False
        if cseq_parts(response) != cseq_parts(invite) or from_tag(response) != from_tag(invite):
            return False
        if ack is not None and kind == 2:
            self.endpoint.send_message(ack)
        return True


class _Ringing:
    """The no-answer timer against provisional responses: CANCEL only after a 1xx (§9.1)."""

    def __init__(self, call: SipCall, invite: SipRequest) -> None:
        self.call = call
        self.invite = invite
        self.transaction: ClientTransaction | None = None
        self.ringing = False
        self.cancel_due = False
        self.cancelled = False

    def provisional(self, response: SipResponse) -> None:
        self.ringing = True
        self.call._early_media(response)
        if self.cancel_due:
            self.cancel()

    def no_answer(self) -> None:
        self.cancel_due = True
        if self.ringing:
            self.cancel()

    def cancel(self) -> None:
        if self.cancelled or self.transaction is None or self.transaction.final.done():
            return
        self.cancelled = True
        self.call.rtp.stop_sending()
        endpoint = self.call.endpoint
        endpoint.request(cancel_of(self.invite))
        self.transaction.extend_timeout(endpoint.timers.timeout)
