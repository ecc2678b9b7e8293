"""A third-party DNC kind checks its own service settings (``validate_options``): the
API reports what it refuses field by field and stores what it returns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from api_client import ApiClient

from opendialer import sdk
from opendialer.core.services.error_messages import MESSAGES
from opendialer.testing import registered_plugin

REGIONS = ("north", "south")
# A plugin codes its refusals under its own prefix, with the sentence the pages show.
ERRORS = {
    "regional.region_unknown": sdk.ErrorMessage(
        "options.region must be one of %(regions)s", "Choose one of %(regions)s."
    ),
    "regional.no_url": sdk.ErrorMessage(
        "a regional registry has no url: give its region", "Give the region, not a url."
    ),
}


@pytest.fixture(autouse=True)
def regional_error_codes() -> Iterator[None]:
    """Registered while a test runs (a plugin registers when it loads): the reference
    page test must not see them."""
    sdk.register_error_messages(ERRORS)
    yield
    for code in ERRORS:
        MESSAGES.pop(code, None)


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
                    "regional.region_unknown", option="options.region", regions=", ".join(REGIONS)
                )
            )
        if options.get("url") not in (None, ""):
            problems.errors.append(sdk.OptionError("regional.no_url", option="url"))
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
