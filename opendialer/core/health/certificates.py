"""TLS certificates the dialer serves or trusts: expired fails, under 30 days warns.

Checked: the web server's certificate (``serve --certfile``, registered by
:func:`note_web_certificate`, or ``OPENDIALER_TLS_CERTFILE`` / ``doctor --certfile``),
and every certificate the configuration names: the SIP platform's options, each DNC
service's CA bundle (PEM text or a file) and options, each configured routing
target's options (``oscc``, ``ivr``: ``ca_bundle``) — an option named in
:data:`CERTIFICATE_OPTIONS`. A trusted CA that expires breaks the connection as
surely as the server's own certificate. Every certificate of a PEM file counts;
the one that expires first is reported. Expiry is read from the DER ``validity``
field directly, so no X.509 library is needed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.health.settings_read import platform_choice, routing_options
from opendialer.core.storage.tables import DncService

WEB_CERT_ENV = "OPENDIALER_TLS_CERTFILE"
WARN_DAYS = 30
#: Options (platform, routing target, DNC service) that name a certificate: a CA bundle
#: to trust, or a client certificate to present.
CERTIFICATE_OPTIONS = ("tls_ca_file", "ca_bundle", "client_cert")
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)

_web_certfile: str | None = None


def note_web_certificate(certfile: str | None) -> None:
    """``serve`` tells which certificate the web server runs with (Diagnostics checks it)."""
    global _web_certfile
    _web_certfile = certfile


def _tlv(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at ``at``."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    return tag, at, at + length


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii").rstrip("Z")
    if tag == 0x17:  # UTCTime: YYMMDDHHMM[SS]; years 50-99 are 19xx (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    return datetime.strptime(text.ljust(14, "0"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def not_after(der: bytes) -> datetime:
    """The notAfter of one DER certificate."""
    _, start, _ = _tlv(der, 0)  # Certificate
    _, at, _ = _tlv(der, start)  # TBSCertificate
    tag, _, end = _tlv(der, at)
    if tag == 0xA0:  # [0] version
        at = end
    for _skip in range(3):  # serial, signature algorithm, issuer
        _, _, at = _tlv(der, at)
    _, at, _ = _tlv(der, at)  # validity
    _, _, at = _tlv(der, at)  # notBefore
    tag, content, end = _tlv(der, at)
    return _time(tag, der[content:end])


def earliest_expiry_of(pem: bytes) -> tuple[datetime, int]:
    """(first notAfter, number of certificates) of PEM text."""
    blocks = _PEM.findall(pem)
    if not blocks:
        raise ValueError("no PEM certificate in it")
    expiries = [not_after(base64.b64decode(b"".join(block.split()))) for block in blocks]
    return min(expiries), len(expiries)


def earliest_expiry(path: str) -> tuple[datetime, int]:
    """(first notAfter, number of certificates) of a PEM file (file I/O: worker thread)."""
    return earliest_expiry_of(Path(path).read_bytes())


@dataclass(frozen=True, slots=True)
class Named:
    """A certificate the configuration names: a file path, or PEM text stored in the
    database (a DNC service's CA bundle)."""

    subject: str  # "web server", "DNC Registry ca_bundle", ...
    value: str  # a path, or PEM text
    where: str = ""  # where to replace it, for the fix

    @property
    def is_pem_text(self) -> bool:
        return "-----BEGIN" in self.value

    @property
    def shown(self) -> str:
        return "the CA bundle stored with the service" if self.is_pem_text else self.value

    def read(self) -> tuple[datetime, int]:
        if self.is_pem_text:
            return earliest_expiry_of(self.value.encode())
        return earliest_expiry(self.value)


async def _check_named(named: Named, now: datetime) -> CheckResult:
    what, path, fix = named.subject, named.shown, f"renew it{named.where}"
    try:
        expires, count = await asyncio.to_thread(named.read)
    except (OSError, ValueError, IndexError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return CheckResult(
            "tls",
            Status.FAIL,
            f"cannot read {path}: {reason or 'not a certificate'}{named.where}",
            subject=what,
        )
    days = (expires - now).total_seconds() / 86400
    shown = f"{expires:%Y-%m-%d %H:%M} UTC"
    several = f" (first of {count})" if count > 1 else ""
    if days < 0:
        return CheckResult(
            "tls", Status.FAIL, f"{path}{several} expired on {shown}: {fix}", subject=what
        )
    if days < WARN_DAYS:
        return CheckResult(
            "tls",
            Status.WARN,
            f"{path}{several} expires on {shown}, in {days:.0f} days: {fix}",
            subject=what,
        )
    return CheckResult(
        "tls", Status.OK, f"{path}{several} valid until {shown} ({days:.0f} days)", subject=what
    )


def _named_in(options: Mapping[str, Any], subject: str, where: str) -> list[Named]:
    """The certificates a set of options names (:data:`CERTIFICATE_OPTIONS`)."""
    found = []
    for option in CERTIFICATE_OPTIONS:
        value = options.get(option)
        if isinstance(value, str) and value.strip():
            found.append(Named(f"{subject} {option}", value.strip(), where.format(option=option)))
    return found


async def _configured() -> list[Named]:
    """Every certificate the stored configuration (and the engine's environment) names."""
    named: list[Named] = []
    try:
        _, platform_options = await platform_choice()
    except ValueError:
        platform_options = {}  # the SIP check reports the bad variable
    for found in _named_in(platform_options, "SIP", " (platform option {option})"):
        # "SIP CA": the name this line has always had
        subject = "SIP CA" if found.subject == "SIP tls_ca_file" else found.subject
        named.append(Named(subject, found.value, found.where))
    rows = await (
        DncService.select(DncService.name, DncService.ca_bundle, DncService.options)
        .order_by(DncService.id)
        .run()
    )
    for row in rows:
        options = row["options"] or {}
        if isinstance(options, str):
            options = json.loads(options or "{}")
        where = f" (Do-Not-Call → Services → {row['name']}: {{option}})"
        # the ca_bundle column first, then the provider's own options
        named += _named_in({"ca_bundle": row["ca_bundle"]}, f"DNC {row['name']}", where)
        named += _named_in(dict(options), f"DNC {row['name']}", where)
    try:
        targets = await routing_options()
    except ValueError:
        targets = {}  # the contact_center check reports the bad variable
    for target, target_options in sorted(targets.items()):
        where = f" (option {{option}} of routing target {target})"
        named += _named_in(target_options, f"routing {target}", where)
    return named


async def check_certificates(options: DoctorOptions, *, with_database: bool) -> list[CheckResult]:
    now = datetime.now(UTC)
    named: list[Named] = []
    web = options.web_certfile or _web_certfile or os.environ.get(WEB_CERT_ENV, "").strip()
    if web:
        named.append(Named("web server", web))
    if with_database:
        named += await _configured()
    if not named:
        return [
            CheckResult(
                "tls",
                Status.OK,
                f"no certificate configured (web: serve --certfile or ${WEB_CERT_ENV}; "
                "SIP: platform option tls_ca_file; DNC services and routing targets: "
                "ca_bundle)",
            )
        ]
    return list(await asyncio.gather(*(_check_named(n, now) for n in named)))
