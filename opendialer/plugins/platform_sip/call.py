"""One outbound call, INVITE to its last BYE/CANCEL, as a small state machine.

    INVITE ─1xx─► ringing ─(no-answer timer)─► CANCEL ─487─► NO_ANSWER
       │ 3xx-6xx ─► FINAL_RESPONSE (sip_code)         (Timer B) ─► PLATFORM_ERROR
       └ 2xx ─► ACK ─► answer audio ─► AMD verdict ─ hang up ─► BYE ─► AMD_HANGUP
                                        │            └ transfer ─► REFER ─► NOTIFY sipfrag
                                        └ far-end BYE ─► FAR_END_HANGUP      2xx ─► TRANSFERRED
                                                                          else ─► TRANSFER_FAILED

The dialog is ours (not aiosipua's): it answers in-dialog requests with the
right tags (481 for a wrong To tag), re-ACKs retransmitted 2xx, answers a
re-INVITE with the same SDP, and follows NOTIFY sipfrag progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt
from aiosipua import Address, SipDigestAuth, SipRequest, SipResponse, parse_sdp, stringify_uri
from aiosipua.auth import answer_challenge

from opendialer.core.contracts import (
    AmdDecision,
    AmdLabel,
    CallAction,
    CallDisposition,
    CallOutcome,
    CallRequest,
)
from opendialer.core.services.phones import is_dial_string
from opendialer.plugins.platform_sip.config import SipAccount, Tunables
from opendialer.plugins.platform_sip.rtp import RtpEndpoint
from opendialer.plugins.platform_sip.signalling import (
    SipEndpoint,
    make_response,
    new_tag,
)
from opendialer.plugins.platform_sip.transactions import ClientTransaction

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def offer_sdp(
    host: str, rtp_port: int, session: int, version: int, direction: str = "sendrecv"
) -> str:
    return (
        "v=0\r\n"
        f"o=opendialer {session} {version} IN IP4 {host}\r\n"
        "s=OpenDialer\r\n"
        f"c=IN IP4 {host}\r\n"
        "t=0 0\r\n"
        f"m=audio {rtp_port} RTP/AVP 0 8 101\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=ptime:20\r\n"
        f"a={direction}\r\n"
    )


DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
#: The direction we answer to the far end's offered one (RFC 3264 §6.1).
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


@dataclass(frozen=True, slots=True)
class RemoteMedia:
    """The far end's audio from its SDP: where to send, which codec, whether it listens."""

    address: tuple[str, int]
    payload_type: int
    direction: str = "sendrecv"

    @property
    def receives(self) -> bool:
        """False on hold (``sendonly``/``inactive``, or the old ``c=0.0.0.0`` form)."""
        return self.direction in ("sendrecv", "recvonly") and self.address[0] != "0.0.0.0"


def answer_media(body: str) -> RemoteMedia | None:
    """The far end's RTP address, G.711 payload type and direction from its SDP, or None."""
    try:
        sdp = parse_sdp(body)
    except Exception:
        return None
    address = sdp.rtp_address
    audio = sdp.audio
    if address is None or audio is None or address[1] == 0:
        return None
    direction = next((d for d in DIRECTIONS if d in audio.attributes), None) or next(
        (d for d in DIRECTIONS if d in sdp.attributes), "sendrecv"
    )
    for fmt in audio.formats:
        if fmt in ("0", "8"):
            return RemoteMedia(address, int(fmt), direction)
    return None


def sipfrag_code(body: str) -> int | None:
    """``SIP/2.0 200 OK`` → 200."""
    first = body.strip().split("\r\n", 1)[0].split("\n", 1)[0].split()
    if len(first) >= 2 and first[0].upper().startswith("SIP/") and first[1].isdigit():
        return int(first[1])
    return None


@dataclass
class CallSetup:
    endpoint: SipEndpoint
    account: SipAccount
    domain: str
    rtp: RtpEndpoint
    tunables: Tunables


