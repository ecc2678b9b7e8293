"""Pacing modes per campaign, their safe-harbour message, and pacing decisions.

``campaign``: ``pacing_mode`` (``progressive`` | ``power`` | ``predictive``, or a
third party's mode), ``lines_per_agent`` (power), ``abandon_target_pct``,
``abandon_window`` (``24h`` | ``30d`` | ``campaign``), ``abandon_timeout_ms`` and
``max_lines_per_agent``. See ``docs/pacing.md``.

``campaign_message``: audio a campaign plays on a call, by ``kind``
(``safe_harbour``: played to a person the dialer abandons). The audio is stored
as uploaded-and-converted 8 kHz G.711 µ-law (``audio``) so every engine node plays
the same bytes with no conversion at call time; ``duration_ms`` and the uploaded
``filename`` are shown on the form. Apart from ``campaign`` so that reading
campaigns never drags the audio along.

``pacing_decision``: the last decision of each engine node for each campaign it
paces (dial level, why, the abandon rate it saw), written every few seconds; the
Summary page and the API read it, whichever process serves them.

``call_record (campaign, ended_at)`` is indexed for the abandon-rate count of a
window (every node counts the same rows, so the budget is shared).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.postgres import PostgresEngine

from opendialer.core.storage import piccolo_conf

ID = "2026-12-07T07:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "pacing modes, safe-harbour message, pacing decisions"

CAMPAIGN_COLUMNS = [
    "ALTER TABLE campaign ADD COLUMN pacing_mode VARCHAR(32) NOT NULL DEFAULT 'progressive'",
    "ALTER TABLE campaign ADD COLUMN lines_per_agent REAL NOT NULL DEFAULT 1.5",
    "ALTER TABLE campaign ADD COLUMN abandon_target_pct REAL NOT NULL DEFAULT 3.0",
    "ALTER TABLE campaign ADD COLUMN abandon_window VARCHAR(16) NOT NULL DEFAULT '30d'",
    "ALTER TABLE campaign ADD COLUMN abandon_timeout_ms INTEGER NOT NULL DEFAULT 2000",
    "ALTER TABLE campaign ADD COLUMN max_lines_per_agent REAL NOT NULL DEFAULT 3.0",
]


def _tables(binary: str) -> list[str]:
    return [
        "CREATE TABLE IF NOT EXISTS campaign_message ("
        " campaign INTEGER NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,"
        " kind VARCHAR(32) NOT NULL,"
        f" audio {binary} NOT NULL,"
        " duration_ms INTEGER NOT NULL,"
        " filename VARCHAR(255) NOT NULL DEFAULT '',"
        " uploaded_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (campaign, kind))",
        "CREATE TABLE IF NOT EXISTS pacing_decision ("
        " campaign INTEGER NOT NULL REFERENCES campaign (id) ON DELETE CASCADE,"
        " node VARCHAR(64) NOT NULL,"
        " mode VARCHAR(32) NOT NULL,"
        " dial_level REAL NOT NULL,"
        " predicted_free_agents REAL NOT NULL,"
        " launched INTEGER NOT NULL,"
        " reason VARCHAR(32) NOT NULL,"
        " detail TEXT NOT NULL DEFAULT '',"
        " abandon_rate_pct REAL NOT NULL DEFAULT 0,"
        " live_answered INTEGER NOT NULL DEFAULT 0,"
        " abandoned INTEGER NOT NULL DEFAULT 0,"
        " occupancy REAL NULL,"
        " decided_at TIMESTAMPTZ NOT NULL,"
        " PRIMARY KEY (campaign, node))",
        "CREATE INDEX IF NOT EXISTS call_record_campaign_ended ON call_record (campaign, ended_at)",
    ]


async def apply() -> None:
    engine = piccolo_conf.DB
    binary = "BYTEA" if isinstance(engine, PostgresEngine) else "BLOB"
    for statement in [*CAMPAIGN_COLUMNS, *_tables(binary)]:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
