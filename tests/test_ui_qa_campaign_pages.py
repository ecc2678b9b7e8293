"""The QA pass over the campaign pages (issue 15): labels that name the real tabs,
no English left on Portuguese/Spanish pages, what a Supervisor is told, and a long
description that does not widen the campaign list. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from api_client import PASSWORD, ApiClient
from engine_support import make_engine, run_round
from test_api_dialing import body, give_leads
from test_ui_campaign_log import (
    DIALED_AT,
    HUMAN,
    dialed_campaign,
    import_leads,
    people,
    rows,
)
from test_ui_pages import browser_session, htmx

from opendialer.admin_ui.held_text import FIX_PLACES
from opendialer.admin_ui.i18n import translator
from opendialer.core import held
from opendialer.core.engine.clock import FakeClock
from opendialer.core.services import campaign_states, campaigns, dnc_numbers, groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign, EngineNode, Schedule

SUBTAB = re.compile(r'<a href="(/system[^"]*)" id="subtab-[^"]*"[^>]*>([^<]+)</a>')


async def speaks(username: str, language: str) -> None:
    await users.set_language(await users.authenticate(username, PASSWORD), language)


async def test_where_to_fix_names_the_system_sub_tabs_as_they_are_shown(
    app_client: ApiClient,
) -> None:
    await app_client.user("master", username="root-xc")
    for language in ("en", "pt_BR", "es"):
        await speaks("root-xc", language)
        master = await browser_session(app_client, "root-xc")
        page = (await master.get("/system")).text
        shown = dict(SUBTAB.findall(page))
        assert set(shown) == {
            "/system",
            "/system/platform",
            "/system/contact-center",
            "/system/ivr",
        }
        system = translator(language).gettext("System")
        for path, label in shown.items():
            assert translator(language).gettext(FIX_PLACES[path]) == f"{system} → {label}", (
                language,
                path,
            )
    assert translator("pt_BR").gettext(FIX_PLACES["/system/contact-center"]) == (
        "Sistema → Central de atendimento"
    )


async def test_a_tab_the_role_does_not_see_is_named_in_the_viewers_language(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_supervisor", [group], username="sup-xc")
    expected = {
        "en": "The Do-Not-Call pages are not available to your role.",
        "pt_BR": "As páginas de Não ligar não estão disponíveis para o seu perfil.",
        "es": "Las páginas de No llamar no están disponibles para su rol.",
    }
    for language, sentence in expected.items():
        await speaks("sup-xc", language)
        sup = await browser_session(app_client, "sup-xc")
        r = await sup.get("/dnc")
        assert r.status_code == 403
        assert sentence in r.text, language
        assert "dnc pages" not in r.text


async def test_a_supervisor_is_not_allowed_to_edit_even_a_running_campaign(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    created = await app_client.user("campaign_admin", [group], username="adm-xc")
    await app_client.user("campaign_supervisor", [group], username="watch-xc")
    admin = await app_client.bearer(created["username"])
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Running"))).json()["id"]
    await give_leads(admin, cid)
    assert (await admin.post(f"/api/v1/campaigns/{cid}/start")).status_code == 200

    watcher = await browser_session(app_client, "watch-xc")
    for path in (f"/campaigns/{cid}/edit", f"/campaigns/{cid}/delete"):
        r = await watcher.get(path)
        assert r.status_code == 403, path
        assert "Not allowed" in r.text and "stop it before" not in r.text, path
        r = await watcher.get(path, headers=htmx(watcher))
        assert "Not allowed" in r.text and "stop it before" not in r.text, path
    # The API and the page's POST say the same.
    api = await app_client.bearer("watch-xc")
    r = await api.patch(f"/api/v1/campaigns/{cid}", json={"description": "x"})
    assert r.status_code == 403, r.text
    r = await watcher.post(f"/campaigns/{cid}", data={"name": "x"}, headers=htmx(watcher))
    assert "stop it first" not in r.text and "stop it before" not in r.text
    # The Campaign Administrator is still told to stop it first.
    ana = await browser_session(app_client, "adm-xc")
    assert "stop it before changing its settings" in (await ana.get(f"/campaigns/{cid}/edit")).text


LONG = "x" * 1999  # a description without a single space


async def test_a_long_description_is_shortened_in_the_list_and_cells_wrap(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    created = await app_client.user("campaign_admin", [group], username="long-xc")
    admin = await app_client.bearer(created["username"])
    r = await admin.post("/api/v1/campaigns", json=body(group, "Long", description=LONG))
    assert r.status_code == 201, r.text
    page = (await browser_session(app_client, "long-xc")).get("/campaigns")
    text = (await page).text
    cell = re.search(r'<td class="desc" title="(x+)">(x+)…</td>', text)
    assert cell is not None
    assert cell.group(1) == LONG and len(cell.group(2)) + 1 == 120  # with the ellipsis
    css = (await app_client.get("/static/app.css")).text
    assert re.search(r"\.grid td \{ overflow-wrap: anywhere; \}", css)


def dd(page: str, key: str) -> str:
    found = re.search(rf'<dd id="summary-{key}">(.*?)</dd>', page, re.S)
    assert found is not None, key
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


async def test_the_summary_shows_the_campaigns_settings_to_every_role(
    app_client: ApiClient,
) -> None:
    group = await app_client.group("Cobrança")
    await groups.update_group(SYSTEM, group, {"description": "Equipe de cobrança de SP"})
    created = await app_client.user("campaign_admin", [group], username="sum-adm")
    await app_client.user("campaign_supervisor", [group], username="sum-sup")
    admin = await app_client.bearer(created["username"])
    settings = body(
        group,
        "Renovações",
        description="Clientes com contrato vencendo",
        pilot_number="4321",
        max_attempts=5,
        retry_after_minutes=45,
        amd_enabled=True,
        queue="fila-sp",
    )
    cid = (await admin.post("/api/v1/campaigns", json=settings)).json()["id"]
    off = body(group, "Sem AMD", amd_enabled=False)
    quiet = (await admin.post("/api/v1/campaigns", json=off)).json()["id"]
    shown = {
        ("sum-adm", "en"): ("45 minutes", "AMD on · AMD preset: Defaults", "Embedded Service"),
        ("sum-sup", "pt_BR"): (
            "45 minutos",
            "AMD ligado · Perfil de AMD: Valores padrão",
            "Serviço Embutido",
        ),
        ("sum-sup", "es"): ("45 minutos", "AMD activado", "Servicio"),
    }
    for (username, language), (retry, amd, dnc) in shown.items():
        await speaks(username, language)
        viewer = await browser_session(app_client, username)
        for path in (f"/campaigns/{cid}/summary", f"/campaigns/{cid}/summary/panel"):
            page = (await viewer.get(path)).text
            assert dd(page, "description") == "Clientes com contrato vencendo"
            assert dd(page, "type") == "OSCC"
            assert dd(page, "queue") == "fila-sp"
            assert dd(page, "pilot") == "4321"
            assert dd(page, "max-attempts") == "5"
            assert dd(page, "retry") == retry
            assert dd(page, "amd").startswith(amd), dd(page, "amd")
            assert dd(page, "dnc").startswith(dnc), dd(page, "dnc")
            assert dd(page, "group") == "Cobrança — Equipe de cobrança de SP"
        page = (await viewer.get(f"/campaigns/{quiet}/summary")).text
        assert (
            dd(page, "amd")
            == {"en": "AMD off", "pt_BR": "AMD desligado", "es": "AMD desactivado"}[language]
        )
        assert dd(page, "description") == "—"


BAD_CSV = "Ana,+55 11 98888 0001\n,+55 11 98888 0002\nBia,\nonly-one-column\n"


async def test_the_upload_report_names_the_columns_in_the_viewers_language(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    created = await app_client.user("campaign_admin", [group], username="up-xc")
    admin = await app_client.bearer(created["username"])
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Upload"))).json()["id"]
    labels = {
        "en": {"2": "Name", "3": "Phone", "4": "Whole line"},
        "pt_BR": {"2": "Nome", "3": "Telefone", "4": "Linha inteira"},
        "es": {"2": "Nombre", "3": "Teléfono", "4": "Línea completa"},
    }
    for language, expected in labels.items():
        await speaks("up-xc", language)
        client = await browser_session(app_client, "up-xc")
        r = await client.post(
            f"/campaigns/{cid}/leads/upload",
            files={"file": ("leads.csv", BAD_CSV.encode(), "text/csv")},
            headers=htmx(client),
        )
        assert r.status_code == 200, r.text
        cells = dict(
            re.findall(
                r'<tr data-line="(\d+)"><td class="num">\d+</td><td data-field="\w+">([^<]*)</td>',
                r.text,
            )
        )
        assert cells == expected, (language, r.text)


DIAGNOSTIC = "contact center session down since 01:53:20: cannot connect to <oscc.example>"


async def test_a_routing_targets_diagnostic_stays_marked_english_in_the_held_state(
    app_client: ApiClient,
) -> None:
    group = await app_client.group()
    await app_client.user("campaign_supervisor", [group], username="diag-xc")
    today = datetime.now(UTC).date()
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Held",
            "group_id": group,
            "start_date": today.isoformat(),
            "end_date": (today + timedelta(days=1)).isoformat(),
            "start_time": "00:00",
            "end_time": "23:59",
            "timezone": "UTC",
            "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "pilot_number": "4000",
        },
    )
    cid = campaign["id"]
    await Campaign.update({Campaign.state: "STARTED"}).where(Campaign.id == cid).run()
    reason = held.hold(held.ROUTING_UNHEALTHY, target="oscc", detail=DIAGNOSTIC).encode()
    await (  # as an engine holding today's running entry stores it
        Schedule.update({Schedule.reason: reason, Schedule.state: "RUNNING"})
        .where((Schedule.campaign == cid) & (Schedule.date == today))
        .run()
    )
    await EngineNode.insert(EngineNode(node_id="xc-engine", heartbeat_at=datetime.now(UTC))).run()
    try:
        marked = '<span lang="en">' + html.escape(DIAGNOSTIC, quote=False) + "</span>"
        sentences = {
            "en": "Started — not dialing: the contact center (oscc) is not up: ",
            "pt_BR": "Iniciada — sem discar: a central de atendimento (oscc) não está no ar: ",
            "es": "Iniciada — sin marcar: el centro de contacto (oscc) no está disponible: ",
        }
        for language in ("en", "pt_BR", "es"):
            await speaks("diag-xc", language)
            viewer = await browser_session(app_client, "diag-xc")
            for path in ("/campaigns", f"/campaigns/{cid}/summary"):
                page = (await viewer.get(path)).text
                assert 'data-held="routing_unhealthy"' in page, (language, path)
                assert marked in page, (language, path)
                assert sentences[language] + marked in page, (language, path)
        # The API keeps the plain sentence.
        api = await app_client.bearer("diag-xc")
        got = (await api.get(f"/api/v1/campaigns/{cid}")).json()["held_reason"]["detail"]
        assert got.endswith(DIAGNOSTIC) and "<span" not in got
    finally:
        await EngineNode.delete().where(EngineNode.node_id == "xc-engine").run()


async def test_spanish_pages_use_the_product_guides_terms(app_client: ApiClient) -> None:
    group = await app_client.group()
    created = await app_client.user("campaign_admin", [group], username="es-xc")
    admin = await app_client.bearer(created["username"])
    cid = (await admin.post("/api/v1/campaigns", json=body(group, "Guía"))).json()["id"]
    await speaks("es-xc", "es")
    client = await browser_session(app_client, "es-xc")
    listing = (await client.get("/campaigns")).text
    for entry in (
        "Editar campaña",
        "Ver/editar programa",
        "Cargar clientes potenciales",
        "Ver/editar clientes potenciales",
        "Ver resumen",
    ):
        assert f">{entry}<" in listing, entry
    for path in ("/campaigns", f"/campaigns/{cid}/summary", f"/campaigns/{cid}/schedules"):
        page = (await client.get(path)).text
        words = re.sub(r"<[^>]+>", " ", page).replace("Horario laboral", "")
        assert not re.search(r"\b(?:[Cc]ontactos?|[Hh]orarios?|[Ss]ubir)\b", words), path
    head = (await client.get(f"/campaigns/{cid}/leads")).text
    assert ">Programa<" in head and ">Clientes potenciales<" in head


DETAIL_CELL = re.compile(r'<div class="muted small call-detail"([^>]*)>([^<]*)</div>')


async def test_the_call_logs_outcome_details_are_in_the_viewers_language(
    app_client: ApiClient, db: Database
) -> None:
    group = await people(app_client)
    campaign = await dialed_campaign(db, group)
    expected = {
        "pt_BR": (
            "do outro lado estava uma pessoa (simulador).",
            "O AMD indicou Máquina; do outro lado estava uma máquina (simulador).",
        ),
        "es": (
            "al otro lado había una persona (simulador).",
            "El AMD indicó Contestador; al otro lado había una máquina (simulador).",
        ),
        "en": (
            "the far end was a person (simulator).",
            "AMD said Machine; the far end was a machine (simulator).",
        ),
    }
    for language, (transferred, machine) in expected.items():
        await speaks("sam", language)
        sam = await browser_session(app_client, "sam")
        page = (await sam.get(f"/campaigns/{campaign['id']}/calls")).text
        table = rows(page, "calls-table")
        person = next(r for r in table if "Ana Souza" in r)
        attributes, text = DETAIL_CELL.search(person).groups()  # type: ignore[union-attr]
        assert html.unescape(text).endswith(transferred), (language, text)
        raw = re.search(r'title="([^"]*)"', attributes)
        assert raw is not None and raw.group(1).endswith("far end was a human (sim)")
        answering = next(r for r in table if "Bia Lima" in r)
        assert html.unescape(DETAIL_CELL.search(answering).group(2)) == machine  # type: ignore[union-attr]
        shown = re.sub(r'(?:title|data-detail)="[^"]*"', "", page)
        assert "(sim)" not in shown, language
        assert language == "en" or "far end was" not in shown, language


async def test_a_do_not_call_block_is_explained_in_the_viewers_language(
    app_client: ApiClient, db: Database
) -> None:
    group = await people(app_client)
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Blocked",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-08",
            "start_time": "09:00",
            "end_time": "17:00",
            "timezone": "America/Sao_Paulo",
            "weekdays": ["mon", "tue"],
            "pilot_number": "4000",
            "default_region": "BR",
            "routing_target": "static",
        },
    )
    await dnc_numbers.import_numbers(SYSTEM, f"{HUMAN}\n".encode())
    await import_leads(campaign["id"], [f"Ana Souza,+{HUMAN}"])
    await campaign_states.start_campaign(SYSTEM, campaign["id"])
    engine = make_engine(db, FakeClock(DIALED_AT), script={HUMAN: ["human"]}, slots=2)
    await engine.start(run_loop=False)
    try:
        await run_round(engine)
    finally:
        await engine.stop()
    await campaign_states.stop_campaign(SYSTEM, campaign["id"])
    expected = {
        "en": "On the Do-Not-Call list of Embedded Service; no call placed.",
        "pt_BR": "Na lista Não ligar de Serviço Embutido; nenhuma chamada feita.",
        "es": "En la lista No llamar de Servicio Integrado; no se hizo ninguna llamada.",
    }
    for language, sentence in expected.items():
        await speaks("sam", language)
        sam = await browser_session(app_client, "sam")
        page = (await sam.get(f"/campaigns/{campaign['id']}/calls")).text
        found = DETAIL_CELL.search(page)
        assert found is not None, page
        assert html.unescape(found.group(2)) == sentence, language
        assert 'title="on the Do-Not-Call list of Embedded Service; no call placed"' in found.group(
            1
        )
