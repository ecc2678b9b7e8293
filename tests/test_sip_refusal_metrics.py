"""``opendialer_sip_messages_refused_total{reason}``: what the SIP stack refused, scraped.

A scripted UDP far end (as in ``test_sip_malformed.py``) sends, during one call
it rejects busy, one or more messages of each kind the endpoint refuses; the
engine's ``/metrics`` must then count exactly those, per reason — and the call
must still end BUSY, so none of them was acted on."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aiosipua import SipRequest, SipResponse
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import Behaviour, ScriptedUas, reply
from test_metrics import Samples, scrape, scraped_app, series

from opendialer.core.engine.engine import Engine
from opendialer.core.storage import Database
from opendialer.sdk.contracts import CallDisposition

pytestmark = pytest.mark.timeout(60)

REFUSED = "opendialer_sip_messages_refused_total"
FAST = {"t1_s": 0.1, "t4_s": 0.5}


def _ok(uas: ScriptedUas, invite: SipRequest, edit: Callable[[SipResponse], None]) -> bytes:
    """A 200 OK to ``invite`` spoiled by ``edit``."""
    ok = reply(invite, 200, "OK", uas.tag)
    ok.headers.set_single("Contact", f"<sip:far@127.0.0.1:{uas.port}>")
    edit(ok)
    return bytes(ok)


def _other_branch(ok: SipResponse) -> None:
    via = ok.headers.get_first("via") or ""
    ok.headers.set_single("Via", re.sub(r"branch=[^;]+", "branch=z9hG4bKnobody", via))


# Sent on the INVITE, before the 486: reason → the messages that must be refused for it.
# (Unparsable: more header lines than the parser takes.)
BEFORE_THE_486: dict[str, list[Callable[[ScriptedUas, SipRequest], bytes]]] = {
    "bad_start_line": [
        lambda uas, invite: b"HELLO WORLD\r\n\r\n",
        lambda uas, invite: b"SIP/2.0 banana\r\n\r\n",
        lambda uas, invite: b"\x00\xff" * 50,
    ],
    "unparsable": [lambda uas, invite: b"SIP/2.0 200 OK\r\n" + b"X-A: 1\r\n" * 300 + b"\r\n"],
    "missing_header": [
        lambda uas, invite: _ok(uas, invite, lambda ok: ok.headers.remove("Call-ID")),
        lambda uas, invite: _ok(uas, invite, lambda ok: ok.headers.remove("CSeq")),
    ],
    "bad_header": [
        lambda uas, invite: _ok(uas, invite, lambda ok: ok.headers.set_single("CSeq", "x INVITE"))
    ],
    "not_the_request": [
        lambda uas, invite: _ok(uas, invite, lambda ok: ok.headers.set_single("Call-ID", "a@b"))
    ],
    "no_transaction": [lambda uas, invite: _ok(uas, invite, _other_branch)],
}


def refused_by_reason(samples: Samples) -> dict[str, float]:
    return {dict(labels)["reason"]: v for labels, v in series(samples, REFUSED).items()}


async def test_refused_messages_are_exported_per_reason(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    uas = await ScriptedUas(Behaviour(reject=(486, "Busy Here"))).start()

    def meddle(request: SipRequest) -> None:
        if request.method == "INVITE":
            for makers in BEFORE_THE_486.values():
                for make in makers:
                    uas.send(make(uas, request))
        elif request.method == "ACK":  # of the 486: a BYE of a dialog nobody has
            bye = uas.in_dialog("BYE")
            bye.headers.set_single("Call-ID", "nobody@far")
            uas.send(bye)

    uas.on_request = meddle
    expected = {reason: len(makers) for reason, makers in BEFORE_THE_486.items()}
    expected["no_dialog"] = 1
    try:
        async with running_platform(sip_config(uas.address), **FAST) as platform:
            engine = Engine(db, "sip-node", platform=platform)  # not started: only read
            async with scraped_app(db, engine, monkeypatch) as client:
                _, samples = await scrape(client)
                assert refused_by_reason(samples) == {  # declared from the start, at 0
                    reason: 0
                    for reason in (
                        "bad_start_line",
                        "unparsable",
                        "missing_header",
                        "bad_header",
                        "not_the_request",
                        "no_transaction",
                        "no_dialog",
                    )
                }
                outcome = await platform.originate(call_request(amd=EnergyAmd()))
                total = sum(expected.values())
                await eventually(
                    lambda: platform.stats()["dropped_datagrams"] >= total,
                    what=f"{total} messages refused",
                )
                _, samples = await scrape(client)
    finally:
        uas.close()
    assert outcome.disposition is CallDisposition.FINAL_RESPONSE and outcome.sip_code == 486
    assert uas.count("BYE") == 0  # nothing refused was taken for the answer
    assert [r.status_code for r in uas.responses_to_us if r.status_code >= 400] == [481]
    assert refused_by_reason(samples) == expected


async def test_the_count_goes_on_across_a_change_of_server() -> None:
    """A new server means a new endpoint; the counter must not fall back to 0."""
    first = await ScriptedUas(Behaviour()).start()
    second = await ScriptedUas(Behaviour()).start()
    try:
        config = sip_config(first.address, ports=1, register=True)
        async with running_platform(config, **FAST) as platform:
            await eventually(lambda: first.dialer is not None, what="a REGISTER at the first")
            first.send(b"HELLO WORLD\r\n\r\n")
            await eventually(lambda: platform.refused_messages()["bad_start_line"] == 1)

            await platform.apply_config({**config, "server": second.address})
            await eventually(lambda: second.dialer is not None, what="a REGISTER at the second")
            second.send(b"HELLO AGAIN\r\n\r\n")
            await eventually(lambda: platform.refused_messages()["bad_start_line"] == 2)
            assert platform.stats()["dropped_datagrams"] == 2
    finally:
        first.close()
        second.close()
