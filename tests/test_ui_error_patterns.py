"""Every error a service raises is translated by a pattern of its own, not by the
fallback sentence that quotes the English detail.

The services' source is read with ``ast``: each ``raise ValidationFailed / Conflict /
PermissionDenied / NotFound(...)`` whose message is a literal or an f-string gives one
representative detail (an f-string's values replaced by samples), which
``i18n.ERROR_PATTERNS`` must recognise. A new message without a pattern fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from opendialer.admin_ui import i18n
from opendialer.core.services.errors import ValidationFailed

SERVICES = Path(i18n.__file__).resolve().parent.parent / "core" / "services"
RAISED = {"ValidationFailed", "Conflict", "PermissionDenied", "NotFound"}
#: Files whose details reach people through another table, tested with it.
OWN_TABLE = {
    # Its f-string details are generic (f"{name} must be ..."), so the sampler cannot
    # build them; their patterns head ERROR_PATTERNS and tests/test_ui_platform_page.py
    # checks each message on the page.
    "platform_config.py",
}
#: A value that reads as a count, a bound or an id gets a number; others a word.
NUMERIC = re.compile(
    r"(len\(|count|total|needed|low|high|MAX_|MIN_|_MAX\b|days|default|\bline|limit|_id\b|\bid\b|"
    r"\bn\b|\[.id.\]|campaign_id|service_id|group_id|user_id|\.days|_ms\b)",
    re.I,
)


def sample(value: ast.FormattedValue) -> str:
    if value.conversion == ord("r"):
        return "'sample'"
    source = ast.unparse(value.value)
    if NUMERIC.search(source) and "join" not in source:
        return "7"
    return "sample"


def rendered(node: ast.expr) -> str | None:
    """The detail a message expression gives, with samples for its values (None: not
    a literal or an f-string, e.g. a variable)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
            elif isinstance(part, ast.FormattedValue):
                parts.append(sample(part))
        return "".join(parts)
    return None


def raised_details() -> list[tuple[str, str]]:
    found = []
    for path in sorted(SERVICES.glob("*.py")):
        if path.name in OWN_TABLE:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            call = node.exc
            name = call.func.id if isinstance(call.func, ast.Name) else None
            if name in RAISED and call.args:
                detail = rendered(call.args[0])
                if detail is not None:
                    found.append((f"{path.name}:{node.lineno}", detail))
    return found


DETAILS = raised_details()


def test_the_scan_finds_the_services_errors() -> None:
    assert len(DETAILS) > 100
    files = {where.split(":")[0] for where, _ in DETAILS}
    assert {"users.py", "campaign_fields.py", "dnc_services.py", "schedules.py"} <= files


@pytest.mark.parametrize(("where", "detail"), DETAILS, ids=[w for w, _ in DETAILS])
def test_every_service_error_has_a_pattern(where: str, detail: str) -> None:
    matched = [m for p, m in i18n.ERROR_PATTERNS if p.search(detail)]
    assert matched, f"{where}: no ERROR_PATTERNS entry recognises {detail!r}"
    # And the user reads it in Spanish, not quoted English.
    said = i18n.translate_error(ValidationFailed(detail), i18n.translator("es"))
    assert not said.startswith("Este valor no se acepta:"), (where, said)
