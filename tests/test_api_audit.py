"""/api/v1/campaigns/{id}/audit over HTTP: the audit trail as CSV, oldest first, for
[from, to) — days in the campaign's time zone —, by role; rows made here with the
engine's own writer, as the engine would."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_client import ApiClient

from opendialer.core.engine.audit import AuditEntry, AuditKind, deferred, write_audit
from opendialer.core.engine.transactions import write_transaction
from opendialer.core.services.audit_export import CSV_COLUMNS
from opendialer.core.storage import Database

pytestmark = pytest.mark.pg

#: Midnight of 2030-01-08 in São Paulo (UTC-3): 03:00 UTC.
SP_MIDNIGHT = datetime(2030, 1, 8, 3, 0, tzinfo=UTC)


async def setup(app_client: ApiClient) -> tuple[Any, int, int]:
    group = await app_client.group()
    admin = await app_client.login_as("campaign_admin", [group])
    r = await admin.post(
        "/api/v1/campaigns",
        json={
            "name": "Audited",
            "group_id": group,
            "start_date": "2030-01-07",
            "end_date": "2030-01-11",
            "start_time": "09:00",
            "end_time": "18:00",
            "pilot_number": "4000",
            "timezone": "America/Sao_Paulo",
        },
    )
    assert r.status_code == 201, r.text
    return admin, r.json()["id"], group


async def write_rows(db: Database, campaign_id: int) -> None:
    """One row a minute either side of midnight in São Paulo, and a deferral."""
    entries = [
        AuditEntry(
            kind=AuditKind.ATTEMPT_STARTED,
            at=SP_MIDNIGHT + timedelta(minutes=offset),
            campaign=campaign_id,
            number="12025550143",
            lead=1,
            attempt=1,
            call_id=f"call-{offset}",
            node="node-a",
        )
        for offset in (-1, 0, 1)
    ]
    entries.append(
        deferred(
            campaign_id=campaign_id,
            lead_id=2,
            number="12025550144",
            rule="local_hours",
            until=SP_MIDNIGHT + timedelta(hours=12),
            at=SP_MIDNIGHT + timedelta(hours=2),
        )
    )
    async with write_transaction(db):
        await write_audit(entries)


def parse(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    return list(reader)


async def test_export_streams_the_range_as_csv(app_client: ApiClient, db: Database) -> None:
    admin, cid, _ = await setup(app_client)
    await write_rows(db, cid)

    r = await admin.get(f"/api/v1/campaigns/{cid}/audit", params={"from": "2030-01-08"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="audit-Audited-20300108T0300-now.csv"'
    )
    rows = parse(r.text)
    # From midnight in São Paulo: the row a minute before is another day.
    assert [row["call_id"] for row in rows] == ["call-0", "call-1", ""]
    first = rows[0]
    assert first["at"] == "2030-01-08T03:00:00+00:00"
    assert (first["campaign"], first["campaign_name"]) == (str(cid), "Audited")
    assert (first["kind"], first["number"], first["node"]) == (
        "attempt_started",
        "12025550143",
        "node-a",
    )
    assert json.loads(rows[2]["detail"]) == {
        "rule": "local_hours",
        "until": "2030-01-08T15:00:00+00:00",
    }
    assert rows[2]["kind"] == "deferred" and rows[2]["lead"] == "2"

    # Half-open: an instant as the end leaves the row at that instant out.
    r = await admin.get(
        f"/api/v1/campaigns/{cid}/audit",
        params={"from": "2030-01-07", "to": "2030-01-08T03:01:00Z"},
    )
    assert [row["call_id"] for row in parse(r.text)] == ["call--1", "call-0"]
    r = await admin.get(f"/api/v1/campaigns/{cid}/audit", params={"to": "2030-01-08"})
    assert [row["call_id"] for row in parse(r.text)] == ["call--1"]
    r = await admin.get(f"/api/v1/campaigns/{cid}/audit", params={"from": "2030-01-09"})
    assert parse(r.text) == []


async def test_export_refuses_a_range_it_cannot_read(app_client: ApiClient) -> None:
    admin, cid, _ = await setup(app_client)
    r = await admin.get(f"/api/v1/campaigns/{cid}/audit", params={"from": "yesterday"})
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"]) == ("audit.range_invalid", "from")
    r = await admin.get(
        f"/api/v1/campaigns/{cid}/audit", params={"from": "2030-01-08", "to": "2030-01-08"}
    )
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"]) == ("audit.range_empty", "to")


async def test_who_may_export(app_client: ApiClient, db: Database) -> None:
    _, cid, group = await setup(app_client)
    await write_rows(db, cid)
    supervisor = await app_client.login_as("campaign_supervisor", [group])
    r = await supervisor.get(f"/api/v1/campaigns/{cid}/audit")
    assert r.status_code == 200 and len(parse(r.text)) == 4
    other_group = await app_client.group()
    for role in ("campaign_admin", "campaign_supervisor"):
        stranger = await app_client.login_as(role, [other_group])
        r = await stranger.get(f"/api/v1/campaigns/{cid}/audit")
        assert r.status_code == 404, (role, r.text)
        assert r.json()["code"] == "campaign.not_found"
    for role in ("master", "manager"):
        outsider = await app_client.login_as(role, [group] if role == "manager" else [])
        r = await outsider.get(f"/api/v1/campaigns/{cid}/audit")
        assert r.status_code == 403, (role, r.text)
    r = await app_client.get(f"/api/v1/campaigns/{cid}/audit")
    assert r.status_code == 401
