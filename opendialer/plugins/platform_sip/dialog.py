"""A SIP dialog (RFC 3261 §12): the state two user agents share for one call.

Call-ID, local and remote tags, local CSeq, route set and remote target; built
for our INVITE (UAC side, §12.1.2) and confirmed by its 2xx. Every request of
the call is made here (:meth:`Dialog.request`: in-dialog ones go to the remote
target through the route set, §12.2.1.1), and an incoming request belongs to
the dialog only when its tags match (:meth:`Dialog.owns`; otherwise 481).
What the call *does* with the dialog — media, AMD, transfer — is ``call.py``'s.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from aiosipua import Address, SipRequest, SipResponse, stringify_uri

from opendialer.plugins.platform_sip.signalling import new_tag


def uri_text(address: Address) -> str:
    """``user@host:port;params`` of a parsed Contact."""
    return stringify_uri(address.uri).split(":", 1)[1]


@dataclass(slots=True)
class Dialog:
    """One dialog, from the INVITE we send (early: no remote tag yet) to its end."""

    local_uri: str
    remote_uri: str
    call_id: str = field(default_factory=lambda: f"{secrets.token_hex(10)}@opendialer")
    local_tag: str = field(default_factory=new_tag)
    remote_tag: str = ""
    remote_target: str = ""  # the far end's Contact once confirmed (§12.1.2)
    route_set: list[str] = field(default_factory=list)
    cseq: int = field(default_factory=lambda: secrets.randbelow(10000) + 1)
    confirmed: bool = False

    def __post_init__(self) -> None:
        if not self.remote_target:
            self.remote_target = self.remote_uri

    def request(
        self, method: str, *, in_dialog: bool, via: str, contact: str, user_agent: str
    ) -> SipRequest:
        """A request of this dialog; a new CSeq except for ACK (§12.2.1.1, §13.2.2.4)."""
        uri = self.remote_target if in_dialog else self.remote_uri
        request = SipRequest(method=method, uri=uri)
        request.headers.append("Via", via)
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
        request.headers.set_single("Contact", contact)
        request.headers.set_single("User-Agent", user_agent)
        return request

    def confirm(self, response: SipResponse) -> None:
        """The 2xx to our INVITE: remote tag, remote target and route set (§12.1.2)."""
        to = response.to_addr
        self.remote_tag = (to.tag if to else None) or ""
        contacts = response.contact
        if contacts:
            self.remote_target = f"sip:{uri_text(contacts[0])}"
        self.route_set = list(reversed(response.headers.get("record-route")))
        self.confirmed = True

    def owns(self, request: SipRequest) -> bool:
        """Whether an incoming request's tags are this dialog's (§12.2.2)."""
        to, sender = request.to_addr, request.from_addr
        to_tag = to.tag if to else None
        return to_tag == self.local_tag and not (
            self.remote_tag and sender is not None and sender.tag != self.remote_tag
        )


def cancel_of(invite: SipRequest) -> SipRequest:
    """The CANCEL of ``invite``: same Via branch, From, To, Call-ID and CSeq number (§9.1)."""
    cancel = SipRequest(method="CANCEL", uri=invite.uri)
    cancel.headers.append("Via", invite.headers.get_first("via") or "")
    for name in ("From", "To", "Call-ID"):
        cancel.headers.set_single(name, invite.headers.get_first(name) or "")
    seq = (invite.headers.get_first("cseq") or "1").split()[0]
    cancel.headers.set_single("CSeq", f"{seq} CANCEL")
    cancel.headers.set_single("Max-Forwards", "70")
    return cancel
