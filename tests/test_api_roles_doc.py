"""docs/api.md's role table says what the server does: every "—" cell is a 403 on a
representative route of that row, every other cell is not."""

from __future__ import annotations

from pathlib import Path

from api_client import ApiClient

API_DOC = Path(__file__).parent.parent / "docs" / "api.md"
ROLES = ("master", "manager", "campaign_admin", "campaign_supervisor")
#: One read route per row of the table.
ROUTE_OF_ROW = {
    "users": "/api/v1/users",
    "groups": "/api/v1/groups",
    "campaigns, schedules, leads, calls, summaries": "/api/v1/campaigns",
    "DNC services": "/api/v1/dnc-services",
}


def role_table() -> dict[str, list[str]]:
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split("## Roles", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ROUTE_OF_ROW:
            rows[cells[0]] = cells[1:]
    return rows


async def test_the_role_table_matches_the_server(app_client: ApiClient) -> None:
    table = role_table()
    assert set(table) == set(ROUTE_OF_ROW), table
    group = await app_client.group()
    clients = {
        role: await app_client.login_as(role, [] if role == "master" else [group]) for role in ROLES
    }
    for row, cells in table.items():
        for role, cell in zip(ROLES, cells, strict=True):
            status = (await clients[role].get(ROUTE_OF_ROW[row])).status_code
            assert (status == 403) == (cell == "—"), (row, role, cell, status)
