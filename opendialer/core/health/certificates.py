"""TLS certificates the dialer serves or trusts: expired fails, under 30 days warns.

Checked: the web server's certificate (``serve --certfile``, registered by
:func:`note_web_certificate`, or ``OPENDIALER_TLS_CERTFILE`` / ``doctor --certfile``)
and the SIP platform's ``tls_ca_file``. Every certificate of a PEM file counts;
the one that expires first is reported. Expiry is read from the DER ``validity``
field directly, so no X.509 library is needed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from opendialer.core.health.model import CheckResult, DoctorOptions, Status
from opendialer.core.health.settings_read import platform_choice

WEB_CERT_ENV = "OPENDIALER_TLS_CERTFILE"
WARN_DAYS = 30
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


def earliest_expiry(path: str) -> tuple[datetime, int]:
    """(first notAfter, number of certificates) of a PEM file (file I/O: worker thread)."""
    blocks = _PEM.findall(Path(path).read_bytes())
    if not blocks:
        raise ValueError("no PEM certificate in it")
    expiries = [not_after(base64.b64decode(b"".join(block.split()))) for block in blocks]
    return min(expiries), len(expiries)


async def _check_file(what: str, path: str, now: datetime) -> CheckResult:
    try:
        expires, count = await asyncio.to_thread(earliest_expiry, path)
    except (OSError, ValueError, IndexError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return CheckResult(
            "tls", Status.FAIL, f"cannot read {path}: {reason or 'not a certificate'}", subject=what
        )
    days = (expires - now).total_seconds() / 86400
    shown = f"{expires:%Y-%m-%d %H:%M} UTC"
    several = f" (first of {count})" if count > 1 else ""
    if days < 0:
        return CheckResult(
            "tls", Status.FAIL, f"{path}{several} expired on {shown}: renew it", subject=what
        )
    if days < WARN_DAYS:
        return CheckResult(
            "tls",
            Status.WARN,
            f"{path}{several} expires on {shown}, in {days:.0f} days: renew it",
            subject=what,
        )
    return CheckResult(
        "tls", Status.OK, f"{path}{several} valid until {shown} ({days:.0f} days)", subject=what
    )


async def check_certificates(options: DoctorOptions, *, with_database: bool) -> list[CheckResult]:
    now = datetime.now(UTC)
    files: list[tuple[str, str]] = []
    web = options.web_certfile or _web_certfile or os.environ.get(WEB_CERT_ENV, "").strip()
    if web:
        files.append(("web server", web))
    if with_database:
        try:
            _, platform_options = await platform_choice()
        except ValueError:
            platform_options = {}  # the SIP check reports the bad variable
        ca_file = platform_options.get("tls_ca_file")
        if isinstance(ca_file, str) and ca_file:
            files.append(("SIP CA", ca_file))
    if not files:
        return [
            CheckResult(
                "tls",
                Status.OK,
                f"no certificate configured (web: serve --certfile or ${WEB_CERT_ENV}; "
                "SIP: platform option tls_ca_file)",
            )
        ]
    return [await _check_file(what, path, now) for what, path in files]
