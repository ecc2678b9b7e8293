"""The embedded Do-Not-Call list: import (append, replace, refusals), the in-memory
index, reload on list changes (also from a CLI import in another process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from eventually import eventually
from helpers import run_cli

from opendialer.core import dnc
from opendialer.core.domain import Role
from opendialer.core.services import dnc_csv, dnc_numbers
from opendialer.core.services.common import SYSTEM, Actor
from opendialer.core.services.errors import PermissionDenied, ValidationFailed
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.plugins.dnc_embedded.index import NumberIndex
from opendialer.plugins.dnc_embedded.provider import EmbeddedDncProvider
from opendialer.sdk.contracts import DncUnavailable

pytestmark = pytest.mark.pg

ADMIN = Actor(user_id=7, username="ada", role=Role.CAMPAIGN_ADMIN)
SUPERVISOR = Actor(user_id=8, username="sue", role=Role.CAMPAIGN_SUPERVISOR)


@pytest.fixture(autouse=True)
async def close_providers() -> AsyncIterator[None]:
    yield
    await dnc.close_all()


async def listed(service_id: int | None = None) -> set[int]:
    service = await dnc_numbers.find_service(service_id=service_id)
    return set((await dnc_numbers.read_numbers(service["id"])).tolist())


def test_index_agrees_with_a_python_set() -> None:
    rng = np.random.default_rng(5)
    numbers = rng.integers(5_500_000_000, 5_600_000_000, size=20_000)
    index = NumberIndex(numbers)
    probes = np.concatenate([numbers[:500], rng.integers(5_500_000_000, 5_600_000_000, 500)])
    expected = set(numbers.tolist())
    assert index.contains_many(probes).tolist() == [int(p) in expected for p in probes]
    assert all((int(p) in index) == (int(p) in expected) for p in probes[::7])
    assert len(index) == len(expected)
    assert 0 not in NumberIndex.empty() and not NumberIndex.empty().contains_many([1]).any()
    assert 10**15 not in index and -1 not in index  # beyond both ends


async def test_import_normalises_like_leads_and_reports_counts(db: Database) -> None:
    content = (
        "\ufeffnumber\n"  # BOM + header
        "554181021119\n"
        "+55 41 98102-1119\n"
        "(41) 3333-4444\n"  # national: region BR
        "\n"
        "554181021119,already listed\n"
    ).encode()
    report = await dnc_numbers.import_numbers(ADMIN, content, region="BR")
    assert report.service_name == "Embedded Service"
    assert report.lines == 6 and report.numbers_in_file == 3
    assert report.added == 3 and report.on_list == 3 and report.list_version == 1
    assert await listed() == {554181021119, 5541981021119, 554133334444}


async def test_append_then_replace(db: Database) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n554181021120\n")
    again = await dnc_numbers.import_numbers(SYSTEM, b"554181021120\n554181021121\n")
    assert again.added == 1 and again.on_list == 3 and again.list_version == 2
    replaced = await dnc_numbers.import_numbers(SYSTEM, b"12025550123\n", replace=True, region="US")
    assert replaced.on_list == 1 and replaced.list_version == 3
    assert await listed() == {12025550123}


async def test_invalid_lines_refuse_the_whole_file_with_line_numbers(db: Database) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    with pytest.raises(ValidationFailed) as caught:
        await dnc_numbers.import_numbers(
            SYSTEM, b"554181021120\nnot a phone\n554181021121\n12\n", replace=True
        )
    error = caught.value
    assert error.line == 2 and error.extra["invalid_count"] == 2
    assert [i["line"] for i in error.extra["invalid"]] == [2, 4]  # type: ignore[union-attr]
    assert "line 2: 'not a phone'" in error.detail and "nothing was imported" in error.detail
    assert await listed() == {554181021119}  # the old list, untouched
    skipped = await dnc_numbers.import_numbers(
        SYSTEM, b"554181021120\nnot a phone\n", skip_invalid=True
    )
    assert skipped.added == 1 and [i.line for i in skipped.invalid] == [2]


async def test_e164_format_rejects_national_numbers(db: Database) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await dnc_numbers.import_numbers(
            SYSTEM, b"+554181021119\n04181021119\n", number_format="e164"
        )
    assert caught.value.line == 2
    ok = await dnc_numbers.import_numbers(SYSTEM, b"+554181021119\n", number_format="e164")
    assert ok.added == 1


async def test_a_write_that_fails_midway_leaves_the_old_list(db: Database) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    big = "\n".join(str(5511900000000 + i) for i in range(150_000)).encode()

    def crash(phase: str, done: int, total: int) -> None:
        if phase == "write" and done < total:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await dnc_numbers.import_numbers(
            SYSTEM, big, replace=True, number_format="e164", progress=crash
        )
    assert await listed() == {554181021119}
    assert await dnc_numbers.list_version((await dnc_numbers.find_service())["id"]) == 1


async def test_who_may_import(db: Database) -> None:
    with pytest.raises(PermissionDenied):
        await dnc_numbers.import_numbers(SUPERVISOR, b"554181021119\n")
    await dnc_numbers.import_numbers(ADMIN, b"554181021119\n")
    http = DncService(name="Remote", kind="http", url="https://dnc.example/donotcall")
    await http.save().run()
    with pytest.raises(ValidationFailed, match="kind 'http'"):
        await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n", service_name="Remote")
    with pytest.raises(ValidationFailed, match="unknown region"):
        await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n", region="XX")


async def test_provider_answers_from_memory_and_reloads_on_change(db: Database) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    service = await dnc_numbers.find_service()
    service["options"] = {"poll_interval_s": 0.1}
    provider = await dnc.provider_for(service)
    assert isinstance(provider, EmbeddedDncProvider)
    assert (await provider.check("554181021119")).do_not_call is True
    verdict = await provider.check("554181021120")
    assert verdict.do_not_call is False and verdict.service == "Embedded Service"
    assert provider.health().ok and "1 numbers" in provider.health().detail
    await dnc_numbers.import_numbers(SYSTEM, b"554181021120\n")
    await eventually(lambda: provider.list_version == 2, 5.0, "the new list version")
    assert (await provider.check("554181021120")).do_not_call is True
    with pytest.raises(DncUnavailable, match=r"E\.164"):
        await provider.check("41-8102")
    assert await dnc.provider_for(service) is provider  # cached per service


async def test_a_cli_import_is_seen_by_a_running_provider(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    service = await dnc_numbers.find_service()
    provider = await dnc.provider_for(service)  # default poll interval (1 s)
    assert isinstance(provider, EmbeddedDncProvider)
    assert (await provider.check("554181021119")).do_not_call is False
    listing = tmp_path / "dnc.csv"
    listing.write_text("phone\n554181021119\n(41) 98102-1119\n", encoding="utf-8-sig")
    result = await asyncio.to_thread(run_cli, "dnc", "import", str(listing), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "added 2 number(s)" in result.stdout
    # The product promises every node sees a change within 5 seconds.
    await eventually(lambda: provider.list_version == 1, 5.0, "the imported list")
    assert (await provider.check("5541981021119")).do_not_call is True


async def test_cli_import_errors_name_the_lines(
    db: Database, cli_env: dict[str, str], tmp_path: Path
) -> None:
    listing = tmp_path / "bad.csv"
    listing.write_text("554181021119\nhello\n", encoding="utf-8")
    result = await asyncio.to_thread(
        run_cli, "dnc", "import", str(listing), "--replace", env=cli_env
    )
    assert result.returncode == 1
    assert "line 2: 'hello'" in result.stderr and "nothing was imported" in result.stderr
    missing = await asyncio.to_thread(
        run_cli, "dnc", "import", str(tmp_path / "nope.csv"), env=cli_env
    )
    assert missing.returncode == 1 and "no such file" in missing.stderr
    assert await listed() == set()


@pytest.mark.parametrize("block_bytes", [64, 1 << 21])
def test_vectorised_e164_reading_agrees_with_line_by_line(
    block_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)
    shapes = [
        lambda n: f"{n}",
        lambda n: f"+{n}",
        lambda n: f"{n}\r",
        lambda n: f"{n},comment",
        lambda n: f" {n} ",
        lambda n: f"0{n}",
        lambda n: f"{n}{n}",
        lambda n: f"{n}x",
        lambda n: "",
        lambda n: "+",
        lambda n: str(n)[:7],
        lambda n: "é",
    ]
    lines = ["number"] + [
        shapes[int(rng.integers(len(shapes)))](int(rng.integers(10**7, 10**15)))
        for _ in range(3000)
    ]
    content = "\n".join(lines).encode()  # no final newline
    expected: list[int] = []
    bad: list[int] = []
    for line_no, line in enumerate(lines[1:], start=2):
        text = line.split(",")[0].strip()
        if not text:
            continue
        try:
            expected.append(dnc_csv.normalise_e164(text))
        except ValueError:
            bad.append(line_no)
    monkeypatch.setattr(dnc_csv, "BLOCK_BYTES", block_bytes)
    parsed = dnc_csv.parse_numbers(content, region="BR", number_format="e164")
    assert sorted(parsed.numbers.tolist()) == sorted(expected)
    assert parsed.invalid_count == len(bad)
    assert [i.line for i in parsed.invalid] == bad[: dnc_csv.MAX_REPORTED_INVALID]
    assert parsed.lines == content.count(b"\n") + (not content.endswith(b"\n"))
