"""A new admin's second walk in Spanish and Portuguese, over HTTP: the call log keeps
the engines' English traces apart from its translated sentences, and says where a
voicemail message started in the viewer's language; the lead import names the country,
not its code."""

from __future__ import annotations

import html
import json
import re

from api_client import PASSWORD, ApiClient
from test_api_calls import record
from test_call_detail_codes import detail_of
from test_ui_browser_phones import GUIDE_CSV
from test_ui_campaign_log import HUMAN, MACHINE, import_leads, people, rows
from test_ui_pages import browser_session, htmx
from test_ui_qa_campaign_pages import speaks

from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import campaigns, groups, users
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage.tables import Lead

BEEP = "beep 1000 Hz ended at 7.45 s"
REASONS = "initial_silence=0.21s greeting=4.41s words=3 > greeting_ms"


async def a_campaign(group: int, name: str = "Renewals") -> dict[str, object]:
    return await campaigns.create_campaign(
        SYSTEM,
        {
            "name": name,
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-08",
            "start_time": "09:00",
            "end_time": "17:00",
            "timezone": "America/Sao_Paulo",
            "weekdays": ["mon", "tue"],
            "pilot_number": "4000",
            "default_region": "BR",
        },
    )


async def test_the_call_logs_traces_are_set_apart_from_its_translated_sentences(
    app_client: ApiClient,
) -> None:
    """The voicemail line read "... deixada a partir de 7.95 s após o atendimento (beep
    1000 Hz ended at 7.45 s) ...": the tracker's English inside a Portuguese sentence,
    and the AMD reasons as if they were words of the page."""
    get_plugin_manager()
    group = await people(app_client)
    campaign = await a_campaign(group)
    await import_leads(campaign["id"], [f"Ana Souza,+{HUMAN}", f"Bia Lima,+{MACHINE}"])
    bia = (await Lead.select(Lead.id).where(Lead.phone == MACHINE).first().run())["id"]
    await record(
        campaign["id"],
        bia,
        1,
        "MESSAGE_LEFT",
        phone=MACHINE,
        sip_code=200,
        disposition="message_left",
        amd_verdict="MACHINE",
        amd_decision_ms=2100.0,
        amd_reasons=REASONS,
        detail="machine: voicemail message (4.2 s) left from 7.95 s after answer "
        f"({BEEP}), then hung up",
        detail_code="platform_sip.message_left",
        detail_params=json.dumps({"s": "4.2", "at": "7.95", "why": BEEP}),
    )
    expected = {
        "pt_BR": "Uma secretária eletrônica atendeu: a mensagem de correio de voz (4,2 s) "
        "foi deixada a partir de 7,95 s após o atendimento e a chamada foi desligada.",
        "es": "Respondió un contestador: el mensaje de buzón de voz (4,2 s) se dejó desde "
        "7,95 s tras la respuesta y se colgó la llamada.",
        "en": "A machine answered: the voicemail message (4.2 s) was left from 7.95 s after "
        "the answer, then the call was hung up.",
    }
    label = {
        "pt_BR": "Detalhe técnico, em inglês",
        "es": "Detalle técnico, en inglés",
        "en": "Technical detail, in English",
    }
    for language, sentence in expected.items():
        await speaks("sam", language)
        sam = await browser_session(app_client, "sam")
        page = (await sam.get(f"/campaigns/{campaign['id']}/calls")).text
        row = next(r for r in rows(page, "calls-table") if "Bia Lima" in r)
        assert detail_of(row)[1] == sentence, language
        # The traces, each in a <code> of its own, folded under a translated label.
        traces = re.findall(
            r'<details class="small trace [\w-]+"><summary class="muted">([^<]*)</summary>'
            r'<code lang="en" translate="no">([^<]*)</code></details>',
            row,
        )
        assert [(html.unescape(a), html.unescape(b)) for a, b in traces] == [
            (label[language], BEEP),
            (label[language], REASONS),
        ], language


def point_of(row: str) -> str | None:
    """The call log row's sentence on where the voicemail message started."""
    found = re.search(r'<div class="muted small call-point">([^<]*)</div>', row)
    return html.unescape(found.group(1)) if found else None


