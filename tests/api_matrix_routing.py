"""Permission-matrix rows of the routing targets (``admin_ui/api/routing.py``).

Only a Master sees or changes the routing targets' options; they are not scoped to
groups. Each cell stores its own options first, so a DELETE has something to delete.
"""

from __future__ import annotations

from typing import Any

from api_matrix import Row, World, expect

from opendialer.core.services import routing_config
from opendialer.core.services.common import SYSTEM

MASTER_ONLY = expect(master=200, manager=403, campaign_admin=403, campaign_supervisor=403)
MASTER_ONLY_DELETE = expect(master=204, manager=403, campaign_admin=403, campaign_supervisor=403)


async def configured_ivr(world: World, role: str, scope: str) -> dict[str, Any]:
    await routing_config.put(SYSTEM, "ivr", {"channels": 4})
    return {"target": "ivr"}


ROWS = [
    Row("GET", "/api/v1/routing", MASTER_ONLY),
    Row("GET", "/api/v1/routing/{target}", MASTER_ONLY, target=configured_ivr),
    Row(
        "PUT",
        "/api/v1/routing/{target}",
        MASTER_ONLY,
        target=configured_ivr,
        body=lambda w, role, scope, params: {"options": {"channels": 30}},
    ),
    Row("DELETE", "/api/v1/routing/{target}", MASTER_ONLY_DELETE, target=configured_ivr),
    Row(
        "POST",
        "/api/v1/routing/{target}/test",
        MASTER_ONLY,
        target=configured_ivr,
        body=lambda w, role, scope, params: {"options": {"channels": 3}},
    ),
]
