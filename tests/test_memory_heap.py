"""The C heap stays flat on glibc (docs/performance.md, "Soak"): the engine pins the
mmap threshold when it starts, so asyncio's 256 KiB socket reads stay out of the
heap; elsewhere pinning is a no-op."""

from __future__ import annotations

import importlib
import platform
import sys
from collections.abc import Iterator

import pytest
from engine_support import make_engine, utc

from opendialer.core import memory
from opendialer.core.engine import engine as engine_module
from opendialer.core.engine.clock import FakeClock
from opendialer.core.storage import Database


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="not a glibc process")
def test_the_mmap_threshold_is_pinned_on_glibc() -> None:
    assert memory.pin_mmap_threshold() is True
    assert memory.pin_mmap_threshold() is True  # idempotent


@pytest.fixture
def not_linux(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(sys, "platform", "darwin")
    importlib.reload(memory)
    yield
    monkeypatch.undo()
    importlib.reload(memory)


def test_pinning_is_a_no_op_without_glibc(not_linux: None) -> None:
    assert memory.pin_mmap_threshold() is False


async def test_the_engine_pins_the_threshold_when_it_starts(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pins: list[int] = []

    def pin_mmap_threshold(size: int = memory.MMAP_THRESHOLD_BYTES) -> bool:
        pins.append(size)
        return True

    monkeypatch.setattr(engine_module, "pin_mmap_threshold", pin_mmap_threshold)
    engine = make_engine(db, FakeClock(utc(2026, 3, 2, 10, 0)))
    await engine.start(run_loop=False)
    try:
        assert pins == [memory.MMAP_THRESHOLD_BYTES]
    finally:
        await engine.stop()