async def test_the_call_log_says_where_the_message_started_in_the_viewers_language(
    app_client: ApiClient,
) -> None:
    """The point's values (``sdk.MessagePoint.detail_params``, as the platforms store
    them) make a sentence of the page's language, with its decimal mark; the tracker's
    English stays the technical detail. A tracker that gives no values (a third-party
    plugin's): no sentence, its English alone."""
    get_plugin_manager()
    group = await people(app_client)
    campaign = await a_campaign(group)
    await import_leads(
        campaign["id"],
        [f"Bia Lima,+{MACHINE}", "Caio Reis,+5511987650002", "Duda Alves,+5511987650003"],
    )
    ids = {r["phone"]: r["id"] for r in await Lead.select(Lead.id, Lead.phone).run()}
    left = {
        "Bia Lima": (MACHINE, {"point": "beep", "point_at_s": "7.45", "beep_hz": "1000"}, BEEP),
        "Caio Reis": (
            "5511987650002",
            {"point": "silence", "point_at_s": "5.30", "silence_s": "2.0"},
            "silence 2.0 s (greeting ended at 5.30 s)",
        ),
        "Duda Alves": ("5511987650003", {}, "end of greeting (a plugin's tracker)"),
    }
    for phone, params, why in left.values():
        await record(
            campaign["id"],
            ids[phone],
            1,
            "MESSAGE_LEFT",
            phone=phone,
            sip_code=200,
            disposition="message_left",
            amd_verdict="MACHINE",
            detail=f"machine: voicemail message (4.2 s) left from 7.95 s after answer ({why})",
            detail_code="platform_sip.message_left",
            detail_params=json.dumps({"s": "4.2", "at": "7.95", "why": why, **params}),
        )
    expected = {
        "es": {
            "Bia Lima": "Mensaje dejado tras el pitido (1000 Hz) a los 7,45 s.",
            "Caio Reis": "Mensaje dejado tras 2,0 s de silencio después del saludo, que "
            "terminó a los 5,30 s.",
        },
        "pt_BR": {
            "Bia Lima": "Mensagem deixada após o bipe (1000 Hz) aos 7,45 s.",
            "Caio Reis": "Mensagem deixada após 2,0 s de silêncio depois da saudação, que "
            "terminou aos 5,30 s.",
        },
        "en": {
            "Bia Lima": "Message left after the beep (1000 Hz) at 7.45 s.",
            "Caio Reis": "Message left after 2.0 s of silence following the greeting, which "
            "ended at 5.30 s.",
        },
    }
    for language, sentences in expected.items():
        await speaks("sam", language)
        sam = await browser_session(app_client, "sam")
        page = (await sam.get(f"/campaigns/{campaign['id']}/calls")).text
        for name, (_, _, why) in left.items():
            row = next(r for r in rows(page, "calls-table") if name in r)
            assert point_of(row) == sentences.get(name), (language, name)
            traces = re.findall(r'<code lang="en" translate="no">([^<]*)</code>', row)
            assert [html.unescape(t) for t in traces] == [why], (language, name)


async def test_the_lead_import_names_the_country_in_the_viewers_language(
    app_client: ApiClient,
) -> None:
    """It said "no asignados en BR": the region's ISO code inside a Spanish sentence.
    (Portuguese puts the country after a preposition that agrees with it — no Brasil,
    em Portugal, na Argentina — so its sentence names the country in brackets.)"""
    group = await people(app_client)
    expected = {
        "es": "2 números parecen no asignados en Brasil: líneas 1, 3.",
        "pt_BR": "2 números parecem não atribuídos no plano de numeração do país (Brasil): "
        "linhas 1, 3.",
        "en": "2 numbers look unassigned in Brazil: lines 1, 3.",
    }
    for language, sentence in expected.items():
        await speaks("ana", language)
        client = await browser_session(app_client, "ana")
        campaign = await a_campaign(group, f"Guia {language}")
        r = await client.post(
            f"/campaigns/{campaign['id']}/leads/upload",
            files={"file": ("guia.csv", GUIDE_CSV.encode(), "text/csv")},
            headers=htmx(client),
        )
        found = re.search(r'id="upload-unassigned">([^<]*)', r.text)
        assert found is not None, r.text
        assert html.unescape(found.group(1)).startswith(sentence), language


def button(page: str) -> str:
    found = re.search(r'id="submit">([^<]+)<', page)
    assert found is not None
    return found.group(1)


def html_lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found is not None
    return found.group(1)


async def test_the_login_page_follows_the_browsers_language(app_client: ApiClient) -> None:
    """With no choice made (no od_lang cookie, no ?lang=) the login page was English
    whatever the browser asked for."""
    asks = {
        "es-ES,es;q=0.9,en;q=0.8": "es",
        "pt-BR,pt;q=0.9": "pt_BR",
        "pt-PT": "pt_BR",  # every Portuguese reads the Brazilian catalogue
        "fr-FR,fr;q=0.9,es;q=0.5,en;q=0.3": "es",  # by q
        "de-DE": "en",
        "": "en",
    }
    for header, language in asks.items():
        page = (await app_client.client().get("/login", headers={"Accept-Language": header})).text
        chosen = (await app_client.client().get(f"/login?lang={language}")).text
        assert html_lang(page) == html_lang(chosen), header
        assert button(page) == button(chosen), header
    # An explicit choice wins over the browser: ?lang= (remembered), then the cookie.
    browser = app_client.client()
    spanish = {"Accept-Language": "es-ES"}
    assert html_lang((await browser.get("/login?lang=pt_BR", headers=spanish)).text) == "pt-BR"
    assert html_lang((await browser.get("/login", headers=spanish)).text) == "pt-BR"


