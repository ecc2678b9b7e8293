"""3xx redirects (issue 20 §2): the platform options ``follow_redirects`` (default off)
and ``max_redirects`` (default 3, 1–10), on the wire against a scripted UDP far end.

Off, a 302 ends the call as its final response. On, the 302 is ACKed and a new
INVITE goes to its Contact — same Call-ID and From tag, next CSeq, new branch, To
unchanged, through the same server — and an answer there is an ordinary call.
A chain of redirects stops after ``max_redirects`` hops, and a redirect back to
a URI already tried stops at once; the call then ends with that 3xx.

"Nothing more was sent" is shown with a marker call placed after the redirected
one: the far end sees the marker's INVITE after anything the first call sent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import httpx
import pytest
from aiosipua import SipRequest
from api_client import ApiClient
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import ValidationException
from sip_helpers import EnergyAmd, call_request, eventually, running_platform, sip_config
from sip_scripted_far_end import AUDIO, Behaviour, ScriptedUas, reply
from test_ui_platform_page import browser, field_errors, form

from opendialer.admin_ui.api.platform import ROUTES
from opendialer.admin_ui.errors import service_error, validation_error
from opendialer.core.domain import LeadStatus
from opendialer.core.engine.outcomes import status_for_outcome
from opendialer.core.services import platform_config
from opendialer.core.services.common import SYSTEM
from opendialer.core.services.errors import ServiceError
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.plugins.platform_sip.config import SipConfig
from opendialer.sdk import OptionError
from opendialer.sdk.contracts import AmdLabel, CallDisposition, CallOutcome

pytestmark = pytest.mark.timeout(90)

HUMAN = (AUDIO / "human_hello.ulaw").read_bytes()[: 8000 * 3]
FAST = {"t1_s": 0.1, "t4_s": 0.5, "amd_max_s": 4.0, "transfer_timeout_s": 5.0}
CALLED = "sip:5551234@dialer.test"  # the Request-URI and To of call_request()'s number
MARKER = "sip:5550000@dialer.test"  # the marker call: refused 486 by the far end


@dataclass
class RedirectingUas(ScriptedUas):
    """A far end that redirects: an INVITE whose Request-URI is in ``routes`` gets a 302
    with that Contact header; the marker call gets 486; any other INVITE is answered
    as a phone."""

    routes: dict[str, str] = field(default_factory=dict)

    def _on_invite(self, request: SipRequest) -> None:
        if request.uri == MARKER:
            self.send(reply(request, 486, "Busy Here", "marker"))
        elif request.uri in self.routes:
            moved = reply(request, 302, "Moved Temporarily", "redirector")
            moved.headers.set_single("Contact", self.routes[request.uri])
            self.send(moved)
        else:
            super()._on_invite(request)

    def here(self, user: str) -> str:
        """A SIP URI of a user at this far end."""
        return f"sip:{user}@127.0.0.1:{self.port}"


def branch_of(message: SipRequest) -> str:
    return re.search(r"branch=([^;]+)", message.headers.get_first("via") or "")[1]  # type: ignore[index]


def cseq_of(message: SipRequest) -> int:
    return int((message.headers.get_first("cseq") or "").split()[0])


def from_tag_of(message: SipRequest) -> str:
    return (message.headers.get_first("from") or "").split(";tag=")[1]


@pytest.fixture
async def far_end() -> AsyncIterator[Callable[..., Any]]:
    made: list[ScriptedUas] = []

    async def make(**behaviour: Any) -> RedirectingUas:
        uas = await RedirectingUas(Behaviour(**behaviour)).start()
        made.append(uas)
        return uas

    yield make
    for uas in made:
        uas.close()


async def place_call(uas: ScriptedUas, config: dict[str, Any], *, amd: bool = False) -> CallOutcome:
    """One call to the far end, then the marker call (everything the first sent came before)."""
    async with running_platform(sip_config(uas.address, **config), **FAST) as platform:
        outcome = await platform.originate(call_request(amd=EnergyAmd() if amd else None))
        marker = await platform.originate(call_request(number="5550000"))
        assert marker.sip_code == 486, marker
        await eventually(lambda: MARKER in [r.uri for r in uas.requests("ACK")], what="marker ACK")
    return outcome


def invites_before_the_marker(uas: ScriptedUas) -> list[SipRequest]:
    return [r for r in uas.requests("INVITE") if r.uri != MARKER]


def acks_before_the_marker(uas: ScriptedUas) -> list[SipRequest]:
    return [r for r in uas.requests("ACK") if r.uri != MARKER]


# -- off: a 302 ends the call as its final response ------------------------------------


async def test_off_a_302_ends_the_call_as_its_final_response(far_end: Any) -> None:
    uas = await far_end(rtp=HUMAN)
    uas.routes = {CALLED: f"<{uas.here('other')}>"}  # which would answer, if called
    outcome = await place_call(uas, {})  # follow_redirects left at its default
    assert outcome.disposition is CallDisposition.FINAL_RESPONSE, outcome
    assert (outcome.sip_code, outcome.answered_at) == (302, None)
    assert status_for_outcome(outcome) is LeadStatus.UNKNOWN
    [invite] = invites_before_the_marker(uas)
    assert invite.uri == CALLED
    [ack] = acks_before_the_marker(uas)  # the 302's ACK: the INVITE's branch (§17.1.1.3)
    assert (ack.uri, branch_of(ack)) == (CALLED, branch_of(invite))


# -- on: the redirect leads to a normal call ------------------------------------------


async def test_on_a_302_to_another_sip_uri_leads_to_a_normal_call(far_end: Any) -> None:
    uas = await far_end(rtp=HUMAN)
    # q order decides; a tel: Contact is not a SIP target; URI headers are not copied.
    uas.routes = {
        CALLED: f"<tel:+4930111222>;q=1.0, <{uas.here('low')}>;q=0.2, "
        f"<{uas.here('other')}?Subject=injected>;q=0.5"
    }
    outcome = await place_call(uas, {"follow_redirects": True}, amd=True)

    assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
    assert outcome.sip_code == 200 and outcome.answered_at is not None
    assert outcome.amd is not None and outcome.amd.label is AmdLabel.HUMAN
    assert status_for_outcome(outcome) is LeadStatus.SUCCESS
    first, second = invites_before_the_marker(uas)
    assert (first.uri, second.uri) == (CALLED, uas.here("other"))
    assert "injected" not in bytes(second).decode()
    # a new transaction in the same call: same Call-ID, From tag and To, next CSeq
    assert second.call_id == first.call_id
    assert from_tag_of(second) == from_tag_of(first)
    assert second.headers.get_first("to") == first.headers.get_first("to") == f"<{CALLED}>"
    assert cseq_of(second) == cseq_of(first) + 1
    assert branch_of(second) != branch_of(first)
    redirect_ack, answer_ack = acks_before_the_marker(uas)
    assert (redirect_ack.uri, branch_of(redirect_ack)) == (CALLED, branch_of(first))
    assert cseq_of(answer_ack) == cseq_of(second) and branch_of(answer_ack) != branch_of(second)
    assert uas.count("REFER") == 1 and uas.count("BYE") == 1


# -- loops: a hop limit, and no URI twice ---------------------------------------------


def endless_chain(uas: RedirectingUas) -> dict[str, str]:
    """Every hop names a new URI: only the limit stops it."""
    hops = [CALLED] + [uas.here(f"hop{n}") for n in range(1, 20)]
    return {uri: f"<{after}>" for uri, after in pairwise(hops)}


async def test_a_chain_of_redirects_stops_after_max_redirects_hops(far_end: Any) -> None:
    uas = await far_end()
    uas.routes = endless_chain(uas)
    outcome = await place_call(uas, {"follow_redirects": True, "max_redirects": 2})
    assert (outcome.disposition, outcome.sip_code) == (CallDisposition.FINAL_RESPONSE, 302)
    invites = invites_before_the_marker(uas)
    assert [i.uri for i in invites] == [CALLED, uas.here("hop1"), uas.here("hop2")]
    acks = acks_before_the_marker(uas)  # every 302 ACKed, the last one too
    assert [branch_of(a) for a in acks] == [branch_of(i) for i in invites]


async def test_the_default_limit_is_three_hops(far_end: Any) -> None:
    uas = await far_end()
    uas.routes = endless_chain(uas)
    outcome = await place_call(uas, {"follow_redirects": True})
    assert (outcome.disposition, outcome.sip_code) == (CallDisposition.FINAL_RESPONSE, 302)
    assert [i.uri for i in invites_before_the_marker(uas)] == [
        CALLED,
        *(uas.here(f"hop{n}") for n in (1, 2, 3)),
    ]


async def test_a_redirect_back_to_a_uri_already_tried_stops_at_once(far_end: Any) -> None:
    uas = await far_end()
    # the second hop points back at the called number (host case and a parameter differ)
    uas.routes = {
        CALLED: f"<{uas.here('other')}>",
        uas.here("other"): "<sip:5551234@DIALER.test;transport=udp>",
    }
    outcome = await place_call(uas, {"follow_redirects": True, "max_redirects": 10})
    assert (outcome.disposition, outcome.sip_code) == (CallDisposition.FINAL_RESPONSE, 302)
    invites = invites_before_the_marker(uas)
    assert [i.uri for i in invites] == [CALLED, uas.here("other")]
    acks = acks_before_the_marker(uas)
    assert [branch_of(a) for a in acks] == [branch_of(i) for i in invites]


async def test_a_redirect_without_a_sip_contact_ends_the_call(far_end: Any) -> None:
    uas = await far_end()
    uas.routes = {CALLED: "<tel:+4930111222>"}
    outcome = await place_call(uas, {"follow_redirects": True})
    assert (outcome.disposition, outcome.sip_code) == (CallDisposition.FINAL_RESPONSE, 302)
    assert [i.uri for i in invites_before_the_marker(uas)] == [CALLED]


# -- the options: stored, shown, refused by name ----------------------------------------


@pytest.fixture
async def api(db: Any) -> AsyncIterator[httpx.AsyncClient]:
    async def provide_actor() -> Any:
        return SYSTEM

    app = Litestar(
        route_handlers=[Router("/api/v1", route_handlers=ROUTES)],
        dependencies={"actor": Provide(provide_actor)},
        exception_handlers={ServiceError: service_error, ValidationException: validation_error},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


BODY = {"server": "pbx.example.com:5060", "register": False, "ports": [{"user": "3001"}]}


async def test_the_options_default_to_off_and_three_and_are_stored(api: httpx.AsyncClient) -> None:
    r = await api.put("/api/v1/platform", json=BODY)
    assert r.status_code == 200, r.text
    assert (r.json()["follow_redirects"], r.json()["max_redirects"]) == (False, 3)
    r = await api.put(
        "/api/v1/platform", json={**BODY, "follow_redirects": True, "max_redirects": 10}
    )
    assert r.status_code == 200, r.text
    body = (await api.get("/api/v1/platform")).json()
    assert (body["follow_redirects"], body["max_redirects"]) == (True, 10)
    assert SipConfig.from_mapping(body).redirect_hops == 10
    assert SipConfig.from_mapping({**body, "follow_redirects": False}).redirect_hops == 0


@pytest.mark.parametrize("value", [0, 11, -1])
async def test_a_max_redirects_out_of_range_is_refused_by_name(
    api: httpx.AsyncClient, value: int
) -> None:
    r = await api.put(
        "/api/v1/platform", json={**BODY, "follow_redirects": True, "max_redirects": value}
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["code"], problem["field"]) == (
        "platform_sip.max_redirects_invalid",
        "max_redirects",
    )
    assert problem["detail"] == f"max_redirects must be a whole number from 1 to 10, got {value}"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"max_redirects": 2.5}, "max_redirects"),
        ({"max_redirects": True}, "max_redirects"),
        ({"follow_redirects": "yes"}, "follow_redirects"),
    ],
)
async def test_a_wrong_type_is_refused_by_name(
    api: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    r = await api.put("/api/v1/platform", json={**BODY, **changes})
    assert (r.status_code, r.json().get("field")) == (422, field), r.text


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"max_redirects": "3"}, "platform_sip.max_redirects_invalid"),
        ({"max_redirects": 2.5}, "platform_sip.max_redirects_invalid"),
        ({"max_redirects": True}, "platform_sip.max_redirects_invalid"),
        ({"max_redirects": 11}, "platform_sip.max_redirects_invalid"),
        ({"follow_redirects": "yes"}, "platform_sip.follow_redirects_not_bool"),
    ],
)
def test_the_plugin_refuses_with_a_code_naming_the_option(
    changes: dict[str, Any], code: str
) -> None:
    """What the page posts reaches the plugin's check as it is (no API types first)."""
    with pytest.raises(OptionError) as refused:
        SipPlatform.validate_options({**BODY, **changes})
    assert refused.value.code == code
    assert refused.value.option == next(iter(changes))


