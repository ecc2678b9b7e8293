"""Permission-matrix rows of the communication platform (``admin_ui/api/platform.py``).

Only a Master sees or changes the platform; it is not scoped to groups.
"""

from __future__ import annotations

from api_matrix import Row, expect

MASTER_ONLY_READ = expect(master=200, manager=403, campaign_admin=403, campaign_supervisor=403)

ROWS = [
    Row("GET", "/api/v1/platform", MASTER_ONLY_READ),
    Row(
        "PUT",
        "/api/v1/platform",
        MASTER_ONLY_READ,
        body=lambda w, role, scope, params: {
            "server": "127.0.0.1:5060",
            "transport": "udp",
            "domain": "dialer.test",
            "register": False,
            "ports": [{"user": "port001"}],
        },
    ),
    Row("GET", "/api/v1/platform/registrations", MASTER_ONLY_READ),
    Row("GET", "/api/v1/platform/choice", MASTER_ONLY_READ),
    Row(
        "PUT",
        "/api/v1/platform/choice",
        MASTER_ONLY_READ,
        body=lambda w, role, scope, params: {"name": "sim"},
    ),
]
