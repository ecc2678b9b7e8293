"""The simulated contact center's state: sessions, queues of agents, and the
faults a test has asked for. Pure data and rules; HTTP is in :mod:`.app`."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


class SimError(Exception):
    """An answer other than 200: ``status`` and a message the client will see."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Session:
    id: str
    application: str
    created: float
    last_keepalive: float
    user: str | None = None
    #: Queues changed since this session last asked for events, and its wake-up.
    changed: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Queue:
    name: str
    agents: int
    free: int

    def as_dict(self) -> dict[str, Any]:
        return {"agents": self.agents, "free": self.free, "busy": self.agents - self.free}


@dataclass
class Fault:
    """Answer ``status`` instead of serving (``status`` 0: close the connection)."""

    status: int
    operations: frozenset[str] | None  # None: every protocol operation
    remaining: int | None  # None: until cleared


@dataclass
class Latency:
    ms: int
    operations: frozenset[str] | None


@dataclass
class ContactCenter:
    """Sessions expire when no KeepAlive (or register/logon) came for ``session_timeout_s``."""

    session_timeout_s: float = 30.0
    credentials: dict[str, str] | None = None  # None: any user name and password log on
    queues: dict[str, Queue] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    latency: Latency | None = None
    #: What ``GET /ivr/status`` answers as the IVR's free channels (None: 404).
    ivr_free: int | None = None
    counters: dict[str, int] = field(default_factory=dict)
    log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- control -------------------------------------------------------------

    def set_queue(self, name: str, agents: int | None = None, free: int | None = None) -> Queue:
        queue = self.queues.get(name) or Queue(name, 0, 0)
        before = queue.free
        if agents is not None:
            queue.agents = agents
        if free is not None:
            queue.free = free
        queue.agents = max(queue.agents, queue.free)
        self.queues[name] = queue
        if queue.free != before:
            self._changed(name)
        return queue

    def _changed(self, queue: str) -> None:
        for session in self.sessions.values():
            session.changed.add(queue)
            session.wake.set()

    async def wait_events(self, session: Session, wait_s: float) -> list[tuple[str, int]]:
        """Queues changed since the last call (waiting up to ``wait_s`` for one)."""
        if not session.changed:
            try:
                await asyncio.wait_for(session.wake.wait(), wait_s)
            except TimeoutError:
                pass
        if session.id not in self.sessions:
            raise SimError(401, f"session {session.id!r} ended while waiting for events")
        session.wake.clear()
        names, session.changed = sorted(session.changed), set()
        self.count("events")
        return [(n, self.queues[n].free) for n in names if n in self.queues]

    def deliver(self, name: str, handle_s: float) -> bool:
        """A call reached the queue: a free agent is busy for ``handle_s``, then free."""
        queue = self.queues.get(name)
        if queue is None or queue.free == 0:
            return False
        queue.free -= 1
        self._changed(name)

        def done() -> None:
            queue.free = min(queue.agents, queue.free + 1)
            self._changed(name)

        asyncio.get_running_loop().call_later(handle_s, done)
        return True

    def drop_sessions(self) -> int:
        dropped = len(self.sessions)
        for session in self.sessions.values():
            session.wake.set()  # end its pending long poll now
        self.sessions.clear()
        return dropped

    def restart(self, keep_queues: bool = True) -> None:
        """What a contact-center restart loses: every session (and queues unless kept)."""
        self.drop_sessions()
        self.faults.clear()
        self.latency = None
        if not keep_queues:
            self.queues.clear()

    # -- protocol ------------------------------------------------------------

    def count(self, what: str) -> None:
        self.counters[what] = self.counters.get(what, 0) + 1

    def record(self, operation: str, session: str | None, status: int, **extra: Any) -> None:
        self.log.append(
            {"seq": next(self._seq), "t": time.monotonic(), "op": operation, "session": session,
             "status": status, **extra}
        )  # fmt: skip

    def fault_for(self, operation: str) -> Fault | None:
        for fault in self.faults:
            if fault.operations is None or operation in fault.operations:
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def delay_for(self, operation: str) -> float:
        latency = self.latency
        if latency and (latency.operations is None or operation in latency.operations):
            return latency.ms / 1000
        return 0.0

    def expire_sessions(self) -> None:
        now = time.monotonic()
        for sid in [s.id for s in self.sessions.values()
                    if now - s.last_keepalive > self.session_timeout_s]:  # fmt: skip
            del self.sessions[sid]
            self.count("sessions_expired")

    def register(self, application: str) -> Session:
        now = time.monotonic()
        session = Session(secrets.token_hex(8), application or "?", now, now)
        self.sessions[session.id] = session
        self.count("register")
        return session

    def session(self, session_id: Any, *, logged_on: bool = True) -> Session:
        self.expire_sessions()
        session = self.sessions.get(str(session_id)) if session_id else None
        if session is None:
            raise SimError(401, f"unknown or expired session {session_id!r}")
        if logged_on and session.user is None:
            raise SimError(403, "session is not logged on")
        return session

    def logon(self, session: Session, user: str, password: str) -> None:
        if self.credentials is not None and self.credentials.get(user) != password:
            raise SimError(401, f"logon refused for user {user!r}")
        session.user = user or "?"
        session.last_keepalive = time.monotonic()
        self.count("logon")

    def keepalive(self, session: Session) -> None:
        session.last_keepalive = time.monotonic()
        self.count("keepalive")

    def unregister(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self.count("unregister")

    def free_agents(self, names: list[str]) -> list[tuple[str, int]]:
        self.count("queue_statistics")
        return [(n, self.queues[n].free) for n in names if n in self.queues]

    def state(self) -> dict[str, Any]:
        self.expire_sessions()
        return {
            "sessions": [
                {"id": s.id, "application": s.application, "user": s.user}
                for s in self.sessions.values()
            ],
            "queues": {name: q.as_dict() for name, q in sorted(self.queues.items())},
            "counters": dict(self.counters),
            "faults": len(self.faults),
            "latency_ms": self.latency.ms if self.latency else 0,
            "ivr_free": self.ivr_free,
            "log": list(self.log),
        }
