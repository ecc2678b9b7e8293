"""The lead CSV through HTTP and the CLI: BOM, header, quotes, blank lines, Latin-1,
bad numbers and names with their line numbers, duplicates, all-or-nothing and
skip_invalid, 0 rows, binary files, a 100 MB file in bounded memory — and the
phone fast path agreeing with phonenumbers."""

from __future__ import annotations

import asyncio
import random
import tracemalloc
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from api_client import ApiClient
from helpers import run_cli

from opendialer.core.services import campaigns
from opendialer.core.services.common import SYSTEM
from opendialer.core.services.phones import (
    InvalidPhone,
    PhoneNormaliser,
    PhoneNumber,
    normalise_slow,
)
from opendialer.core.storage.tables import DialerGroup

pytestmark = pytest.mark.pg


async def setup(app_client: ApiClient, region: str = "BR") -> tuple[Any, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "CSV",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
            "default_region": region,
        },
    )
    assert r.status_code == 201, r.text
    return admin, r.json()["id"]


async def upload(client: Any, cid: int, body: bytes | str, **params: Any) -> Any:
    return await client.post(
        f"/api/v1/campaigns/{cid}/leads",
        content=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": "text/csv"},
        params=params,
    )


async def leads_of(client: Any, cid: int) -> list[tuple[str, str]]:
    r = await client.get(f"/api/v1/campaigns/{cid}/leads", params={"per_page": 500})
    return [(i["name"], i["phone"]) for i in r.json()["items"]]


async def test_bom_header_quotes_blank_lines_and_description(app_client: ApiClient) -> None:
    admin, cid = await setup(app_client)
    text = (
        "\ufeffNome,Telefone,Descrição\r\n"
        "\r\n"
        '"Souza, Ana",(41) 98102-1119,"VIP, call after 10"\r\n'
        "   \r\n"
        '"João ""Jota"" Silva",+55 11 91234-5678\r\n'
        '"Multi\nLine",5521987654321,\r\n'
    )
    r = await upload(admin, cid, text.encode("utf-8"))
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 3 and r.json()["header"] is True
    assert await leads_of(admin, cid) == [
        ("Souza, Ana", "5541981021119"),
        ('João "Jota" Silva', "5511912345678"),
        ("Multi Line", "5521987654321"),
    ]
    described = (await admin.get(f"/api/v1/campaigns/{cid}/leads", params={"q": "VIP"})).json()
    assert described["items"][0]["description"] == "VIP, call after 10"


async def test_without_header_and_with_semicolons(app_client: ApiClient) -> None:
    admin, cid = await setup(app_client)
    r = await upload(admin, cid, "Ana;41 98102-1119\nBia;41 98102-1118\n")
    assert r.status_code == 201, r.text
    assert r.json()["header"] is False
    assert await leads_of(admin, cid) == [("Ana", "5541981021119"), ("Bia", "5541981021118")]


async def test_latin1_is_reported_on_its_line_not_mangled(app_client: ApiClient) -> None:
    admin, cid = await setup(app_client)
    lines = [f"Lead {n},41 98102-11{n:02d}\n".encode() for n in range(1, 7)]
    lines.insert(6, "José,41 98102-1199\n".encode("latin-1"))  # line 7
    r = await upload(admin, cid, b"".join(lines))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_csv" and body["line"] == 7
    assert body["errors"] == [
        {
            "line": 7,
            "field": "row",
            "reason": "not UTF-8 (looks like Latin-1: re-save the file as UTF-8)",
            "code": "lead_row.not_utf8",
            "params": {},
        }
    ]
    assert await leads_of(admin, cid) == []


