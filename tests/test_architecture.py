"""The package's shape: groups by pipeline stage, imports pointing down, no cycles, no borrowed private names.

The order (top to bottom) is the one in docs/architecture.md. A module may
import from its own group and from any group below its own, never from one
above or beside it; within a group the module graph has no cycle; and no
module imports a name starting with ``_`` from another module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fjaaqa"

# Higher imports lower. Groups on one line are peers and may not import each other.
LAYERS = [
    ["cli"],
    ["pipeline"],
    ["reports"],
    ["render", "store"],
    ["synth"],
    ["publication", "selfassess", "frm"],
    ["quality"],
    ["inputs"],
    ["ground"],  # errors, periods, paths, models, writers, digests and the package's __init__
]
RANK = {group: len(LAYERS) - i for i, groups in enumerate(LAYERS) for group in groups}
GROUPS = {"cli", "pipeline", "reports", "render", "store", "synth", "publication", "selfassess", "frm", "quality",
          "inputs"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def group_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in GROUPS else "ground"


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports() -> list[tuple[str, str, list[str], int]]:
    """(importing module, imported module, names, line) for every fjaaqa import in the package."""
    found = []
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "resources" in path.relative_to(PACKAGE).parts:
            continue
        me = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                target = resolve(me, path.name == "__init__.py", node)
                if not target.startswith("fjaaqa"):
                    continue
                names = [a.name for a in node.names]
                # "from .x import y" where y is a module: the import is of that module
                subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules]
                if subs:
                    found += [(me, s, [], node.lineno) for s in subs]
                    names = [n for n in names if f"{target}.{n}" not in modules]
                if names:
                    found.append((me, target, names, node.lineno))
            elif isinstance(node, ast.Import):
                found += [(me, a.name, [], node.lineno) for a in node.names if a.name.startswith("fjaaqa")]
    return found


def test_the_package_is_grouped_by_stage():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "cli.py", "digests.py", "errors.py", "models.py", "paths.py", "periods.py",
                     "pipeline.py", "writers.py"]
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == GROUPS - {
        "cli", "pipeline"}


def test_imports_point_down_the_stages():
    wrong = []
    for me, target, _, line in imports():
        a, b = group_of(me), group_of(target)
        if a != b and RANK[a] <= RANK[b]:
            wrong.append(f"{me}:{line} imports {target} ({a} may not import {b})")
    assert not wrong, "\n".join(wrong)


def test_no_module_imports_another_modules_private_names():
    private = [f"{me}:{line} imports {', '.join(n for n in names if n.startswith('_') and not n.startswith('__'))} "
               f"from {target}"
               for me, target, names, line in imports()
               if target != me and any(n.startswith("_") and not n.startswith("__") for n in names)]
    assert not private, "\n".join(private)


def test_there_are_no_import_cycles():
    graph: dict[str, set[str]] = {}
    for me, target, _, _ in imports():
        if target != me and target != "fjaaqa":
            graph.setdefault(me, set()).add(target)
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("import cycle: " + " -> ".join(path[path.index(node):] + [node]))
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, path + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_one_of_each():
    """One strict pydantic base, one ULN check digit, one round-half-up, one manifest writer, one Jinja env."""
    text = {p: p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py") if "resources" not in p.parts}

    def where(pattern: str) -> list[str]:
        return sorted(p.relative_to(PACKAGE).as_posix() for p, t in text.items() if pattern in t)

    assert where('ConfigDict(extra="forbid"') == ["models.py"]
    assert where("range(10, 1, -1)") == ["inputs/reference.py"]
    assert where("ROUND_HALF_UP") == ["writers.py"]
    assert where('"manifest.json", json.dumps') == ["render/pages.py"]
    assert where("jinja2.Environment(") == ["render/templating.py"]
    assert where("HTMLExporter(") == ["render/export.py"]
    assert where("RenderJob(") == ["reports/registry.py"]  # the only factory of render jobs
    assert where('__name__ == "DeadKernelError"') == [] and where("name == \"DeadKernelError\"") == []


HTML_TAG = re.compile(r"<(html|head|body|main|div|p|span|a|table|thead|tbody|tr|td|th|ul|ol|li|h[1-6]|figure|"
                      r"figcaption|strong|em|section|nav|br|script|style|meta|link|code)[\s>/]", re.I)


def test_no_html_is_written_in_python_strings():
    """Markup lives in autoescaped Jinja templates; Python code hands them data (its string constants hold no tags)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "resources" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and HTML_TAG.search(node.value):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value[:60]!r}")
    assert not offenders, "\n".join(offenders)
