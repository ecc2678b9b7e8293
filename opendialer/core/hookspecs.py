"""Moved: the hook specifications are :mod:`opendialer.sdk.hookspecs` (import
``hookimpl`` from :mod:`opendialer.sdk`). This path keeps working, with a
DeprecationWarning, for one release."""

from typing import TYPE_CHECKING

from opendialer.sdk._moved import forwarding_getattr

if TYPE_CHECKING:
    from opendialer.sdk.hookspecs import *  # noqa: F403

__getattr__ = forwarding_getattr(__name__, "opendialer.sdk.hookspecs")
