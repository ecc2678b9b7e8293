"""How a change of an embedded Do-Not-Call list reaches every node: an append as a
delta on a second node, a replace swapped in whole (never half a list), PostgreSQL
notifications and the version poll that covers for lost ones, and a CLI import seen
by a running application — each within the product's 5 seconds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from api_client import ApiClient
from eventually import eventually
from helpers import run_cli

from opendialer.core import dnc
from opendialer.core.dnc import SystemContext
from opendialer.core.services import dnc_bulk, dnc_numbers
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.plugins.dnc_embedded.index import NumberIndex
from opendialer.plugins.dnc_embedded.provider import EmbeddedDncProvider

pytestmark = pytest.mark.pg

#: The product promises every node sees a change within 5 seconds.
DEADLINE_S = 5.0


@pytest.fixture
async def nodes() -> AsyncIterator[Callable[..., Any]]:
    """Start providers of the Embedded Service as separate nodes would (no shared cache)."""
    started: list[EmbeddedDncProvider] = []

    async def node(**options: Any) -> EmbeddedDncProvider:
        service = await dnc_numbers.find_service()
        service["options"] = {**service["options"], **options}
        provider = EmbeddedDncProvider(dnc.config_from_row(service), SystemContext())
        await provider.start()
        started.append(provider)
        return provider

    yield node
    for provider in started:
        await provider.close()
    await dnc.close_all()


def e164_lines(numbers: np.ndarray) -> bytes:
    return ("\n".join(str(int(n)) for n in numbers) + "\n").encode()


def test_a_merged_index_is_the_union_and_leaves_the_old_one_alone() -> None:
    rng = np.random.default_rng(4)
    listed = rng.integers(5_500_000_000, 5_600_000_000, size=50_000)
    more = np.concatenate([listed[:100], rng.integers(5_500_000_000, 5_600_000_000, 5_000)])
    old = NumberIndex(listed)
    new = old.merged(more)
    assert new.to_array().tolist() == sorted(set(listed.tolist()) | set(more.tolist()))
    assert old.to_array().tolist() == sorted(set(listed.tolist()))
    assert old.merged(listed[:10]) is old  # nothing new: the same index
    runs = np.concatenate([np.sort(listed[:1000]), np.sort(more[200:])])
    assert NumberIndex.adopt(runs, sorted_runs=True).to_array().tolist() == sorted(
        set(listed[:1000].tolist()) | set(more[200:].tolist())
    )


async def test_an_append_reaches_a_second_node_as_a_delta(db: Database, nodes: Any) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n554181021120\n", replace=True)
    first, second = await nodes(), await nodes()
    assert len(second) == 2 and second.last_load is not None
    assert second.last_load.kind == "full"

    await dnc_numbers.import_numbers(SYSTEM, b"554181021121\n554181021119\n")  # one new
    await eventually(
        lambda: first.list_version == second.list_version == 2,
        DEADLINE_S,
        "the append on both nodes",
    )
    assert second.last_load.kind == "delta" and second.last_load.numbers_read == 1
    assert (await second.check("554181021121")).do_not_call is True
    assert (await second.check("554181021119")).do_not_call is True
    assert (await second.check("554181021122")).do_not_call is False
    assert len(first) == len(second) == 3


async def test_a_replace_is_never_seen_half_done(db: Database, nodes: Any) -> None:
    # More numbers than one write chunk: the replace is written in several steps.
    rng = np.random.default_rng(9)
    both = 5511900000000 + rng.choice(10**9, size=2 * 120_000, replace=False)
    old, new = both[:120_000], both[120_000:]
    await dnc_numbers.import_numbers(SYSTEM, e164_lines(old), number_format="e164")
    node = await nodes(poll_interval_s=0.05)
    probes = np.concatenate([old[::600], new[::600]])
    before = np.concatenate([np.ones(old[::600].size, bool), np.zeros(new[::600].size, bool)])
    after = ~before
    seen: list[tuple[int | None, bytes]] = []
    done = asyncio.Event()

    async def look_up_all_the_time() -> None:
        while not done.is_set():
            # No await between the two: what one lookup of the engine would see.
            seen.append((node.list_version, node.are_listed(probes).tobytes()))
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(look_up_all_the_time())
    try:
        await dnc_numbers.import_numbers(
            SYSTEM, e164_lines(new), replace=True, number_format="e164"
        )
        await eventually(lambda: seen[-1][0] == 2, DEADLINE_S, "the replace seen by the lookups")
    finally:
        done.set()
        await watcher
    assert {version for version, _ in seen} == {1, 2}
    for version, verdicts in seen:
        expected = before if version == 1 else after
        assert verdicts == expected.tobytes(), f"a mixed list at version {version}"
    assert node.last_load is not None and node.last_load.kind == "full"
    assert len(node) == new.size


async def test_polling_alone_sees_every_change(db: Database, nodes: Any) -> None:
    node = await nodes(listen=False, poll_interval_s=0.1)
    assert not node.listening
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    await eventually(lambda: node.list_version == 1, DEADLINE_S, "the append, by polling")
    await dnc_numbers.import_numbers(SYSTEM, b"12025550123\n", replace=True, region="US")
    await eventually(lambda: node.list_version == 2, DEADLINE_S, "the replace, by polling")
    assert (await node.check("12025550123")).do_not_call is True
    assert (await node.check("554181021119")).do_not_call is False


async def test_a_notification_wakes_a_node_that_does_not_poll(db: Database, nodes: Any) -> None:
    if not db.is_postgres:
        pytest.skip("change notifications are PostgreSQL's (SQLite nodes poll)")
    node = await nodes(poll_interval_s=600)  # only NOTIFY can bring the change in time
    await eventually(lambda: node.listening, DEADLINE_S, "the LISTEN connection")
    # Listening looks once; whichever brings this first change, that look is spent by then.
    await dnc_numbers.import_numbers(SYSTEM, b"554181021118\n")
    await eventually(lambda: node.list_version == 1, DEADLINE_S, "the first append")
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    await eventually(lambda: node.list_version == 2, DEADLINE_S, "the append, by notification")
    assert (await node.check("554181021119")).do_not_call is True
    assert "notified" in node.health().detail


async def test_changes_made_while_the_listen_connection_was_down_are_not_lost(
    db: Database, nodes: Any
) -> None:
    if not db.is_postgres:
        pytest.skip("change notifications are PostgreSQL's (SQLite nodes poll)")
    node = await nodes(poll_interval_s=600)
    await eventually(lambda: node.listening, DEADLINE_S, "the LISTEN connection")
    lost_pid = node.listener_backend_pid
    await db.engine.run_ddl(f"SELECT pg_terminate_backend({int(lost_pid)})")  # type: ignore[arg-type]
    await eventually(
        lambda: node.listener_backend_pid != lost_pid, DEADLINE_S, "the connection dropping"
    )
    # The import's NOTIFY may well go nowhere; listening again must look once.
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    await eventually(lambda: node.list_version == 1, DEADLINE_S, "the append after the reconnect")
    await eventually(lambda: node.listening, DEADLINE_S, "listening again")
    assert node.listener_backend_pid not in (None, lost_pid)
    assert (await node.check("554181021119")).do_not_call is True


async def test_a_cli_import_is_seen_by_the_running_application(
    app_client: ApiClient, cli_env: dict[str, str], tmp_path: Path
) -> None:
    r = await app_client.post("/donotcall", json={"number": "5541981021119"})
    assert r.status_code == 200 and r.json()["doNotCall"] is False  # the list is loaded
    listing = tmp_path / "dnc.csv"
    listing.write_text("phone\n(41) 98102-1119\n", encoding="utf-8")
    result = await asyncio.to_thread(run_cli, "dnc", "import", str(listing), env=cli_env)
    assert result.returncode == 0, result.stderr

    async def seen() -> bool:
        r = await app_client.post("/donotcall", json={"number": "5541981021119"})
        return r.json()["doNotCall"] is True

    await eventually(seen, DEADLINE_S, "the server seeing the import", interval=0.05)


async def test_reading_the_list_back_in_one_consistent_snapshot(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Snapshot parts plus rows added after them make the list; a delta read returns
    only what was added; an append past the limit rewrites the snapshot."""
    service_id = int((await dnc_numbers.find_service())["id"])
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n554181021121\n", replace=True)
    await dnc_numbers.import_numbers(SYSTEM, b"554181021120\n")
    whole = await dnc_bulk.read_list(service_id)
    assert whole is not None and not whole.delta and whole.version == 2
    assert whole.base.tolist() == [554181021119, 554181021121]  # the replace's snapshot
    assert whole.added.tolist() == [554181021120]  # the append, as a row after it
    delta = await dnc_bulk.read_list(service_id, since=1)
    assert delta is not None and delta.delta and delta.added.tolist() == [554181021120]
    after_replace = await dnc_bulk.read_list(service_id, since=0)  # older than the replace
    assert after_replace is not None and not after_replace.delta
    assert (await dnc_numbers.read_numbers(service_id)).tolist() == [
        554181021119,
        554181021120,
        554181021121,
    ]
    monkeypatch.setattr(dnc_bulk.layout, "SNAPSHOT_DELTA_LIMIT", 3)
    monkeypatch.setattr(dnc_bulk.layout, "SNAPSHOT_PART", 2)  # several parts, in order
    report = await dnc_numbers.import_numbers(SYSTEM, b"554181021118\n554181021122\n")
    assert report.on_list == 5 and report.added == 2
    compacted = await dnc_bulk.read_list(service_id)
    assert compacted is not None and compacted.added.size == 0
    assert compacted.base.tolist() == [554181021118 + i for i in range(5)]
    later = await dnc_numbers.import_numbers(SYSTEM, b"554181021123\n")
    assert later.on_list == 6


async def test_an_import_written_in_many_chunks_completes(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every chunk of a write goes to the database on the connection's own thread; a
    statement handed between threads was reset under a running chunk ("bad parameter
    or other API misuse", SQLite) about once in a few hundred chunks."""
    monkeypatch.setattr(dnc_bulk.layout, "WRITE_CHUNK", 20)
    numbers = 5511900000000 + np.arange(0, 60_000, 3)
    for replace in (True, False):
        report = await dnc_numbers.import_numbers(
            SYSTEM, e164_lines(numbers[int(replace) :: 2]), replace=replace, number_format="e164"
        )
        assert report.added == numbers[int(replace) :: 2].size
    assert (await dnc_numbers.read_numbers(report.service_id)).tolist() == numbers.tolist()
