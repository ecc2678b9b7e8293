"""A platform plugin owns its options and its doctor check; core only stores and runs them.

Driven through the public doors: the SIP factory's ``validate_options`` (the SDK
contract), the platform configuration service, and ``health.run_checks`` with a
throw-away platform plugin registered the way a third party's would be.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from opendialer import sdk
from opendialer.admin_ui.api.platform import PlatformIn, PlatformOut
from opendialer.core import health
from opendialer.core.plugins import get_plugin_manager
from opendialer.core.services import platform_config
from opendialer.plugins.platform_sip import SipPlatform

GOOD: dict[str, Any] = {
    "server": "10.0.0.5:5060",
    "ports": [{"user": "3001", "password": "secret"}],
}


def test_the_sip_factory_implements_the_sdk_contracts() -> None:
    assert isinstance(SipPlatform, sdk.EditsOptions)
    assert isinstance(SipPlatform, sdk.DiagnosesPlatform)
    assert isinstance(SipPlatform, sdk.ProbesServer)


def test_the_api_shape_names_the_plugin_fields() -> None:
    fields = {f.name for f in SipPlatform.option_fields}
    read_only = {"revision", "updated_at", "configured"}
    assert {f.name for f in msgspec.structs.fields(PlatformIn)} - read_only == fields
    assert {f.name for f in msgspec.structs.fields(PlatformOut)} - read_only == fields


def test_every_problem_is_reported_at_once_by_the_plugin() -> None:
    with pytest.raises(sdk.OptionsInvalid) as refused:
        SipPlatform.validate_options({**GOOD, "transport": "sctp", "rtp_port_min": 80})
    assert [e.option for e in refused.value.errors] == ["transport", "rtp_port_min"]
    assert [e.code for e in refused.value.errors] == [
        "platform_sip.transport_invalid",
        "platform_sip.rtp_port_out_of_range",
    ]
    assert refused.value.option == "transport"


def test_a_password_left_out_is_kept_from_the_stored_options() -> None:
    stored = SipPlatform.validate_options(GOOD)
    again = SipPlatform.validate_options({**GOOD, "ports": [{"user": "3001"}]}, previous=stored)
    assert again["ports"][0]["password"] == "secret"
    shown = SipPlatform.shown_options(again)
    assert shown["ports"] == [{"user": "3001", "auth_user": "3001", "has_password": True}]


def test_the_service_turns_the_plugin_problems_into_one_field_error_listing_all() -> None:
    with pytest.raises(platform_config.ValidationFailed) as refused:
        platform_config.validate({**GOOD, "transport": "sctp", "rtp_port_min": 80})
    assert refused.value.field == "transport"
    assert refused.value.code == "platform_sip.transport_invalid"
    listed = refused.value.as_dict()["errors"]
    assert [(e["field"], e["code"]) for e in listed] == [
        ("transport", "platform_sip.transport_invalid"),
        ("rtp_port_min", "platform_sip.rtp_port_out_of_range"),
    ]


class ProbedPlatform:
    """A third party's platform with its own check (named after the platform)."""

    seen: list[sdk.PlatformDiagnosis] = []

    def __init__(self, options: Any = None, context: Any = None) -> None:
        pass

    @classmethod
    async def diagnose(cls, diagnosis: sdk.PlatformDiagnosis) -> list[sdk.CheckResult]:
        cls.seen.append(diagnosis)
        return [sdk.CheckResult(diagnosis.name, sdk.CheckStatus.WARN, "line of the plugin")]


class ThirdParty:
    @sdk.hookimpl
    def register_platforms(self) -> dict[str, Any]:
        return {"zeta_voip": ProbedPlatform}


async def test_a_platform_plugin_contributes_its_check_after_plugins(db: Any) -> None:
    pm = get_plugin_manager()
    assert pm.register(ThirdParty(), name="zeta_voip_plugin")
    try:
        ids = health.check_ids()
        assert ids.index("plugins") < ids.index("sip") < ids.index("zeta_voip") < ids.index("dnc")
        results = await health.run_checks(db, only=["zeta_voip"])
        unreachable = await health.run_checks(None, only=["zeta_voip"])
    finally:
        pm.unregister("zeta_voip_plugin")
    assert [(r.check, r.status, r.message) for r in results] == [
        ("zeta_voip", health.Status.WARN, "line of the plugin")
    ]
    assert ProbedPlatform.seen[-1].name == "zeta_voip"
    # it reads stored options: without a database it is "not checked", like the others
    assert [r.message for r in unreachable] == ["not checked: the database cannot be reached"]
    assert "zeta_voip" not in health.check_ids()
