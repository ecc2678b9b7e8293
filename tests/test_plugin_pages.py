"""The admin knows no plugin by name: a third party's routing target and platform
describe themselves (``sdk.HasOptionPage``, ``label``/``description``) and the
pages render them as they render the built-ins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from api_client import PASSWORD, ApiClient

from opendialer import sdk
from opendialer.core.services import routing_config
from opendialer.testing import registered_plugin


class QueueRouter:
    """Replaces the built-in IVR target for IVR campaigns, with its own page."""

    default_for_campaign_types = ("IVR",)
    label = "Queue router"
    option_sections = (
        sdk.OptionSection(
            "Seats",
            (sdk.OptionField("seats", "int", "Seats", None, "Calls at once.", required=True),),
        ),
    )

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        seats = options.get("seats")
        if isinstance(seats, bool) or not isinstance(seats, int) or seats < 0:
            raise sdk.OptionError(
                "route_static.slots_invalid", option="seats", name="seats", value=seats
            )
        return {"seats": seats}

    def __init__(self, options: Any = None, context: Any = None) -> None:
        self.seats = self.validate_options(options or {})["seats"]

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def free_slots(self, request: sdk.RoutingRequest) -> int:
        return self.seats

    def reserve(self, request: sdk.RoutingRequest, call_id: str) -> None:
        return None

    def release(self, call_id: str, transferred: bool) -> None:
        return None

    def health(self, request: sdk.RoutingRequest | None = None) -> sdk.Health:
        return sdk.Health(ok=True)


class EchoPlatform:
    label = "Echo line"
    description = "Every call hears itself."

    def __init__(self, options: Any = None, context: Any = None) -> None:
        pass


class ThirdParty:
    @sdk.hookimpl
    def register_routing_targets(self) -> dict[str, Any]:
        return {"queue_router": QueueRouter}

    @sdk.hookimpl
    def register_platforms(self) -> dict[str, Any]:
        return {"echo": EchoPlatform}


async def master(app: ApiClient) -> httpx.AsyncClient:
    user = await app.user("master", [])
    client: httpx.AsyncClient = app.client()
    r = await client.post("/login", data={"username": user["username"], "password": PASSWORD})
    assert r.status_code == 303, r.text
    return client


async def test_the_ivr_page_is_the_page_of_the_target_ivr_campaigns_default_to(
    app_client: ApiClient,
) -> None:
    client = await master(app_client)
    with registered_plugin(ThirdParty(), "third_party"):
        r = await client.get("/system/ivr")
        assert r.status_code == 200, r.text
        assert "Queue router" in r.text and 'name="seats"' in r.text
        assert 'name="channels"' not in r.text  # the built-in IVR's fields are not shown
        assert 'id="test-routing"' not in r.text  # it offers no connection test
        data = {"csrf_token": client.cookies["od_csrf"], "seats": "-1"}
        refused = await client.post("/system/ivr", data=data)
        assert refused.status_code == 422 and 'id="err-seats"' in refused.text
        data["seats"] = "4"
        saved = await client.post("/system/ivr", data=data)
        assert saved.status_code == 200 and 'id="routing-saved"' in saved.text
        assert await routing_config.load_options("queue_router") == {"seats": 4}
    r = await client.get("/system/ivr")  # the plugin gone: the built-in IVR's page again
    assert 'name="channels"' in r.text and "Queue router" not in r.text
    oscc = await client.get("/system/contact-center")
    assert 'id="test-routing"' in oscc.text


async def test_the_platform_choice_shows_the_label_a_platform_declares(
    app_client: ApiClient,
) -> None:
    client = await master(app_client)
    with registered_plugin(ThirdParty(), "third_party"):
        r = await client.get("/system/platform")
    assert r.status_code == 200, r.text
    assert "Echo line" in r.text and "Every call hears itself." in r.text
    assert "SIP server" in r.text and "Simulator" in r.text
