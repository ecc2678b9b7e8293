"""MkDocs hook: the plugin author's hook and contract reference, generated at build time.

``mkdocs.yml`` lists this file under ``hooks:``. On every build it reads
``opendialer/sdk/hookspecs.py`` and ``opendialer/sdk/contracts.py`` (with
``ast``: nothing is imported, so the page shows annotations exactly as written)
and adds the page ``hook-reference.md`` to the site. The page is never stored,
so it cannot drift from the code: a new hook or contract appears with its
docstring on the next build.

Run it alone to print the page: ``.venv/bin/python tools/docs_reference.py``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOOKSPECS = ROOT / "opendialer" / "sdk" / "hookspecs.py"
CONTRACTS = ROOT / "opendialer" / "sdk" / "contracts.py"
PAGE = "hook-reference.md"

#: ``# ====`` (hookspecs) or ``# ----`` (contracts) banner: a comment block between two rules.
BANNER_RULE = re.compile(r"^# ?([=-])\1{20,}\s*$")
ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc):`(~?)([\w.]+)`")


# -- reST docstrings → Markdown ---------------------------------------------------


def _role(match: re.Match[str], anchors: set[str]) -> str:
    short, target = match.group(1), match.group(2)
    name = target.rsplit(".", 1)[-1]
    shown = name if short else target
    if name.lower() in anchors:
        return f"[`{shown}`](#{name.lower()})"
    return f"`{shown}`"


def inline(text: str, anchors: set[str]) -> str:
    """Sphinx roles and ``literals`` → Markdown code spans (linked when on this page)."""
    text = ROLE.sub(lambda m: _role(m, anchors), text)
    return re.sub(r"``(.+?)``", r"`\1`", text)


def markdown(doc: str, anchors: set[str]) -> str:
    """A docstring as Markdown: ``::`` literal blocks fenced, ``:param:``/``:return:`` listed."""
    lines = textwrap.dedent(doc).strip("\n").splitlines()
    out: list[str] = []
    fields: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        field = re.match(r":(param|return|returns|raises)\s*([\w.]*)\s*:\s*(.*)", stripped)
        if field:
            kind, name, text = field.groups()
            i += 1
            while i < len(lines) and lines[i].startswith((" ", "\t")) and lines[i].strip():
                text += " " + lines[i].strip()
                i += 1
            label = {"param": f"`{name}`", "raises": f"raises `{name}`"}.get(kind, "returns")
            fields.append(f"- **{label}** — {inline(text, anchors)}")
            continue
        if stripped.endswith("::"):
            intro = stripped[:-2].rstrip()
            if intro:
                out.append(inline(intro, anchors) + ":")
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(block)).strip("\n")
            language = "toml" if code.lstrip().startswith("[") else "python"
            out += ["", f"```{language}", code, "```", ""]
            continue
        out.append(inline(line, anchors))
        i += 1
    text = "\n".join(out).strip()
    if fields:
        text += "\n\n" + "\n".join(fields)
    return text


# -- reading the modules ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Banner:
    line: int  # the banner's last line: nodes after it belong to it
    title: str
    text: str


def banners(source: str) -> list[Banner]:
    """The comment banners that split a module into sections."""
    lines = source.splitlines()
    found: list[Banner] = []
    i = 0
    while i < len(lines):
        if BANNER_RULE.match(lines[i]):
            j = i + 1
            body: list[str] = []
            while j < len(lines) and lines[j].startswith("#") and not BANNER_RULE.match(lines[j]):
                body.append(lines[j][1:].strip())
                j += 1
            if j < len(lines) and BANNER_RULE.match(lines[j]) and body:
                title, _, rest = body[0].partition(" — ")
                paragraphs = "\n".join([rest[:1].upper() + rest[1:], *body[1:]]).split("\n\n")
                text = "\n\n".join(" ".join(p.split()) for p in paragraphs).strip()
                found.append(Banner(j + 1, title.strip().rstrip("."), text))
                i = j + 1
                continue
        i += 1
    return found


def section_of(node: ast.stmt, sections: list[Banner]) -> Banner | None:
    current = None
    for banner in sections:
        if banner.line <= node.lineno:
            current = banner
    return current


def is_hookspec(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Name) and target.id == "hookspec":
            return True
    return False


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef, *, drop_self: bool = False) -> str:
    args = node.args
    if drop_self and args.args and args.args[0].arg == "self":
        args = ast.arguments(
            posonlyargs=args.posonlyargs,
            args=args.args[1:],
            vararg=args.vararg,
            kwonlyargs=args.kwonlyargs,
            kw_defaults=args.kw_defaults,
            kwarg=args.kwarg,
            defaults=args.defaults,
        )
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{prefix} {node.name}({ast.unparse(args)}){returns}"


def hookspec_names(source: str | None = None) -> list[str]:
    """Every hook specified in ``hookspecs.py``, in file order."""
    tree = ast.parse(source if source is not None else HOOKSPECS.read_text(encoding="utf-8"))
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and is_hookspec(n)]


def contract_names(source: str | None = None) -> list[str]:
    """Every public class of ``contracts.py``, in file order."""
    tree = ast.parse(source if source is not None else CONTRACTS.read_text(encoding="utf-8"))
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("_")]


def _comment_after(line: str) -> str:
    _, sep, comment = line.partition("  # ")
    return comment.strip() if sep else ""


def _doc_comment(node: ast.stmt, lines: list[str]) -> list[str]:
    """The ``#:`` comment lines right above a statement (Sphinx's attribute docs)."""
    found: list[str] = []
    index = node.lineno - 2
    while index >= 0 and lines[index].strip().startswith("#:"):
        found.insert(0, lines[index].strip()[2:].strip())
        index -= 1
    return found


