"""A third-party DNC kind checks its own service settings (``validate_options``): the
API reports what it refuses field by field and stores what it returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api_client import ApiClient

from opendialer import sdk
from opendialer.testing import registered_plugin

REGIONS = ("north", "south")


class RegionalRegistry:
    """A registry reached at one fixed address per region: the url is derived, the
    region required."""

    @staticmethod
    def validate_options(options: Mapping[str, Any]) -> dict[str, Any]:
        problems = sdk.OptionProblems()
        region = dict(options["options"]).get("region")
        if region not in REGIONS:
            problems.errors.append(
                sdk.OptionError(
                    f"options.region must be one of {', '.join(REGIONS)}", option="options.region"
                )
            )
        if options.get("url") not in (None, ""):
            problems.errors.append(
                sdk.OptionError("a regional registry has no url: give its region", option="url")
            )
        problems.raise_if_any()
        return {
            "url": f"https://{region}.registry.example/check",
            "options": {"region": region, "checked": True},
        }


class RegionalRegistryPlugin:
    @sdk.hookimpl
    def register_dnc_providers(self) -> dict[str, Any]:
        return {"regional": RegionalRegistry}


async def test_a_third_party_kind_validates_its_own_options(app_client: ApiClient) -> None:
    master = await app_client.login_as("master")
    with registered_plugin(RegionalRegistryPlugin(), "regional_registry"):
        refused = await master.post(
            "/api/v1/dnc-services",
            json={
                "name": "Regional",
                "kind": "regional",
                "url": "https://elsewhere.example/",
                "options": {"region": "east"},
            },
        )
        created = await master.post(
            "/api/v1/dnc-services",
            json={"name": "Regional", "kind": "regional", "options": {"region": "south"}},
        )
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["detail"]) for e in refused.json()["errors"]] == [
        ("options.region", "options.region must be one of north, south"),
        ("url", "a regional registry has no url: give its region"),
    ]
    assert created.status_code == 201, created.text
    assert (created.json()["url"], created.json()["options"]) == (
        "https://south.registry.example/check",
        {"region": "south", "checked": True},
    )


async def test_a_kind_without_its_own_check_gets_the_generic_one(app_client: ApiClient) -> None:
    class Unchecked:
        pass

    class UncheckedPlugin:
        @sdk.hookimpl
        def register_dnc_providers(self) -> dict[str, Any]:
            return {"unchecked": Unchecked}

    master = await app_client.login_as("master")
    with registered_plugin(UncheckedPlugin(), "unchecked_registry"):
        plain_http = await master.post(
            "/api/v1/dnc-services",
            json={"name": "Plain", "kind": "unchecked", "url": "http://registry.example/"},
        )
        bad_bundle = await master.post(
            "/api/v1/dnc-services",
            json={"name": "Bundle", "kind": "unchecked", "ca_bundle": "not a certificate"},
        )
    assert plain_http.status_code == 201, plain_http.text  # its url is its own business
    assert bad_bundle.status_code == 422 and bad_bundle.json()["field"] == "ca_bundle"
