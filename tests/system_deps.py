"""System packages the tests drive (SIPp, Chromium, PortAudio): found, or the test skips.

``scripts/setup-test-deps`` installs them (``.ci/run`` runs it first); fixtures never
install anything. A missing one skips the test with a reason naming the script —
except under ``CI=true``, where it fails the run (as an unreachable PostgreSQL does),
so CI cannot pass by skipping.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

SETUP_SCRIPT = "scripts/setup-test-deps"


def missing(what: str, package: str) -> NoReturn:
    """Skip (fail under ``CI=true``) because ``what`` (Debian's ``package``) is missing."""
    reason = f"{what} is not installed: run {SETUP_SCRIPT} (Debian package {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)
