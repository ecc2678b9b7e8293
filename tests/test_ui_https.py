"""``opendialer serve --certfile --keyfile`` serves the admin over HTTPS (port 9443 in
production; a free port here), with a certificate made by ``trustme``."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import trustme
from ui_browser import start_server, stop_server

from opendialer.core.storage import Database


def test_serve_speaks_https_with_the_given_certificate(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile, cafile = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    authority.cert_pem.write_to_path(str(cafile))
    process, base = start_server(db_url, tmp_path, certfile=str(certfile), keyfile=str(keyfile))
    try:
        assert base.startswith("https://")
        r = httpx.get(f"{base}/login", verify=ssl.create_default_context(cafile=str(cafile)))
        assert r.status_code == 200 and "SUBMIT" in r.text
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        # Cookies set over HTTPS are Secure.
        r = httpx.post(
            f"{base}/login",
            data={"username": "nobody", "password": "x"},
            verify=ssl.create_default_context(cafile=str(cafile)),
        )
        assert r.status_code == 401
        # Plain HTTP on the TLS port is refused, not answered in clear.
        http_base = base.replace("https://", "http://")
        try:
            plain = httpx.get(f"{http_base}/login", timeout=5)
            assert plain.status_code >= 400
        except httpx.HTTPError:
            pass
    finally:
        stop_server(process)
