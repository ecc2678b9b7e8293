"""A campaign's compliance policy and each lead's time zone (issue 18).

- ``campaign.compliance``: the policy as JSON (``core/services/compliance_policy.py``);
  ``{}`` is the preset ``none``.
- ``lead.timezone``: the lead's zone key — one IANA zone, or several space-separated
  when its number or region spans several (the intersection of their hours is
  used); NULL: the campaign's zone. ``lead.timezone_source``: csv, region, number or
  campaign. ``lead.deferred_reason``: why a policy put the lead off (a rule code and
  its values, JSON), shown on the lead; cleared when it is dialed.
- ``lead_zone_due (campaign, timezone, next_attempt_at, id)``: the claim of a campaign
  with local hours reads each allowed zone's first due leads from it.
- ``call_record_phone_time (phone, created_at)``: contact limits count a number's
  attempts over every campaign in a day and 30 days.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from opendialer.core.storage import piccolo_conf

ID = "2026-12-07T15:00:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "compliance policy, lead time zones"

STATEMENTS = [
    "ALTER TABLE campaign ADD COLUMN compliance TEXT NOT NULL DEFAULT '{}'",
    "ALTER TABLE lead ADD COLUMN timezone VARCHAR(200) NULL DEFAULT NULL",
    "ALTER TABLE lead ADD COLUMN timezone_source VARCHAR(16) NOT NULL DEFAULT 'campaign'",
    "ALTER TABLE lead ADD COLUMN deferred_reason TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX IF NOT EXISTS lead_zone_due ON lead (campaign, timezone, next_attempt_at, id)",
    "CREATE INDEX IF NOT EXISTS call_record_phone_time ON call_record (phone, created_at)",
]


async def apply() -> None:
    engine = piccolo_conf.DB
    for statement in STATEMENTS:
        await engine.run_ddl(statement)


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="opendialer", description=DESCRIPTION)
    manager.add_raw(apply)
    return manager