class SipCall:
    """Runs one :class:`CallRequest`; ``run()`` returns its outcome and never raises."""

    def __init__(self, request: CallRequest, setup: CallSetup) -> None:
        self.request = request
        self.setup = setup
        self.endpoint = setup.endpoint
        self.rtp = setup.rtp
        domain = setup.domain
        self.call_id = f"{secrets.token_hex(10)}@opendialer"
        self.local_tag = new_tag()
        caller = request.caller_id or setup.account.user
        self.local_uri = f"sip:{caller}@{domain}"
        self.remote_uri = f"sip:{request.number}@{domain}"
        self.remote_tag = ""
        self.remote_target = self.remote_uri
        self.route_set: list[str] = []
        self.cseq = secrets.randbelow(10000) + 1
        self.confirmed = False
        self.ended_by_far_end = asyncio.Event()
        self.decision: asyncio.Future[AmdDecision] = asyncio.get_running_loop().create_future()
        self.notifies: asyncio.Queue[int] = asyncio.Queue()
        self.invite: SipRequest | None = None
        self.ack: SipRequest | None = None
        self._sdp_session = int(time.time())
        self._sdp_version = self._sdp_session
        self.created_at = utcnow()
        self.answered_at: datetime | None = None

    # ------------------------------------------------------------ requests

    def _new_request(self, method: str, *, in_dialog: bool) -> SipRequest:
        uri = self.remote_target if in_dialog else self.remote_uri
        request = SipRequest(method=method, uri=uri)
        request.headers.append("Via", self.endpoint.via())
        request.headers.set_single("Max-Forwards", "70")
        request.headers.set_single("From", f"<{self.local_uri}>;tag={self.local_tag}")
        to = f"<{self.remote_uri}>" + (f";tag={self.remote_tag}" if self.remote_tag else "")
        request.headers.set_single("To", to)
        request.headers.set_single("Call-ID", self.call_id)
        if method != "ACK":
            self.cseq += 1
        request.headers.set_single("CSeq", f"{self.cseq} {method}")
        for route in self.route_set if in_dialog else []:
            request.headers.append("Route", route)
        request.headers.set_single("Contact", self.endpoint.contact(self.setup.account.user))
        request.headers.set_single("User-Agent", self.setup.tunables.user_agent)
        return request

    def _build_invite(self, authorization: tuple[str, str] | None = None) -> SipRequest:
        invite = self._new_request("INVITE", in_dialog=False)
        if self.request.caller_id:
            invite.headers.set_single("P-Asserted-Identity", f"<{self.local_uri}>")
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

    def _cancel_request(self, invite: SipRequest) -> SipRequest:
        cancel = SipRequest(method="CANCEL", uri=invite.uri)
        cancel.headers.append("Via", invite.headers.get_first("via") or "")
        for name in ("From", "To", "Call-ID"):
            cancel.headers.set_single(name, invite.headers.get_first(name) or "")
        seq = (invite.headers.get_first("cseq") or "1").split()[0]
        cancel.headers.set_single("CSeq", f"{seq} CANCEL")
        cancel.headers.set_single("Max-Forwards", "70")
        return cancel

    # ------------------------------------------------------------ the call

    async def run(self) -> CallOutcome:
        self.endpoint.add_dialog(self.call_id, self)
        try:
            return await self._run()
        except Exception as exc:  # a bug must not cost the engine its call loop
            log.exception("sip.call_error call=%s", self.request.call_id)
            if self.confirmed and not self.ended_by_far_end.is_set():
                await self._bye()
            return self._outcome(CallDisposition.UNKNOWN, detail=f"internal error: {exc!r}")
        finally:
            self.rtp.close()
            # keep the dialog a moment longer so late retransmissions get answers
            asyncio.get_running_loop().call_later(
                self.endpoint.timers.t4, self.endpoint.remove_dialog, self.call_id
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
            return self._outcome(CallDisposition.PLATFORM_ERROR, detail=unsafe)
        response, cancelled = await self._invite()
        if response is None:
            if cancelled:
                return self._outcome(CallDisposition.NO_ANSWER, detail="CANCEL got no answer")
            return self._outcome(
                CallDisposition.PLATFORM_ERROR, detail="the SIP server did not answer the INVITE"
            )
        code = response.status_code
        if code >= 300:
            if cancelled and code == 487:
                return self._outcome(
                    CallDisposition.NO_ANSWER,
                    sip_code=code,
                    sip_reason=response.reason_phrase,
                    detail=f"no answer after {self.request.no_answer_timeout_s:g} s",
                )
            return self._outcome(
                CallDisposition.FINAL_RESPONSE, sip_code=code, sip_reason=response.reason_phrase
            )
        self._confirm(response)
        if cancelled:  # 200 crossed our CANCEL: the callee answered too late
            await self._bye()
            return self._outcome(
                CallDisposition.NO_ANSWER, sip_code=code, detail="answered after CANCEL; hung up"
            )
        self.answered_at = utcnow()
        if self.request.on_answered is not None:
            with contextlib.suppress(Exception):
                self.request.on_answered(self.answered_at)
        return await self._answered(response)

    async def _invite(self) -> tuple[SipResponse | None, bool]:
        """Send the INVITE (answering one digest challenge); return (final, cancelled)."""
        authorization: tuple[str, str] | None = None
        for attempt in range(2):
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
            if response is not None and response.status_code in (401, 407) and attempt == 0:
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
        to = response.to_addr
        self.remote_tag = (to.tag if to else None) or ""
        contacts = response.contact
        if contacts:
            self.remote_target = f"sip:{_uri_text(contacts[0])}"
        self.route_set = list(reversed(response.headers.get("record-route")))
        self.confirmed = True
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
                return self._outcome(
                    CallDisposition.FAR_END_HANGUP,
                    sip_code=response.status_code,
                    detail="far end hung up during answering-machine detection",
                )
            try:
                action = self.request.on_verdict(decision)
            except Exception:
                log.exception("sip.on_verdict_error call=%s", self.request.call_id)
                action = CallAction.HANGUP
            if action is not CallAction.TRANSFER:
                await self._bye()
                return self._outcome(
                    CallDisposition.AMD_HANGUP, sip_code=response.status_code, amd=decision
                )
        return await self._transfer(response, decision)

    async def _analyse(self) -> AmdDecision | None:
        """Feed answer audio to AMD until it decides; None if the far end hung up first."""
        session = self.request.amd_session
        assert session is not None

        def feed(pcm: npt.NDArray[np.int16]) -> None:
            if self.decision.done():
                return
            try:
                verdict = session.feed(pcm)
            except Exception as exc:
                log.exception("sip.amd_feed_error call=%s", self.request.call_id)
                verdict = AmdDecision(AmdLabel.NOTSURE, 0.0, f"detector error: {exc!r}")
            if verdict is not None:
                self.decision.set_result(verdict)
                self.rtp.stop_decoding()

        self.rtp.start(feed)
        bye: asyncio.Future[object] = asyncio.ensure_future(self.ended_by_far_end.wait())
        waiters: set[asyncio.Future[object]] = {self.decision, bye}  # type: ignore[arg-type]
        try:
            await asyncio.wait(
                waiters,
                timeout=self.setup.tunables.amd_max_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
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
        refer.headers.set_single("Referred-By", f"<{self.local_uri}>")
        response = await self.endpoint.request(refer).final
        if self.ended_by_far_end.is_set():
            return self._outcome(
                CallDisposition.FAR_END_HANGUP, sip_code=answer.status_code, amd=decision
            )
        if response is None or response.status_code >= 300:
            await self._bye()
            return self._outcome(
                CallDisposition.TRANSFER_FAILED,
                sip_code=answer.status_code,
                amd=decision,
                transfer_code=response.status_code if response else None,
                detail="REFER refused" if response else "REFER got no answer",
            )
        final = await self._await_transfer_result()
        if final is None and self.ended_by_far_end.is_set():
            return self._outcome(
                CallDisposition.FAR_END_HANGUP,
                sip_code=answer.status_code,
                amd=decision,
                detail="far end hung up before the transfer reported a result",
            )
        if not self.ended_by_far_end.is_set():
            await self._bye()
        ok = final is not None and 200 <= final < 300
        return self._outcome(
            CallDisposition.TRANSFERRED if ok else CallDisposition.TRANSFER_FAILED,
            sip_code=answer.status_code,
            amd=decision,
            transfer_code=final,
            detail="" if final is not None else "no final NOTIFY in time",
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

    async def _bye(self) -> None:
        if not self.confirmed or self.ended_by_far_end.is_set():
            return
        self.rtp.stop_sending()
        bye = self._new_request("BYE", in_dialog=True)
        self.confirmed = False
        await self.endpoint.request(bye).final

    def _outcome(self, disposition: CallDisposition, **fields: object) -> CallOutcome:
        return CallOutcome(
            disposition=disposition,
            port=self.setup.account.user,
            created_at=self.created_at,
            ended_at=utcnow(),
            answered_at=self.answered_at,
            **fields,  # type: ignore[arg-type]
        )

    # ------------------------------------------------------------ from the far end

    def handle_request(self, request: SipRequest, reply: Callable[[SipResponse], None]) -> None:
        method = request.method.upper()
        to, sender = request.to_addr, request.from_addr
        to_tag = to.tag if to else None
        if to_tag != self.local_tag or (
            self.remote_tag and sender is not None and sender.tag != self.remote_tag
        ):
            if method != "ACK":
                reply(make_response(request, 481, "Call/Transaction Does Not Exist"))
            return
        if method == "ACK":
            return
        if method == "BYE":
            reply(make_response(request, 200, "OK"))
            self.confirmed = False
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

    def handle_stray_response(self, response: SipResponse) -> None:
        """A 2xx to our INVITE after its transaction ended: the ACK was lost, send it again."""
        if (
            response.status_code // 100 == 2
            and (response.headers.get_first("cseq") or "").upper().endswith("INVITE")
            and self.ack is not None
        ):
            self.endpoint.send_message(self.ack)


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
        endpoint.request(self.call._cancel_request(self.invite))
        self.transaction.extend_timeout(endpoint.timers.timeout)


def _uri_text(address: Address) -> str:
    """``user@host:port;params`` of a parsed Contact."""
    return stringify_uri(address.uri).split(":", 1)[1]
