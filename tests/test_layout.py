"""Which packages may import which: the dependencies of issue 12's layout go one way.

The source stage (walk and read) knows nothing of what runs over it; the checker
reads folders through the source stage and never the batch runner, which asks
the checker (``run --verify``); and only the command line imports the command line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "deidentify"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every deidentify module ``path`` imports, at the top or inside a function."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
            target = ".".join([*base, node.module] if node.module else base) if node.level else node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return {m for m in found if m == "deidentify" or m.startswith("deidentify.")}


MODULES = {_module_name(path): _imports(path) for path in PACKAGE.rglob("*.py")}


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize(("importer", "imported"), [
    ("deidentify.source", "deidentify.batch"),
    ("deidentify.source", "deidentify.checker"),
    ("deidentify.checker", "deidentify.batch"),
])
def test_a_package_does_not_import_what_builds_on_it(importer: str, imported: str) -> None:
    offenders = sorted(m for m, deps in MODULES.items()
                       if _within(m, importer) and any(_within(d, imported) for d in deps))
    assert not offenders, f"{offenders} import {imported}"


def test_only_the_command_line_imports_the_command_line() -> None:
    offenders = sorted(m for m, deps in MODULES.items()
                       if not _within(m, "deidentify.cli") and m != "deidentify.__main__"  # python -m deidentify
                       and any(_within(d, "deidentify.cli") for d in deps))
    assert not offenders


def test_the_import_scan_sees_relative_imports() -> None:
    assert "deidentify.checker" in MODULES["deidentify.batch.verify"]
    assert "deidentify.source" in MODULES["deidentify.checker.runner"]