async def test_a_users_saved_language_wins_over_the_browsers(app_client: ApiClient) -> None:
    await app_client.user("master", username="raiz")
    await speaks("raiz", "pt_BR")
    browser = app_client.client()
    browser.headers["Accept-Language"] = "es-ES"
    r = await browser.post("/login", data={"username": "raiz", "password": PASSWORD})
    assert r.status_code == 303
    assert html_lang((await browser.get("/users")).text) == "pt-BR"
    assert (await users.authenticate("raiz", PASSWORD)).language == "pt_BR"  # not changed


async def test_a_master_whose_language_nobody_chose_gets_the_browsers_at_first_login(
    app_client: ApiClient,
) -> None:
    """`users create-master` on a C-locale shell (a container's) chooses no language:
    the first login adopts the browser's, and it stays the user's after that."""
    await users.create_master("operador", PASSWORD, None)
    assert (await users.authenticate("operador", PASSWORD)).language == "en"  # until then
    browser = app_client.client()
    browser.headers["Accept-Language"] = "pt-BR,pt;q=0.9,en;q=0.5"
    r = await browser.post("/login", data={"username": "operador", "password": PASSWORD})
    assert r.status_code == 303
    assert html_lang((await browser.get("/users")).text) == "pt-BR"
    assert (await users.authenticate("operador", PASSWORD)).language == "pt_BR"
    # chosen now: a later login from a Spanish browser does not change it
    later = app_client.client()
    later.headers["Accept-Language"] = "es-ES"
    await later.post("/login", data={"username": "operador", "password": PASSWORD})
    assert html_lang((await later.get("/users")).text) == "pt-BR"
    # a browser naming none of the pages' languages: English, and chosen from then on
    await users.create_master("operator", PASSWORD, None)
    other = app_client.client()
    other.headers["Accept-Language"] = "de-DE"
    await other.post("/login", data={"username": "operator", "password": PASSWORD})
    me = await other.get("/users")
    assert html_lang(me.text) == "en"
    assert await users.adopt_language(await users.authenticate("operator", PASSWORD), "es") is False


async def test_a_user_created_on_the_web_starts_in_the_creators_language(
    app_client: ApiClient,
) -> None:
    group = await app_client.group("Ventas")
    await app_client.user("master", username="jefa")
    await speaks("jefa", "es")
    jefa = await browser_session(app_client, "jefa")
    form = (await jefa.get("/users/new", headers=htmx(jefa))).text
    assert re.search(r'<option value="es" selected>Español</option>', form), form
    for username, chosen in (("nuevo", "es"), ("novo", "pt_BR")):
        r = await jefa.post(
            "/users",
            data={
                "username": username,
                "password": "Una-clave-larga-1",
                "password_confirm": "Una-clave-larga-1",
                "role": "campaign_supervisor",
                "group_ids": str(group),
                "language": chosen,
            },
            headers=htmx(jefa),
        )
        assert r.status_code == 200 and "HX-Redirect" in r.headers, r.text
        assert (await users.authenticate(username, "Una-clave-larga-1")).language == chosen
    # Created without a language (the CLI, a service call): the creator's.
    jefa_actor = await users.authenticate("jefa", PASSWORD)
    await users.create_user(
        jefa_actor,
        {
            "username": "otro",
            "password": "Una-clave-larga-1",
            "role": "campaign_supervisor",
            "group_ids": [group],
        },
    )
    assert (await users.authenticate("otro", "Una-clave-larga-1")).language == "es"


async def test_the_seeded_default_group_is_named_in_the_viewers_language(
    app_client: ApiClient,
) -> None:
    """The group the installation seeds stayed "Default Dialer Group" in es and pt_BR;
    renamed, it is the admin's data and shows as typed."""
    await app_client.user("master", username="jefa")
    names = {
        "es": "Grupo predeterminado del marcador",
        "pt_BR": "Grupo padrão do discador",
        "en": "Default Dialer Group",
    }
    for language, name in names.items():
        await speaks("jefa", language)
        jefa = await browser_session(app_client, "jefa")
        page = (await jefa.get("/groups")).text
        assert f"<td>{name}</td>" in page, language
        form = (await jefa.get("/users/new", headers=htmx(jefa))).text
        assert f">{name}</option>" in form, language
    seeded = next(
        g
        for g in (await groups.list_groups(SYSTEM))["items"]
        if g["name"] == "Default Dialer Group"
    )
    await groups.update_group(SYSTEM, seeded["id"], {"name": "Ventas Brasil"})
    page = (await jefa.get("/groups")).text
    assert "<td>Ventas Brasil</td>" in page and "Default Dialer Group" not in page
