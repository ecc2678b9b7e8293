"""Storage on both backends: migrations, seed rows, constraints, the CLI's migrate."""

from __future__ import annotations

from datetime import date, time

import pytest
from helpers import run_cli

from opendialer.core.storage import Database, DatabaseUrlError, engine_for
from opendialer.core.storage.migrate import migrate, pending_migrations
from opendialer.core.storage.tables import Campaign, DialerGroup, DncService, Lead, Schedule

pytestmark = pytest.mark.pg


async def test_migrate_is_idempotent_and_seeds_defaults(db: Database) -> None:
    report = await migrate(db)
    assert report.applied == []
    assert len(report.already_applied) >= 2
    assert await pending_migrations(db) == []
    groups = await DialerGroup.select(DialerGroup.name, DialerGroup.enabled).run()
    assert groups == [{"name": "Default Dialer Group", "enabled": True}]
    services = await DncService.select(DncService.name, DncService.kind, DncService.builtin).run()
    assert services == [{"name": "Embedded Service", "kind": "embedded", "builtin": True}]


async def _campaign(name: str = "c1") -> int:
    group = await DialerGroup.select(DialerGroup.id).first().run()
    row = Campaign(
        name=name,
        group=group["id"],
        start_date=date(2026, 1, 1),
        end_date=date(2026, 1, 31),
        start_time=time(9),
        end_time=time(17),
        pilot_number="5000",
    )
    await row.save().run()
    return row.id


async def test_one_schedule_per_campaign_and_date(db: Database) -> None:
    cid = await _campaign()
    await (
        Schedule(campaign=cid, date=date(2026, 1, 5), start_time=time(9), end_time=time(17))
        .save()
        .run()
    )
    with pytest.raises(Exception, match=r"(?i)unique"):
        await (
            Schedule(campaign=cid, date=date(2026, 1, 5), start_time=time(10), end_time=time(12))
            .save()
            .run()
        )


async def test_one_lead_per_phone_in_a_campaign(db: Database) -> None:
    cid = await _campaign()
    await Lead(campaign=cid, name="a", phone="5541999990000").save().run()
    with pytest.raises(Exception, match=r"(?i)unique"):
        await Lead(campaign=cid, name="b", phone="5541999990000").save().run()
    other = await _campaign("c2")
    await Lead(campaign=other, name="a", phone="5541999990000").save().run()  # fine elsewhere


async def test_hot_query_indexes_exist(db: Database) -> None:
    if db.is_postgres:
        rows = await db.engine.run_ddl("SELECT indexname AS name FROM pg_indexes")
    else:
        rows = await db.engine.run_ddl("SELECT name FROM sqlite_master WHERE type = 'index'")
    names = {r["name"] for r in rows}
    assert {
        "lead_due_order",
        "lead_campaign_status",
        "call_record_campaign_time",
        "schedule_campaign_date",
        "dnc_number_service_number",
    } <= names


def test_cli_migrate_twice_on_each_backend(cli_env: dict[str, str]) -> None:
    first = run_cli("db", "migrate", env=cli_env)
    assert first.returncode == 0, first.stderr
    second = run_cli("db", "migrate", env=cli_env)
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout


def test_default_database_is_sqlite_in_the_data_dir(tmp_path, monkeypatch) -> None:
    import os

    env = dict(os.environ)
    env.pop("OPENDIALER_DATABASE_URL", None)
    env["OPENDIALER_DATA_DIR"] = str(tmp_path)
    result = run_cli("db", "migrate", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "opendialer.sqlite").exists()


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://root@localhost/x", "unsupported database URL scheme 'mysql'"),
        ("sqlite://", "needs a file path"),
    ],
)
def test_bad_database_urls_are_explained(url: str, message: str) -> None:
    with pytest.raises(DatabaseUrlError, match=message):
        engine_for(url)


def test_cli_reports_a_bad_url_in_one_line(tmp_path) -> None:
    import os

    env = {
        **os.environ,
        "OPENDIALER_DATABASE_URL": "oracle://x",
        "OPENDIALER_DATA_DIR": str(tmp_path),
    }
    result = run_cli("db", "migrate", env=env)
    assert result.returncode == 1
    assert "unsupported database URL scheme 'oracle'" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reports_unreachable_postgres(tmp_path) -> None:
    import os

    env = {
        **os.environ,
        "OPENDIALER_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
        "OPENDIALER_DATA_DIR": str(tmp_path),
    }
    result = run_cli("db", "migrate", env=env)
    assert result.returncode == 1
    assert "cannot reach PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
