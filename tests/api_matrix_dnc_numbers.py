"""Permission-matrix rows of the Do-Not-Call list import (``admin_ui/api/dnc_numbers.py``).

Masters and Campaign Administrators import numbers; Supervisors and Managers get 403.
DNC services are shared by every group, so own/foreign scope does not apply.
"""

from __future__ import annotations

from typing import Any

from api_matrix import Raw, Row, World, expect

from opendialer.core.services import dnc_services
from opendialer.core.services.common import SYSTEM


async def embedded_service_target(world: World, role: str, scope: str) -> dict[str, Any]:
    """A fresh embedded list of its own (the built-in one is left alone)."""
    created = await dnc_services.create_service(
        SYSTEM, {"name": world.unique("embedded"), "kind": "embedded"}
    )
    return {"service_id": created["id"]}


ROWS = [
    Row(
        "POST",
        "/api/v1/dnc-services/{service_id}/numbers",
        expect(master=201, manager=403, campaign_admin=201, campaign_supervisor=403),
        target=embedded_service_target,
        body=lambda w, role, scope, params: Raw(b"+55 41 99999-0000\n", "text/csv"),
    ),
]
