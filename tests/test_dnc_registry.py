"""The DNC provider registry (core/dnc.py): one provider per service however many
checks arrive at once, replaced providers closed, all closed on shutdown — and on
PostgreSQL the database connections they hold come back when they are closed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from opendialer.core import dnc
from opendialer.core.dnc import DncRegistry
from opendialer.core.services import dnc_numbers
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import DncService
from opendialer.plugins.dnc_embedded.provider import EmbeddedDncProvider

Count = Callable[[], Awaitable[tuple[int, int]]]


def connection_counter(db_url: str) -> Count:
    """(connections to the test database, those of them LISTENing), from
    pg_stat_activity, the counting connection itself left out."""

    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(db_url)
        try:
            row = await conn.fetchrow(
                "SELECT count(*) AS total, "
                "count(*) FILTER (WHERE query ILIKE 'LISTEN%') AS listening "
                "FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await conn.close()
        return int(row["total"]), int(row["listening"])

    return count


async def eventually(condition: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {timeout_s} s")
        await asyncio.sleep(0.05)


async def test_200_first_checks_build_one_provider_and_one_listen_connection(
    db: Database, db_url: str
) -> None:
    await dnc_numbers.import_numbers(SYSTEM, b"554181021119\n")
    service = await dnc_numbers.find_service()
    count = connection_counter(db_url) if db.is_postgres else None
    registry = DncRegistry()
    await DncService.count().run()  # the pool's first connection is not the provider's
    before = await count() if count else (0, 0)

    async def first_check(n: int) -> bool:
        provider, _ = await registry.provider(service["id"])
        return (await provider.check(f"5541810{n:05d}")).do_not_call

    try:
        verdicts = await asyncio.gather(*(first_check(n) for n in range(200)))
        assert verdicts.count(True) == 0 and len(verdicts) == 200
        assert registry.builds == 1
        [provider] = registry.started_providers().values()
        assert isinstance(provider, EmbeddedDncProvider)
        if count is not None:
            # one LISTEN connection for the service, and nothing else opened for it
            await eventually(lambda: _listening(count, 1))
            total, listening = await count()
            assert listening == before[1] + 1
            assert total <= before[0] + 2, (before, total)  # LISTEN + the list's first read
    finally:
        await registry.close()
    assert registry.started_providers() == {}
    if count is not None:
        await eventually(lambda: _listening(count, before[1]))
        assert (await count())[0] <= before[0] + 1  # the pool may keep the list's read


async def _listening(count: Count, expected: int) -> bool:
    return (await count())[1] == expected


def provider_tasks(service_id: int) -> int:
    """Running watch tasks of embedded providers of ``service_id`` (one per provider)."""
    name = f"dnc-{service_id}-watch"
    return sum(1 for t in asyncio.all_tasks() if t.get_name() == name and not t.done())


async def test_an_edited_service_gets_a_new_provider_and_the_old_one_is_closed(
    db: Database, db_url: str
) -> None:
    service = await dnc_numbers.find_service()
    count = connection_counter(db_url) if db.is_postgres else None
    registry = DncRegistry()
    await DncService.count().run()
    before = await count() if count else (0, 0)
    # Providers of the process's shared registry (other tests') may be running too.
    others = provider_tasks(service["id"])
    try:
        first = await registry.provider_for(service["id"])
        assert provider_tasks(service["id"]) == others + 1
        later = service["updated_at"].replace(year=service["updated_at"].year + 1)
        await (
            DncService.update({DncService.updated_at: later})
            .where(DncService.id == service["id"])
            .run()
        )
        second = await registry.provider_for(service["id"])  # the edited row
        assert second is not first and registry.builds == 2
        assert provider_tasks(service["id"]) == others + 1  # the old one's task is gone
        assert await registry.provider_for(service) is second  # a stale row: kept
        if count is not None:
            await eventually(lambda: _listening(count, before[1] + 1))
    finally:
        await registry.close()
    assert provider_tasks(service["id"]) == others
    if count is not None:
        await eventually(lambda: _listening(count, before[1]))


async def test_the_process_registry_is_shared_and_closed_on_shutdown(db: Database) -> None:
    service = await dnc_numbers.find_service()
    try:
        provider = await dnc.provider_for(service["id"])
        assert dnc.shared_registry().started_providers() == {service["id"]: provider}
        assert await dnc.provider_for(service) is provider
    finally:
        await dnc.close_all()
    assert dnc.started_providers() == {}


@pytest.mark.parametrize("kind", ["not_installed"])
async def test_an_unknown_kind_fails_closed(db: Database, kind: str) -> None:
    from opendialer.sdk.contracts import DncUnavailable

    row = DncService(name="Nowhere", kind=kind)
    await row.save().run()
    registry = DncRegistry()
    with pytest.raises(DncUnavailable, match="no provider for kind 'not_installed'"):
        await registry.provider(row.id)
    assert registry.builds == 0 and registry.started_providers() == {}