def test_an_empty_max_redirects_on_the_page_means_the_default() -> None:
    checked = SipPlatform.validate_options({**BODY, "max_redirects": ""})
    assert (checked["follow_redirects"], checked["max_redirects"]) == (False, 3)


async def test_the_page_shows_and_saves_both_options(app_client: ApiClient) -> None:
    """System → Communication platform: the switch and the limit, refused next to the field."""
    client = await browser(app_client, "master", language="pt_BR")
    page = (await client.get("/system/platform")).text
    switch = re.search(r'<input[^>]*id="f-follow_redirects"[^>]*>', page)
    assert switch is not None and "checked" not in switch[0]  # off by default
    assert "Seguir redirecionamentos (3xx) para outro endereço SIP" in page
    assert re.search(r'name="max_redirects"[^>]*value="3"|value="3"[^>]*name="max_redirects"', page)
    r = await client.post(
        "/system/platform", data=form(client, follow_redirects="1", max_redirects="11")
    )
    assert r.status_code == 422
    assert "max_redirects" in field_errors(r.text), field_errors(r.text)
    r = await client.post(
        "/system/platform", data=form(client, follow_redirects="1", max_redirects="5")
    )
    assert r.status_code == 200, r.text
    stored = await platform_config.load_platform_config()
    assert stored is not None
    assert (stored["follow_redirects"], stored["max_redirects"]) == (True, 5)
