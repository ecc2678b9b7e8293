"""How messages are written on the wire. JSON first; a site whose SDK speaks
something else names its own codec class (``"package.module:Class"``) in the
``codec`` option."""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from opendialer.plugins.route_oscc.options import OsccOptionError


class CodecError(ValueError):
    """An answer could not be decoded."""


@runtime_checkable
class Codec(Protocol):
    #: Sent as Content-Type and Accept.
    content_type: str

    def encode(self, message: Mapping[str, Any]) -> bytes: ...

    def decode(self, body: bytes) -> dict[str, Any]:
        """The answer as a mapping; raise :class:`CodecError` when it is not one."""
        ...


class JsonCodec:
    content_type = "application/json"

    def encode(self, message: Mapping[str, Any]) -> bytes:
        return json.dumps(message, separators=(",", ":")).encode()

    def decode(self, body: bytes) -> dict[str, Any]:
        if not body.strip():
            return {}
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise CodecError(f"not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise CodecError(f"expected a JSON object, got {type(value).__name__}")
        return value


CODECS: dict[str, type[Any]] = {"json": JsonCodec}


def load_codec(name: str) -> Codec:
    """A codec by short name (``"json"``) or import path (``"pkg.mod:Class"``)."""
    if name in CODECS:
        return CODECS[name]()  # type: ignore[no-any-return]
    module_name, _, attr = name.partition(":")
    if not attr:
        raise OsccOptionError(
            "route_oscc.codec_invalid", option="codec", codecs=", ".join(CODECS), value=name
        )
    try:
        codec = getattr(importlib.import_module(module_name), attr)()
    except Exception as exc:
        raise OsccOptionError(
            "route_oscc.codec_not_loaded", option="codec", value=name, reason=str(exc)
        ) from None
    if not isinstance(codec, Codec):
        raise OsccOptionError("route_oscc.codec_incomplete", option="codec", value=name)
    return codec


def lookup(message: Mapping[str, Any], dotted: str) -> Any:
    """``message["a"]["b"]`` for ``"a.b"``; KeyError naming the path when absent."""
    value: Any = message
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value