async def test_invalid_rows_are_reported_with_line_numbers_and_nothing_imported(
    app_client: ApiClient,
) -> None:
    admin, cid = await setup(app_client)
    text = (
        "name,phone\n"
        "Ana,41 98102-1119\n"  # 2 ok
        ",41 98102-1118\n"  # 3 empty name
        "Bia,12345\n"  # 4 invalid number
        "Caio,\n"  # 5 empty phone
        "Dora,41 98102-1117,note,extra\n"  # 6 four columns
        "Eli,+1 202 555 0143\n"  # 7 ok: a valid US number in a BR campaign
    )
    r = await upload(admin, cid, text)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_csv" and body["errors_total"] == 4
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (3, "name"),
        (4, "phone"),
        (5, "phone"),
        (6, "row"),
    ]
    assert body["errors"][1]["reason"] == (
        "invalid phone number '12345': it has 5 digits; a phone number has 6 to 15"
    )
    assert "skip_invalid" in body["detail"]
    assert await leads_of(admin, cid) == []

    r = await upload(admin, cid, text, skip_invalid="true")
    assert r.status_code == 201, r.text
    assert (r.json()["imported"], r.json()["rejected"], r.json()["errors_total"]) == (2, 4, 4)
    assert await leads_of(admin, cid) == [("Ana", "5541981021119"), ("Eli", "12025550143")]


async def test_duplicates_in_the_file_and_against_existing_leads(app_client: ApiClient) -> None:
    admin, cid = await setup(app_client)
    assert (await upload(admin, cid, "Ana,41 98102-1119\n")).status_code == 201
    text = (
        "Bia,41 98102-1118\n"  # 1
        "Ana again,+55 41 98102-1119\n"  # 2: already a lead
        "Bia twin,(41) 98102 1118\n"  # 3: same number as line 1
        "Caio,41 98102-1117\n"  # 4
    )
    r = await upload(admin, cid, text)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert [(e["line"], e["field"]) for e in errors] == [(2, "phone"), (3, "phone")]
    assert "already a lead" in errors[0]["reason"]
    assert "line 1" in errors[1]["reason"]
    assert await leads_of(admin, cid) == [("Ana", "5541981021119")]
    r = await upload(admin, cid, text, skip_invalid="true")
    assert r.status_code == 201 and r.json()["imported"] == 2, r.text
    assert [n for n, _ in await leads_of(admin, cid)] == ["Ana", "Bia", "Caio"]


@pytest.mark.parametrize(
    "body", [b"", b"\n\n  \n", "\ufeffname,phone\n".encode(), b"name,phone\r\n\r\n"]
)
async def test_a_file_without_rows_is_a_clear_error(app_client: ApiClient, body: bytes) -> None:
    admin, cid = await setup(app_client)
    r = await upload(admin, cid, body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "empty_csv" and "no leads" in r.json()["detail"]


@pytest.mark.parametrize(
    "body, words",
    [
        (b"PK\x03\x04" + bytes(range(256)) * 8, "Excel"),
        (random.Random(1).randbytes(5000), "binary"),
        ("name,phone\nAna,41981021119\n".encode("utf-16"), "UTF-16"),
    ],
)
async def test_a_binary_file_is_refused(app_client: ApiClient, body: bytes, words: str) -> None:
    admin, cid = await setup(app_client)
    r = await upload(admin, cid, body)
    assert r.status_code == 415, r.text
    assert r.json()["error"] == "not_csv" and words in r.json()["detail"]


async def test_the_error_list_is_capped_but_counted(app_client: ApiClient) -> None:
    admin, cid = await setup(app_client)
    text = "".join(f"Lead {n},{n}\n" for n in range(1500))
    r = await upload(admin, cid, text)
    assert r.status_code == 422, r.text
    assert len(r.json()["errors"]) == 1000 and r.json()["errors_total"] == 1500
    assert r.json()["errors"][-1]["line"] == 1000


@pytest.mark.slow
async def test_a_100_mb_file_imports_in_bounded_memory(
    app_client: ApiClient, tmp_path: Path
) -> None:
    """~100,000 rows with long descriptions: the upload is spooled to disk and read
    in batches, so the traced peak stays a small fraction of the file size."""
    admin, cid = await setup(app_client, region="US")
    path = tmp_path / "big.csv"
    filler = "x" * 990
    rows = 100_000

    def write() -> None:
        with path.open("w") as f:
            f.write("name,phone,description\n")
            for n in range(rows):
                f.write(f"Lead {n},+1 202 {200 + n // 10000:03d} {n % 10000:04d},{filler}\n")

    await asyncio.to_thread(write)
    size = path.stat().st_size
    assert size >= 100 * 1000 * 1000

    async def body() -> AsyncIterator[bytes]:
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, 1 << 20):
                yield chunk

    tracemalloc.start()
    try:
        r = await admin.post(
            f"/api/v1/campaigns/{cid}/leads",
            content=body(),
            headers={"Content-Type": "text/csv"},
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == rows
    print(f"traced peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file")
    assert peak < size / 5, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.0f} MB file"
    page = (
        await admin.get(f"/api/v1/campaigns/{cid}/leads", params={"page": 1000, "per_page": 100})
    ).json()
    assert page["total"] == rows and page["items"][-1]["name"] == f"Lead {rows - 1}"


