"""Old import paths that now point into the SDK, for one release.

``opendialer.core.contracts`` and ``opendialer.core.hookspecs`` moved to
:mod:`opendialer.sdk`. A third-party plugin importing a name from the old path
still gets it, with a :class:`DeprecationWarning`; the dialer's own modules
(whose name starts with ``opendialer.``) get it silently while they move over.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable
from typing import Any


def forwarding_getattr(old: str, new: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``old`` that serves names from module ``new``."""

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(importlib.import_module(new), name)
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if not caller.startswith("opendialer."):
            warnings.warn(
                f"{old} is deprecated: import {name} from opendialer.sdk "
                "(the old path goes away in the next release)",
                DeprecationWarning,
                stacklevel=2,
            )
        return value

    return __getattr__
