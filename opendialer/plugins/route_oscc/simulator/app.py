"""The simulator's HTTP face: the contact-center protocol at the configured
paths and field names (the ``oscc`` routing target's ``paths``/``fields``
options, same shape), plus a control API under ``/_sim`` for tests:

=========================================  =====================================================
``GET /_sim/state``                        sessions, queues, counters, the request log
``PUT /_sim/queues/{name}``                ``{"agents": 5, "free": 3}``
``POST /_sim/queues/{name}/deliver``       ``{"handle_ms": 2000}``: a free agent takes a call
``POST /_sim/latency``                     ``{"ms": 800, "operations": ["keepalive"]}`` (0 = off)
``POST /_sim/faults``                      ``{"status": 500, "count": 3, "operations": [...]}``;
                                           status 0 aborts the connection mid-answer
``DELETE /_sim/faults``                    clear the faults
``POST /_sim/sessions/drop``               forget every session (as a contact-center restart)
``PUT /_sim/ivr``                          ``{"free": 4}``: what ``GET /ivr/status`` answers
                                           (``{"freeChannels": 4}``; latency/faults: ``ivr_status``)
=========================================  =====================================================

A plain ASGI callable (no framework): the protocol's paths are data, not routes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from opendialer.plugins.route_oscc.options import Operation, parse_fields, parse_paths
from opendialer.plugins.route_oscc.simulator.model import ContactCenter, Fault, Latency, SimError

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _DropConnection(Exception):
    pass


class SimulatorApp:
    def __init__(
        self,
        center: ContactCenter,
        *,
        base_path: str = "",
        paths: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
        session_header: str = "",
    ) -> None:
        self.center = center
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.session_header = session_header.lower()
        self.fields = parse_fields(fields or {})
        self.routes: dict[tuple[str, str], Operation] = {
            (op.method, self.base_path + op.path): op for op in parse_paths(paths or {}).values()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        method, path = scope["method"], scope["path"]
        try:
            if path.startswith("/_sim/"):
                try:
                    status, answer = self._control(method, path[len("/_sim/") :], _json(body))
                except (TypeError, ValueError, AttributeError) as exc:
                    raise SimError(400, f"bad control request: {exc}") from None
            else:
                status, answer = await self._protocol(scope, method, path, body)
        except _DropConnection:
            # ASGI has no "close the socket": promise a body, send none, and fail,
            # so the server aborts the connection mid-answer.
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100")],
                }
            )
            raise ConnectionAbortedError("simulated dropped connection") from None
        except SimError as exc:
            status, answer = exc.status, {"error": exc.message}
        payload = json.dumps(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    # -- the contact-center protocol ------------------------------------------

    async def _protocol(
        self, scope: Scope, method: str, path: str, body: bytes
    ) -> tuple[int, dict[str, Any]]:
        op = self.routes.get((method, path))
        if op is None and (method, path) == ("GET", "/ivr/status"):
            op = Operation("ivr_status", method, path)
        if op is None:
            raise SimError(404, f"no operation at {method} {path}")
        center = self.center
        delay = center.delay_for(op.name)
        if delay:
            await asyncio.sleep(delay)
        fault = center.fault_for(op.name)
        if fault is not None:
            center.record(op.name, None, fault.status)
            if fault.status == 0:
                raise _DropConnection
            raise SimError(fault.status, f"simulated fault on {op.name}")
        if method == "GET":
            query = dict(parse_qsl(scope.get("query_string", b"").decode()))
            message: dict[str, Any] = {
                k: v.split(",") if k == self.fields["queues"] else v for k, v in query.items()
            }
        else:
            message = _json(body)
        if op.name == "ivr_status":
            if center.ivr_free is None:
                raise SimError(404, "no IVR status set (PUT /_sim/ivr)")
            return 200, {"freeChannels": center.ivr_free}
        f = self.fields
        sid = message.get(f["session_id"])
        if self.session_header:
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            sid = headers.get(self.session_header, sid)
        try:
            if op.name == "events":
                answer = await self._events(message, sid)
            else:
                answer = self._serve(op.name, message, sid)
        except SimError as exc:
            center.record(op.name, sid, exc.status)
            raise
        center.record(
            op.name, answer.get(f["session_id"], sid), 200, queues=message.get(f["queues"])
        )
        return 200, answer

    async def _events(self, message: dict[str, Any], sid: Any) -> dict[str, Any]:
        f = self.fields
        session = self.center.session(sid)
        try:
            wait_s = min(30.0, max(0.0, float(message.get(f["wait_ms"], 0)) / 1000))
        except (TypeError, ValueError):
            raise SimError(400, f"{f['wait_ms']!r} must be a number of milliseconds") from None
        changes = await self.center.wait_events(session, wait_s)
        return {f["event_list"]: [{f["queue_name"]: n, f["free_agents"]: v} for n, v in changes]}

    def _serve(self, operation: str, message: dict[str, Any], sid: Any) -> dict[str, Any]:
        center, f = self.center, self.fields
        if operation == "register":
            return {f["session_id"]: center.register(str(message.get(f["application"], ""))).id}
        session = center.session(sid, logged_on=operation not in ("logon", "unregister"))
        if operation == "logon":
            center.logon(
                session, str(message.get(f["user"], "")), str(message.get(f["password"], ""))
            )
            return {}
        if operation == "keepalive":
            center.keepalive(session)
            return {}
        if operation == "unregister":
            center.unregister(session)
            return {}
        names = message.get(f["queues"])
        if not isinstance(names, list):
            raise SimError(400, f"{f['queues']!r} must be a list of queue names")
        items = [
            {f["queue_name"]: n, f["free_agents"]: free} for n, free in center.free_agents(names)
        ]
        return {f["queue_list"]: items}

    # -- control API ----------------------------------------------------------

    def _control(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        center = self.center
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["state"]:
            return 200, center.state()
        if parts[0] == "queues" and len(parts) == 2 and method == "PUT":
            return 200, center.set_queue(parts[1], body.get("agents"), body.get("free")).as_dict()
        if parts[0] == "queues" and parts[2:] == ["deliver"] and method == "POST":
            return 200, {"delivered": center.deliver(parts[1], body.get("handle_ms", 1000) / 1000)}
        if parts == ["latency"] and method == "POST":
            ms = int(body.get("ms", 0))
            center.latency = Latency(ms, _ops(body)) if ms > 0 else None
            return 200, {"latency_ms": ms}
        if parts == ["faults"] and method == "POST":
            center.faults.append(Fault(int(body.get("status", 500)), _ops(body), body.get("count")))
            return 200, {"faults": len(center.faults)}
        if parts == ["faults"] and method == "DELETE":
            center.faults.clear()
            return 200, {"faults": 0}
        if parts == ["ivr"] and method == "PUT":
            center.ivr_free = body.get("free")
            return 200, {"ivr_free": center.ivr_free}
        if parts == ["sessions", "drop"] and method == "POST":
            return 200, {"dropped": center.drop_sessions()}
        raise SimError(404, f"no control operation {method} /_sim/{path}")


def _ops(body: dict[str, Any]) -> frozenset[str] | None:
    ops = body.get("operations")
    return frozenset(ops) if ops else None


def _json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        raise SimError(400, "body is not JSON") from None
    if not isinstance(value, dict):
        raise SimError(400, "body must be a JSON object")
    return value
