"""The audit export streams: rows are read by keyset in batches and written out batch by
batch, so memory stays bounded however many rows a range holds (``bench/audit_export.py``
measures a million); rows sharing one instant (a group commit writes many) are neither
lost nor repeated at a batch's edge."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from opendialer.core.engine.audit import AuditEntry, AuditKind, write_audit
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.services.audit_export import BATCH, open_export
from opendialer.core.services.common import SYSTEM
from opendialer.core.storage import Database
from opendialer.core.storage.tables import Campaign

pytestmark = pytest.mark.pg

T0 = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)
ROWS = 200_000


async def a_campaign() -> int:
    from engine_support import make_campaign

    return await make_campaign(name="Streamed")


async def test_rows_at_one_instant_cross_batch_edges_exactly_once(db: Database) -> None:
    cid = await a_campaign()
    instants = [T0] * 10 + [T0 + timedelta(seconds=1)] * 3 + [T0 + timedelta(seconds=2)]
    async with write_transaction(db):
        await write_audit(
            [
                AuditEntry(AuditKind.ATTEMPT_STARTED, at, cid, call_id=f"call-{i}")
                for i, at in enumerate(instants)
            ]
        )
    export = await open_export(SYSTEM, cid)
    chunks = [chunk async for chunk in export.csv_chunks(batch=3)]
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [r["call_id"] for r in rows] == [f"call-{i}" for i in range(len(instants))]
    assert len(chunks) == 1 + 5  # the header, then five batches of three or fewer


@pytest.mark.slow
async def test_two_hundred_thousand_rows_stream_in_bounded_memory(db: Database) -> None:
    if not db.is_postgres:
        pytest.skip("the rows are made with generate_series (PostgreSQL)")
    cid = await a_campaign()
    await Campaign.raw(
        "INSERT INTO audit_event (at, campaign, campaign_name, lead, attempt, call_id, number,"
        " kind, node, detail)"
        " SELECT {}::timestamptz + i * interval '1 second', {}, 'Streamed', i, 1, 'call-' || i,"
        " '1202555' || lpad(i::text, 4, '0'), 'attempt_ended', 'node-a',"
        ' \'{"disposition": "transferred", "status": "SUCCESS", "amd_verdict": "HUMAN"}\''
        f" FROM generate_series(1, {ROWS}) AS i",
        T0,
        cid,
    ).run()
    export = await open_export(SYSTEM, cid, "2030-01-07", "2030-01-10")
    tracemalloc.start()
    try:
        chunks = lines = size = 0
        async for chunk in export.csv_chunks():
            chunks += 1
            lines += chunk.count("\r\n")
            size += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert lines == ROWS + 1  # every row once, and the header
    assert chunks == 1 + ROWS // BATCH  # read and written out batch by batch
    # The whole file is ~20 MB of text, and far more as row objects; one batch of rows
    # measured 10.5 MB at its peak (the reading included).
    assert size > 19_000_000
    assert peak < 20_000_000, f"peak {peak / 1e6:.1f} MB while streaming"