def outcome(normalise: Any, raw: str) -> PhoneNumber | str:
    try:
        return normalise(raw)  # type: ignore[no-any-return]
    except InvalidPhone as exc:
        return f"invalid: {exc}"


def test_the_fast_path_decides_like_phonenumbers() -> None:
    """Valid numbers (phonenumbers' examples with other subscriber digits) and random
    digit strings, written the ways people write them, in regions with one or
    several regions per country code: both paths store the same digits and call the
    same numbers unassigned (or refuse the same shapes)."""
    rnd = random.Random(20261127)
    regions = ["BR", "US", "GB", "DE", "IN", "FR", "MX", "RU", "IT", "AU", "JP", "AR", "CA"]
    checked = fast = unassigned = 0
    for region in regions:
        normalise = PhoneNormaliser(region)
        reference = partial(normalise_slow, region=region)
        cc = str(phonenumbers.country_code_for_region(region))
        samples: list[str] = []
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn = str(example.national_number)
            for _ in range(120):
                tail = "".join(rnd.choice("0123456789") for _ in range(4))
                digits = nsn[:-4] + tail
                samples += [digits, cc + digits, f"+{cc} {digits}", f"({digits[:2]}) {digits[2:]}"]
        for _ in range(600):
            digits = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(4, 15)))
            samples += [digits, cc + digits, "+" + digits, "0" + digits]
        for raw in samples:
            got = outcome(normalise, raw)
            assert got == outcome(reference, raw), (region, raw)
            unassigned += isinstance(got, PhoneNumber) and not got.assigned
        checked += len(samples)
        fast += normalise.fast
    assert fast > checked / 3  # the fast path carries a good share even of these
    assert unassigned > checked / 10  # random digits: many are stored, with a warning


async def test_cli_imports_by_name_or_id_and_reports_bad_rows(
    cli_env: dict[str, str], tmp_path: Path, db: Any
) -> None:
    group = (await DialerGroup.select(DialerGroup.id).first().run())["id"]
    campaign = await campaigns.create_campaign(
        SYSTEM,
        {
            "name": "Promo BR",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "1",
            "default_region": "BR",
        },
    )
    cid = str(campaign["id"])

    def cli(*args: str) -> Any:
        return asyncio.to_thread(run_cli, *args, env=cli_env)

    bad = tmp_path / "bad.csv"
    bad.write_text("name,phone\nAna,41 98102-1119\nBia,123\n,41 98102-1118\n")
    r = await cli("leads", "import", "Promo BR", str(bad))
    assert r.returncode == 1
    assert "line 3 (phone): invalid phone number '123'" in r.stderr
    assert "line 4 (name): empty name" in r.stderr
    assert "nothing was imported" in r.stderr
    r = await cli("leads", "import", cid, str(bad), "--skip-invalid")
    assert r.returncode == 0, r.stderr
    assert "imported 1 lead(s) into 'Promo BR'" in r.stdout
    good = tmp_path / "good.csv"
    good.write_text("Caio,+1 202 555 0143\nDora,202 555 0144\n")
    r = await cli("leads", "import", cid, str(good), "--region", "US")
    assert r.returncode == 0, r.stderr
    assert "imported 2 lead(s)" in r.stdout
    r = await cli("leads", "import", "No such campaign", str(good))
    assert r.returncode == 1 and "no campaign named 'No such campaign'" in r.stderr
