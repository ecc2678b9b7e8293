"""Real SIP components: the dialer against Kamailio (registrar + authenticating proxy)
and baresip user agents, on UDP, TCP and TLS.

Campaign → engine → ``SipPlatform`` → Kamailio → baresip, as a site runs it: the
dialer's ports REGISTER (challenged 401) and INVITE (challenged 407) through
Kamailio, which record-routes every dialog; called parties are baresip instances
registered to Kamailio (over UDP, so on TCP/TLS Kamailio bridges transports): one
says "hello?" (a person), one says it and hangs up, one plays a voicemail greeting
and beep, one rejects busy, one never answers. A person is transferred with REFER:
the called baresip calls the pilot number through Kamailio, an agent baresip
answers, and the dialer records SUCCESS when the final NOTIFY sipfrag says 200 — a
second campaign's pilot is an agent that rejects busy, so the transfer fails with
its 486. Each test reads what Kamailio logged (its ``WIRE`` lines, ``kamcmd
ul.dump``) and what each baresip logged, besides the leads and call records. Then
Kamailio is made hard to live with: nonces that expire in 1 s under 2 s
registrations, a restart between two rounds of a campaign, and a restart during a
call. Fixtures: ``kamailio_proxy.py``, ``baresip_agents.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import trustme
from baresip_agents import (
    Baresip,
    agent_clip,
    ensure_baresip,
    hang_up_clip,
    hello_clip,
    voicemail_clip,
)
from engine_support import add_leads, add_schedule, leads_by_phone, make_campaign, records, utc
from kamailio_proxy import Kamailio, ensure_kamailio
from sip_helpers import EnergyAmd, EnergyPlugin, call_request, eventually, running_platform

from opendialer.core.engine.clock import FakeClock
from opendialer.core.engine.engine import Engine
from opendialer.core.plugins import PluginManager
from opendialer.core.storage import Database
from opendialer.plugins.platform_sip import SipPlatform
from opendialer.sdk.contracts import CallDisposition

pytestmark = [pytest.mark.sip, pytest.mark.timeout(120)]

TRANSPORTS = ["udp", "tcp", "tls"]
DOMAIN = "dialer.test"
CALLER_ID = "4930123456"
DAY = date(2026, 3, 2)

PERSON, VOICEMAIL, BUSY, SILENT, PERSON_2 = "5550001", "5550002", "5550003", "5550004", "5550005"
HANGS_UP = "5550006"
AGENT, BUSY_AGENT = "7000", "7001"
STALE = ("STALL_FIRST_ANSWER",)  # kamailio.cfg: hold the dialer's first answers until stale
#: number → (behaviour, clip)
PARTIES: dict[str, tuple[str, Any]] = {
    PERSON: ("answer", hello_clip),
    PERSON_2: ("answer", hello_clip),
    VOICEMAIL: ("answer", voicemail_clip),
    HANGS_UP: ("answer", hang_up_clip),
    BUSY: ("busy", None),
    SILENT: ("ignore", None),
    AGENT: ("answer", agent_clip),
    BUSY_AGENT: ("busy", None),
}


@dataclass
class Network:
    kamailio: Kamailio
    parties: dict[str, Baresip]
    ports: dict[str, str]  # the dialer's port user → password

    def dialer_config(self, transport: str) -> dict[str, Any]:
        return {
            "server": self.kamailio.address(transport),
            "transport": transport,
            "domain": DOMAIN,
            "register": True,
            "ports": [
                {"user": user, "auth_user": user, "password": password}
                for user, password in self.ports.items()
            ],
            "caller_id": CALLER_ID,
            "no_answer_timeout_s": 30,
            "rtp_port_min": 20000,
            "rtp_port_max": 29999,
        }

    def log(self, number: str) -> str:
        return self.parties[number].log_text()


@asynccontextmanager
async def sip_network(
    workdir: Path,
    *,
    ports: int,
    parties: list[str],
    nonce_expire_s: int = 300,
    regint_s: int = 3600,
    defines: tuple[str, ...] = (),
) -> AsyncIterator[Network]:
    """Kamailio and the baresip ``parties`` (registering every ``regint_s``), all
    registered; everything stopped after."""
    ensure_kamailio()  # skip (or fail under CI=true) before starting anything
    ensure_baresip()
    port_users = {f"port{i:03d}": f"dialer-{i}" for i in range(1, ports + 1)}
    subscribers = {**port_users, **{number: f"pw-{number}" for number in parties}}
    kamailio = Kamailio(
        workdir / "kamailio",
        subscribers,
        trustme.CA(),
        domain=DOMAIN,
        nonce_expire_s=nonce_expire_s,
        defines=defines,
    )
    agents: dict[str, Baresip] = {}
    try:
        await asyncio.to_thread(kamailio.start)
        for number in parties:
            behaviour, clip = PARTIES[number]
            agents[number] = Baresip(
                number,
                subscribers[number],
                behaviour,
                clip() if clip else None,
                kamailio.address("udp"),
                DOMAIN,
                workdir,
                regint_s=regint_s,
            ).start()
        await asyncio.gather(*(agent.wait_registered() for agent in agents.values()))
        yield Network(kamailio, agents, port_users)
    finally:
        await asyncio.gather(*(agent.stop() for agent in agents.values()))
        await asyncio.to_thread(kamailio.stop)


@asynccontextmanager
async def dialer(
    db: Database, network: Network, transport: str, **tunables: Any
) -> AsyncIterator[tuple[Engine, SipPlatform]]:
    """The engine on a fake clock (10:00 on DAY) with a SIP platform through Kamailio,
    once every port is registered."""
    pm = PluginManager().load_all()
    pm.register(EnergyPlugin(), name="sip_energy_test")
    platform = SipPlatform(
        {
            "config": network.dialer_config(transport),
            "bind_host": "127.0.0.1",
            "tls_ca_file": str(network.kamailio.ca_file),
            **tunables,
        }
    )
    engine = Engine(
        db,
        f"interop-{transport}",
        FakeClock(utc(2026, 3, 2, 10, 0)),
        platform,
        routing_options={"static": {"slots": 10}},
        plugin_manager=pm,
    )
    await engine.start(run_loop=False)
    try:
        await eventually(
            lambda: all(r["state"] == "registered" for r in platform.registrations()),
            within=15,
            what="every dialer port registered at Kamailio",
        )
        yield engine, platform
    finally:
        await engine.stop()


async def campaign(name: str, pilot: str, leads: list[str], **fields: Any) -> int:
    cid = await make_campaign(
        name=name,
        amd_enabled=True,
        amd_params={"strategy": "sip_energy_test", "on_notsure": "hangup"},
        pilot_number=pilot,
        no_answer_timeout_s=3,
        **fields,
    )
    await add_schedule(cid, DAY)
    await add_leads(cid, leads)
    return cid


async def dial_all(engine: Engine, rounds: int = 1) -> None:
    for _ in range(rounds):
        await engine.tick()
        await engine.drain()


def by_number(calls: list[dict[str, Any]], leads: dict[str, dict[str, Any]]) -> dict[str, Any]:
    phone = {lead["id"]: number for number, lead in leads.items()}
    return {phone[call["lead"]]: call for call in calls}


def contact_transport(contact: str) -> str:
    return "tls" if ";transport=tls" in contact else "tcp" if ";transport=tcp" in contact else "udp"


def dialer_call_ids(kamailio: Kamailio, number: str) -> set[str]:
    """Call-IDs of the dialer's INVITEs to ``number`` (as Kamailio received them)."""
    return {
        line.rpartition(" ci=")[2].split()[0]
        for line in kamailio.lines("request INVITE", f"to=sip:{number}@", f"from=sip:{CALLER_ID}@")
    }


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_campaign_through_kamailio_to_baresip(
    db: Database, tmp_path: Path, transport: str
) -> None:
    parties = [PERSON, VOICEMAIL, BUSY, SILENT, HANGS_UP, PERSON_2, AGENT, BUSY_AGENT]
    async with sip_network(tmp_path, ports=6, parties=parties) as network:
        main = await campaign("Interop", AGENT, [PERSON, VOICEMAIL, BUSY, SILENT, HANGS_UP])
        refused = await campaign("Interop, agent busy", BUSY_AGENT, [PERSON_2])
        async with dialer(db, network, transport) as (engine, platform):
            await dial_all(engine)
            # nothing Kamailio forwarded was refused (late 1xx included: see robustness tests)
            assert {k: n for k, n in platform.refused_messages().items() if n} == {}
            # the dialer's bindings, as the registrar holds them, over the campaign's transport
            bindings = await asyncio.to_thread(network.kamailio.bindings)

        leads = {**(await leads_by_phone(main)), **(await leads_by_phone(refused))}
        statuses = {number: lead["status"] for number, lead in leads.items()}
        assert statuses == {
            PERSON: "SUCCESS",
            VOICEMAIL: "AMD",
            BUSY: "BUSY",
            SILENT: "FAILURE",
            HANGS_UP: "FAILURE",
            PERSON_2: "FAILURE",
        }
        calls = by_number(await records(main) + await records(refused), leads)
        assert len(calls) == 6 and all(c["attempt"] == 1 for c in calls.values())
        record = {
            n: (c["disposition"], c["amd_verdict"], c["transfer_result"]) for n, c in calls.items()
        }
        assert record == {
            PERSON: ("transferred", "HUMAN", "200"),
            VOICEMAIL: ("amd_hangup", "MACHINE", None),
            BUSY: ("final_response", None, None),
            SILENT: ("no_answer", None, None),
            HANGS_UP: ("far_end_hangup", None, None),
            PERSON_2: ("transfer_failed", "HUMAN", "486"),
        }  # fmt: skip
        assert calls[BUSY]["sip_code"] == 486 and calls[SILENT]["sip_code"] == 487

        # Kamailio: every port registered over the transport, after a 401 challenge ...
        kamailio = network.kamailio
        for user in network.ports:
            assert [contact_transport(c) for c in bindings[user]] == [transport], bindings
            assert kamailio.lines("challenge 401 REGISTER", f"sip:{user}@{DOMAIN}")
            assert kamailio.lines("authorized REGISTER", f" {user} ")
        # ... every call's INVITE challenged with 407 and then let through
        for number in (PERSON, VOICEMAIL, BUSY, SILENT, HANGS_UP, PERSON_2):
            (call_id,) = dialer_call_ids(kamailio, number)
            assert kamailio.lines("challenge 407 INVITE", f"ci={call_id}"), number
            (authorized,) = kamailio.lines("authorized INVITE", f"ci={call_id}")
            assert authorized.split()[2] in network.ports, authorized
            assert all(
                f"src={transport}:" in line
                for line in kamailio.lines("request INVITE", f"ci={call_id}")
            )
        # ... the REFERs relayed to the called parties; the final sipfrags came back
        (person_call,) = dialer_call_ids(kamailio, PERSON)
        (person_2_call,) = dialer_call_ids(kamailio, PERSON_2)
        assert kamailio.lines("relay REFER", f"sip:{PERSON}-", f"ci={person_call}")
        assert kamailio.lines("relay REFER", f"sip:{PERSON_2}-", f"ci={person_2_call}")
        assert kamailio.lines("sipfrag SIP/2.0 200", f"ci={person_call}")
        assert kamailio.lines("sipfrag SIP/2.0 486", f"ci={person_2_call}")
        # SUCCESS only once the agent answered: its 200 passed Kamailio before the final NOTIFY
        wire = kamailio.wire()
        transfer_call = next(
            line.rpartition(" ci=")[2].split()[0]
            for line in kamailio.lines("request INVITE", f"to=sip:{AGENT}@", f"from=sip:{PERSON}@")
        )
        answered = next(
            i for i, line in enumerate(wire) if line.startswith("reply 200") and f"ci={transfer_call}" in line
        )  # fmt: skip
        final = next(
            i for i, line in enumerate(wire) if line.startswith("sipfrag SIP/2.0 200") and f"ci={person_call}" in line
        )  # fmt: skip
        assert answered < final
        assert kamailio.lines("challenge 407 INVITE", f"ci={transfer_call}")  # baresip auths too

        # baresip: what each party saw
        assert f"Call established: sip:{CALLER_ID}@{DOMAIN}" in network.log(PERSON)
        assert f"transferring call {person_call} to '<sip:{AGENT}@{DOMAIN}>'" in network.log(PERSON)
        assert f"Call established: sip:{AGENT}@{DOMAIN}" in network.log(PERSON)
        assert f"answering call on line 1 from sip:{PERSON}@{DOMAIN}" in network.log(AGENT)
        assert f"Call established: sip:{PERSON}@{DOMAIN}" in network.log(AGENT)
        assert f"Call established: sip:{CALLER_ID}@{DOMAIN}" in network.log(VOICEMAIL)
        assert f"rejecting incoming call from sip:{CALLER_ID}@{DOMAIN}" in network.log(BUSY)
        assert f"Incoming call from:  sip:{CALLER_ID}@{DOMAIN}" in network.log(SILENT)
        assert "Call established" not in network.log(SILENT)
        assert f"rejecting incoming call from sip:{PERSON_2}@{DOMAIN}" in network.log(BUSY_AGENT)
        assert "CALL_CLOSED" in network.parties[SILENT].event_types()  # our CANCEL reached it
        # the BYE of the party that hung up reached the dialer along the record-route
        (hang_up_call,) = dialer_call_ids(kamailio, HANGS_UP)
        assert kamailio.lines("request BYE", f"from=sip:{HANGS_UP}@", f"ci={hang_up_call}")
        assert kamailio.lines("reply 200", "BYE", f"ci={hang_up_call}", f"src={transport}:")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_refreshes_with_expiring_nonces_and_a_kamailio_restart_mid_campaign(
    db: Database, tmp_path: Path, transport: str
) -> None:
    """Registrations of 2 s against nonces that live 1 s: every refresh is challenged
    anew and accepted. Then, between two rounds of a campaign, Kamailio restarts (its
    bindings are in memory: gone; a new secret: every nonce stale; on TCP/TLS the
    connection closed): the dialer registers again by itself and dials the rest — every
    lead dialed exactly once."""
    parties = [PERSON, BUSY, PERSON_2, VOICEMAIL, AGENT]
    # the parties refresh every 2 s too: after the restart they are back as phones would be
    async with sip_network(
        tmp_path, ports=2, parties=parties, nonce_expire_s=1, regint_s=2
    ) as network:
        kamailio = network.kamailio
        cid = await campaign("Interop restart", AGENT, [PERSON, BUSY, PERSON_2, VOICEMAIL])

        def refreshed(times: int, *, this_run: bool = False) -> bool:
            return all(
                len(kamailio.lines("authorized REGISTER", f" {user} ", this_run=this_run)) >= times
                for user in network.ports
            )

        tunables = {"register_expires_s": 2, "register_backoff_s": 0.5, "probe_interval_s": 0.5}
        async with dialer(db, network, transport, **tunables) as (engine, platform):
            await dial_all(engine)  # two ports: two leads
            assert len(await records(cid)) == 2

            await eventually(lambda: refreshed(3), within=20, what="two refreshes per port")
            for user in network.ports:  # each REGISTER challenged first, then accepted
                challenged = kamailio.lines("challenge 401 REGISTER", f"sip:{user}@{DOMAIN}")
                accepted = kamailio.lines("authorized REGISTER", f" {user} ")
                assert len(challenged) - len(accepted) in (0, 1)  # (one may be in flight)
            assert all(r["failures"] == 0 for r in platform.registrations())

            await asyncio.to_thread(kamailio.restart)

            def dialer_back() -> bool:
                bindings = kamailio.bindings()
                everyone = [*network.ports, *network.parties]
                return platform.health().ok and all(user in bindings for user in everyone)

            await eventually(
                lambda: asyncio.to_thread(dialer_back),
                within=20,
                what="the dialer (and the parties) registered again at the restarted Kamailio",
            )
            await dial_all(engine)

        leads = await leads_by_phone(cid)
        assert {n: lead["status"] for n, lead in leads.items()} == {
            PERSON: "SUCCESS",
            BUSY: "BUSY",
            PERSON_2: "SUCCESS",
            VOICEMAIL: "AMD",
        }
        calls = await records(cid)  # one call per lead: none lost, none dialed twice
        assert sorted(c["lead"] for c in calls) == sorted(lead["id"] for lead in leads.values())
        assert all(c["attempt"] == 1 for c in calls)
        assert all(lead["attempts"] == 1 for lead in leads.values())
        # the second round went through the new Kamailio, challenged by its new secret
        calls_by_number = {n: dialer_call_ids(kamailio, n) for n in leads}
        assert all(len(ids) == 1 for ids in calls_by_number.values()), calls_by_number
        second_round = [
            call_id
            for (call_id,) in calls_by_number.values()
            if kamailio.lines("authorized INVITE", f"ci={call_id}", this_run=True)
        ]
        assert len(second_round) == 2, calls_by_number
        assert refreshed(1, this_run=True)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_kamailio_restarted_during_a_call_the_transfer_still_goes_through(
    tmp_path: Path, transport: str
) -> None:
    """Kamailio restarts while a person's call is up (after the answer, before the
    REFER). On TCP/TLS the dialer's connection is gone: the REFER and the BYE must go
    over a new one, and the called party's NOTIFYs must still reach the dialer — its
    Contact names its end of the connection. The agent registers again before the
    hand-over (``claim_agent`` waits for it, as an over-dialed call waits for an agent)."""
    async with sip_network(tmp_path, ports=1, parties=[PERSON, AGENT], regint_s=2) as network:
        kamailio, person = network.kamailio, network.parties[PERSON]
        restarted = asyncio.Event()

        async def agent_after_restart() -> bool:
            await restarted.wait()
            return True

        request = replace(
            call_request(amd=EnergyAmd(), number=PERSON), claim_agent=agent_after_restart
        )
        config = network.dialer_config(transport)
        # T1 100 ms: a request lost on a dead connection fails in 6.4 s (Timer F), not 32 s
        async with running_platform(
            config, tls_ca_file=str(kamailio.ca_file), t1_s=0.1, transfer_timeout_s=10
        ) as platform:
            await eventually(
                lambda: all(r["state"] == "registered" for r in platform.registrations()),
                what="the dialer's port registered",
            )
            call = asyncio.create_task(platform.originate(request))
            await eventually(
                lambda: "CALL_ESTABLISHED" in person.event_types(), what="the person answered"
            )
            await asyncio.to_thread(kamailio.restart)
            await eventually(
                lambda: asyncio.to_thread(lambda: AGENT in kamailio.bindings()),
                what="the agent registered at the restarted Kamailio",
            )
            restarted.set()
            outcome = await call
        assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
        assert outcome.transfer_code == 200
        # all of it through the new Kamailio, over the dialer's transport
        (dialer_call,) = dialer_call_ids(kamailio, PERSON)
        refer = kamailio.lines("request REFER", f"ci={dialer_call}", this_run=True)
        assert refer and all(f"src={transport}:" in line for line in refer), refer
        assert kamailio.lines("sipfrag SIP/2.0 200", f"ci={dialer_call}", this_run=True)
        assert kamailio.lines("reply 200 OK NOTIFY", f"ci={dialer_call}", f"src={transport}:")
        assert kamailio.lines("relay BYE", f"ci={dialer_call}", this_run=True)
        await eventually(
            lambda: f"Call with sip:{CALLER_ID}@{DOMAIN} terminated" in person.log_text(),
            what="the person's baresip got the dialer's BYE",
        )
        assert f"Call established: sip:{AGENT}@{DOMAIN}" in person.log_text()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_a_nonce_gone_stale_before_the_answer_is_answered_again(
    tmp_path: Path, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A slow registrar: Kamailio (``STALL_FIRST_ANSWER``) holds the dialer's first
    answer to each challenge for 2 s against nonces that live 1 s, and answers it with
    a new challenge saying ``stale=true`` — the password was right, the nonce old
    (RFC 2617 §3.2.1). The dialer answers that one too: the port registers and the call
    goes through with no failure, no back-off."""
    caplog.set_level(logging.WARNING, logger="opendialer.plugins.platform_sip")
    async with sip_network(
        tmp_path, ports=1, parties=[PERSON, AGENT], nonce_expire_s=1, defines=STALE
    ) as network:
        kamailio = network.kamailio
        config = network.dialer_config(transport)
        async with running_platform(config, tls_ca_file=str(kamailio.ca_file)) as platform:
            await eventually(
                lambda: all(r["state"] == "registered" for r in platform.registrations()),
                what="the dialer's port registered",
            )
            assert [r["failures"] for r in platform.registrations()] == [0]
            outcome = await platform.originate(call_request(amd=EnergyAmd(), number=PERSON))
        assert outcome.disposition is CallDisposition.TRANSFERRED, outcome
        assert kamailio.lines("challenge 401 stale REGISTER", "sip:port001@")
        (call_id,) = dialer_call_ids(kamailio, PERSON)
        assert kamailio.lines("challenge 407 stale INVITE", f"ci={call_id}")
        assert kamailio.lines("authorized INVITE port001", f"ci={call_id}")
        assert [r.getMessage() for r in caplog.records if "register_failed" in r.getMessage()] == []
