"""Test helpers for plugin authors (and our own tests).

* :func:`registered_plugin` — register a plugin object with the process-wide
  plugin manager for the duration of a ``with`` block (or a fixture).
* :class:`PluginManager` — ``PluginManager()`` is a manager with nothing
  loaded (``.load_all()`` adds the built-ins and installed plugins): register
  your plugin in it and ask it for factories, or fire events through it
  (``await pm.notify("call_finished", call=...)``) as the engine does.
* :class:`FakeClock` — a :class:`~opendialer.sdk.PluginContext` whose time
  only moves when the test says so (``sleep`` moves it too); it counts
  ``wake_pacer()`` calls in :attr:`FakeClock.pacer_wakes`.
* :class:`FakeDncServer` — a real HTTPS server on 127.0.0.1 (certificates
  from ``trustme``) speaking the Do-Not-Call JSON contract, whose behaviour the
  test switches: answer, slow, 5xx, malformed JSON, wrong number, drop the
  connection, stop and start again.

Example::

    from opendialer.testing import FakeClock, FakeDncServer, registered_plugin

    def test_my_connector():
        with FakeDncServer(blocked={"554181021119"}) as server, registered_plugin(
            my_plugin, "my_plugin"
        ) as pm:
            factory = pm.factories("dnc_providers")["acme"]
            ...
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opendialer.core.plugins import PluginManager, get_plugin_manager


@contextmanager
def registered_plugin(
    plugin: object, name: str, manager: PluginManager | None = None
) -> Iterator[PluginManager]:
    """Register ``plugin`` as ``name`` (default: in the process-wide manager); remove it after."""
    pm = manager or get_plugin_manager()
    if not pm.register(plugin, name=name, source="test"):
        failure = next(f for f in reversed(pm.failures) if f.name == name)
        raise RuntimeError(f"plugin {name!r} did not register: {failure.error}")
    try:
        yield pm
    finally:
        pm.unregister(name)


class FakeClock:
    """Time that moves only with :meth:`advance` (or :meth:`sleep`): a complete
    :class:`~opendialer.sdk.PluginContext` for a plugin's tests.

    ``settings`` are the context's settings (e.g. ``{"node_id": "node-a"}``)."""

    def __init__(
        self, start: datetime | None = None, settings: Mapping[str, Any] | None = None
    ) -> None:
        self._now = start or datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        self._monotonic = 1000.0
        self._settings = dict(settings or {})
        #: How many times the plugin called ``wake_pacer()``.
        self.pacer_wakes = 0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, seconds: float) -> None:
        """Move time by ``seconds`` at once (and let other tasks run)."""
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)

    def wake_pacer(self) -> None:
        self.pacer_wakes += 1

    @property
    def node_id(self) -> str:
        return str(self._settings.get("node_id") or "")

    @property
    def settings(self) -> Mapping[str, Any]:
        return self._settings

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds


#: What a :class:`FakeDncServer` does with the next requests.
MODES = ("answer", "slow", "error", "malformed", "wrong_number", "no_flag", "drop")


class FakeDncServer:
    """An HTTPS Do-Not-Call service on 127.0.0.1 (a free port) for tests.

    ``blocked`` numbers answer ``doNotCall: true``, others ``false``. ``list_date``
    (text, e.g. ``"2026-11-30"``) is the age of the list it declares: in the
    ``X-DNC-List-Date`` header, or with ``list_date_in = "body"`` in the answer's
    ``list_date`` field (None: it declares none). Set
    ``mode`` to one of :data:`MODES` to misbehave; ``delay_s`` is the delay of
    mode ``"slow"``. ``ca_pem`` is the CA to trust; ``hostname`` is the name in
    the server certificate (default ``127.0.0.1``: use another to test a
    host-name mismatch). ``requests`` counts the requests served and
    ``connections`` the TCP connections accepted (keep-alive reuses one).
    """

    def __init__(
        self,
        blocked: set[str] | None = None,
        *,
        hostname: str = "127.0.0.1",
        path: str = "/donotcall",
    ) -> None:
        import trustme  # test extra

        self.blocked: set[str] = set(blocked or ())
        self.mode = "answer"
        self.delay_s = 5.0
        self.list_date: str | None = None
        self.list_date_in = "header"
        self.path = path
        self.requests = 0
        self.connections = 0
        self.ca = trustme.CA()
        self.ca_pem = self.ca.cert_pem.bytes().decode()
        self._certificate = self.ca.issue_cert(hostname)
        self._port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._port}{self.path}"

    def start(self) -> FakeDncServer:
        """Start serving (again, on the same port after :meth:`stop`)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._certificate.configure_cert(context)
        server = _Server(("127.0.0.1", self._port), _handler_for(self))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """An outage: the port stops accepting connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeDncServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failed TLS handshakes are what some tests are about


def _handler_for(fake: FakeDncServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real services

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            fake.connections += 1
            super().setup()

        def do_POST(self) -> None:
            fake.requests += 1
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            mode = fake.mode
            if mode == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if mode == "slow":
                time.sleep(fake.delay_s)
            if mode == "error":
                self._send(503, b'{"error": "maintenance"}')
                return
            try:
                number = str(json.loads(raw)["number"])
            except (ValueError, KeyError, TypeError):
                self._send(400, b'{"error": "bad request"}')
                return
            body: Any = {"number": number, "doNotCall": number in fake.blocked}
            if mode == "malformed":
                self._send(200, b'{"number": "' + number.encode() + b'", "doNotCall": tr')
                return
            if mode == "wrong_number":
                body["number"] = "999" + number
            if mode == "no_flag":
                body["doNotCall"] = "yes"
            headers = {}
            if fake.list_date is not None:
                if fake.list_date_in == "body":
                    body["list_date"] = fake.list_date
                else:
                    headers["X-DNC-List-Date"] = fake.list_date
            self._send(200, json.dumps(body).encode(), headers)

        def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


__all__ = ["MODES", "FakeClock", "FakeDncServer", "PluginManager", "registered_plugin"]
