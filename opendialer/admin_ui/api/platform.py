"""``/api/v1/platform``: the communication platform (SIP server, transport, dialer ports).

Rules (Master only, write-only passwords, field-named validation) live in
``core/services/platform_config.py`` (fields and checks: the platform plugin's
``option_fields``/``validate_options``); a running SIP platform picks changes up
without a restart. ``PlatformIn``/``PlatformOut`` are the published (OpenAPI) shape
of the SIP plugin's options, ``plugins/platform_sip/options.py``;
tests/test_platform_options_contract.py checks both name the same fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from opendialer.core.services import platform_choice, platform_config
from opendialer.core.services.common import Actor


class PortIn(msgspec.Struct, forbid_unknown_fields=True):
    """A dialer port. Leave ``password`` out to keep the stored one."""

    user: str
    auth_user: str | None = None
    password: str | None = None
    has_password: bool | None = None  # accepted (and ignored) so a GET body can be PUT back


class PortOut(msgspec.Struct):
    user: str
    auth_user: str
    has_password: bool


class PlatformIn(msgspec.Struct, forbid_unknown_fields=True):
    server: str
    transport: str = "udp"
    domain: str = ""
    register: bool = True
    ports: list[PortIn] = []
    caller_id: str = ""
    no_answer_timeout_s: float = 30
    rtp_port_min: int = 20000
    rtp_port_max: int = 29999
    follow_redirects: bool = False
    max_redirects: int = 3
    # read-only fields of the GET body, ignored
    revision: int | None = None
    updated_at: datetime | None = None
    configured: bool | None = None


class PlatformOut(msgspec.Struct):
    server: str
    transport: str
    domain: str
    register: bool
    ports: list[PortOut]
    caller_id: str
    no_answer_timeout_s: float
    rtp_port_min: int
    rtp_port_max: int
    follow_redirects: bool
    max_redirects: int
    revision: int
    updated_at: datetime | None
    configured: bool


class Registration(msgspec.Struct):
    user: str
    state: str
    in_call: bool = False
    detail: str = ""
    last_code: int | None = None
    expires_at: datetime | None = None
    next_attempt_at: datetime | None = None
    failures: int = 0


class PlatformChoiceIn(msgspec.Struct, forbid_unknown_fields=True):
    """The platform the dialing engine uses: one of ``available``."""

    name: str
    # read-only fields of the GET body, ignored
    available: list[str] | None = None
    environment: str | None = None
    effective: str | None = None


class PlatformChoiceOut(msgspec.Struct):
    #: The stored choice (None: none yet — started campaigns do not dial).
    name: str | None
    #: The platforms the installed plugins offer (``sip``, ``sim``, …).
    available: list[str]
    #: ``OPENDIALER_PLATFORM`` on the node that answered: it overrides the choice there.
    environment: str | None
    #: What an engine on that node runs.
    effective: str | None


def _body(data: PlatformIn) -> dict[str, Any]:
    body = msgspec.to_builtins(data)
    body["ports"] = [{k: v for k, v in p.items() if v is not None} for p in body["ports"]]
    if isinstance(data.no_answer_timeout_s, float) and data.no_answer_timeout_s.is_integer():
        body["no_answer_timeout_s"] = int(data.no_answer_timeout_s)
    return body


class PlatformController(Controller):
    path = "/platform"
    tags = ["platform"]

    @get("/", summary="The communication platform's configuration (Master; no passwords)")
    async def get_platform(self, actor: NamedDependency[Actor]) -> PlatformOut:
        return msgspec.convert(
            await platform_config.get_platform_config(actor), PlatformOut, strict=False
        )

    @put("/", summary="Replace the communication platform's configuration (Master)")
    async def put_platform(
        self, actor: NamedDependency[Actor], data: JSONBody[PlatformIn]
    ) -> PlatformOut:
        body = await platform_config.update_platform_config(actor, _body(data))
        return msgspec.convert(body, PlatformOut, strict=False)

    @get("/choice", summary="Which platform the dialing engine uses (Master)")
    async def get_choice(self, actor: NamedDependency[Actor]) -> PlatformChoiceOut:
        return msgspec.convert(await platform_choice.get(actor), PlatformChoiceOut)

    @put(
        "/choice",
        summary="Choose the platform the dialing engine uses (Master); running engines "
        "switch within seconds, calls in progress end on the platform they started on",
    )
    async def put_choice(
        self, actor: NamedDependency[Actor], data: JSONBody[PlatformChoiceIn]
    ) -> PlatformChoiceOut:
        return msgspec.convert(await platform_choice.put(actor, data.name), PlatformChoiceOut)

    @get("/registrations", summary="Registration state of each dialer port (Master)")
    async def registrations(self, actor: NamedDependency[Actor]) -> list[Registration]:
        await platform_config.get_platform_config(actor)  # Master only, like the config
        return msgspec.convert(platform_config.registrations(), list[Registration], strict=False)


ROUTES: list[Any] = [PlatformController]