def _kind(node: ast.ClassDef) -> str:
    bases = {ast.unparse(b) for b in node.bases}
    decorators = {ast.unparse(d) for d in node.decorator_list}
    runtime = any(d == "runtime_checkable" for d in decorators)
    if "Protocol" in bases:
        return "protocol (checked with `isinstance`)" if runtime else "protocol"
    if "StrEnum" in bases:
        return "string enum"
    if "Exception" in bases:
        return "exception"
    if any(d.startswith("dataclass") for d in decorators):
        return "frozen dataclass"
    return "class"


def _class_members(node: ast.ClassDef, lines: list[str], anchors: set[str]) -> list[str]:
    """Fields (dataclasses, enums) as a list, then public methods with their docstrings."""
    out: list[str] = []
    for item in node.body:
        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            default = f" = {ast.unparse(item.value)}" if item.value is not None else ""
            shown = f"{item.target.id}: {ast.unparse(item.annotation)}{default}"
        elif (
            isinstance(item, ast.Assign)
            and len(item.targets) == 1
            and isinstance(item.targets[0], ast.Name)
        ):
            shown = f"{item.targets[0].id} = {ast.unparse(item.value)}"
        else:
            continue
        notes = _doc_comment(item, lines)
        trailing = _comment_after(lines[item.lineno - 1])
        if trailing:
            notes.append(trailing)
        note = f" — {inline(' '.join(notes), anchors)}" if notes else ""
        out.append(f"- `{shown}`{note}")
    if out:
        out.append("")
    for item in node.body:
        if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) or item.name.startswith(
            "_"
        ):
            continue
        decorators = [f"@{ast.unparse(d)}" for d in item.decorator_list]
        out += ["```python", *decorators, signature(item, drop_self=True), "```", ""]
        doc = ast.get_docstring(item)
        if doc:
            out += [markdown(doc, anchors), ""]
    return out


# -- the page -------------------------------------------------------------------------


def hooks_markdown(source: str, anchors: set[str]) -> list[str]:
    tree = ast.parse(source)
    sections = banners(source)
    out: list[str] = []
    module_doc = ast.get_docstring(tree)
    if module_doc:
        out += [markdown(module_doc.partition("\n\n")[2] or module_doc, anchors), ""]
    shown: Banner | None = None
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and is_hookspec(node)):
            continue
        section = section_of(node, sections)
        if section is not None and section is not shown:
            shown = section
            out += [f"## {section.title}", "", inline(section.text, anchors), ""]
        out += [f"### `{node.name}` {{ #{node.name} }}", ""]
        out += ["```python", signature(node), "```", ""]
        doc = ast.get_docstring(node)
        out += [markdown(doc, anchors) if doc else "*(no docstring)*", ""]
    return out


def contracts_markdown(source: str, anchors: set[str]) -> list[str]:
    tree = ast.parse(source)
    lines = source.splitlines()
    sections = banners(source)
    out = ["## Contracts", ""]
    module_doc = ast.get_docstring(tree)
    if module_doc:
        out += [markdown(module_doc, anchors), ""]
    shown: Banner | None = None
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name.startswith("_"):
            continue
        section = section_of(node, sections)
        if section is not None and section is not shown:
            shown = section
            out += [f"### {section.title}", ""]
            if section.text:
                out += [inline(section.text, anchors), ""]
        out += [f"#### `{node.name}` {{ #{node.name.lower()} }}", "", f"*{_kind(node)}*", ""]
        doc = ast.get_docstring(node)
        if doc:
            out += [markdown(doc, anchors), ""]
        out += _class_members(node, lines, anchors)
    aliases = [
        f"- `{ast.unparse(n)}` — {inline(' '.join(_doc_comment(n, lines)), anchors)}"
        for n in tree.body
        if isinstance(n, ast.Assign) and _doc_comment(n, lines)
    ]
    if aliases:
        out += ["### Type aliases", "", *aliases, ""]
    return out


def reference_page() -> str:
    hooks_source = HOOKSPECS.read_text(encoding="utf-8")
    contracts_source = CONTRACTS.read_text(encoding="utf-8")
    anchors = {name.lower() for name in contract_names(contracts_source)}
    parts = [
        "# Hook and contract reference",
        "",
        '!!! note "Generated from the code"',
        "    This page is written at every docs build from the docstrings of",
        "    `opendialer/sdk/hookspecs.py` and `opendialer/sdk/contracts.py`",
        "    (`tools/docs_reference.py`). To change it, change those docstrings.",
        "    The tutorial is in [Writing a plugin](plugins.md).",
        "",
        *hooks_markdown(hooks_source, anchors),
        *contracts_markdown(contracts_source, anchors),
    ]
    return "\n".join(parts).rstrip() + "\n"


# -- MkDocs hook ----------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=reference_page()))
    return files


if __name__ == "__main__":
    print(reference_page(), end="")
