"""Permission-matrix rows of the compliance routes: a campaign's policy and the presets.
Campaign Administrators change their groups' campaigns' policies (STARTED or not),
Campaign Supervisors read them, Masters and Managers have no access to campaigns (403),
another group's campaign is a 404."""

from __future__ import annotations

from api_matrix import Row, expect
from api_matrix_campaigns import READ, _write, campaign_target

PATH = "/api/v1/campaigns/{campaign_id}/compliance"

ROWS: list[Row] = [
    Row(
        "GET",
        "/api/v1/compliance-presets",
        expect(master=403, manager=403, campaign_admin=200, campaign_supervisor=200),
    ),
    Row("GET", PATH, READ, target=campaign_target),
    Row(
        "PUT",
        PATH,
        _write(200),
        target=campaign_target,
        body=lambda w, role, scope, params: {"preset": "fr_2022"},
    ),
]
