"""The import rule, read from the source (ast), so a forbidden import anywhere fails here.

Layers: ``webapp -> studies -> {generator, detectors, analysis}``. The libraries never import
Django, ``studies`` or ``webapp``, with one exception: ``studies.protocol`` (standard library
only) holds the judge protocol's rules, which ``analysis`` scores responses by.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("generator", "detectors", "analysis")
SHARED_RULES = {"studies.protocol"}  # importable from the libraries


def imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports (at any depth: inside functions too), absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            # A relative import stays inside the file's own top-level package.
            own = path.relative_to(ROOT).parts[0]
            module = f"{own}.{node.module or ''}" if node.level else node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def top(module: str) -> str:
    return module.split(".")[0]


def violations(package: str, forbidden: set[str], allowed: set[str] = frozenset()) -> list[str]:
    out = []
    for path in sources(package):
        names = imports(path)
        allowed_lines = {line for line, name in names if name in allowed}
        reported = set()
        for line, name in names:
            if top(name) in forbidden and line not in allowed_lines | reported:
                reported.add(line)
                out.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return out


def test_studies_never_imports_webapp():
    assert violations("studies", {"webapp"}) == []


@pytest.mark.parametrize("package", LIBRARIES)
def test_libraries_never_import_django_studies_or_webapp(package):
    assert violations(package, {"django", "studies", "webapp"}, SHARED_RULES) == []


def test_shared_rules_use_the_standard_library_only():
    for module in SHARED_RULES:
        path = ROOT / (module.replace(".", "/") + ".py")
        outside = {top(name) for _, name in imports(path)} - set(sys.stdlib_module_names)
        assert outside == set(), f"{module} imports {sorted(outside)}"


def test_the_checker_sees_imports_inside_functions(tmp_path, monkeypatch):
    # The rule is only as good as the reader: a late import must count too.
    package = tmp_path / "lib"
    package.mkdir()
    (package / "m.py").write_text("def f():\n    from django.conf import settings\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("lib", {"django"}) == ["lib/m.py:2 imports django.conf"]


# A service names what it acts on first: ``study_launch``, ``corpus_import``, never
# ``launch_study``. The verbs a name must not begin with:
LEADING_VERBS = {
    "add", "build", "cancel", "copy", "create", "delete", "expire", "fetch",
    "get", "import", "launch", "load", "make", "parse", "remove", "run", "save", "select",
    "send", "set", "start", "store", "update", "upload",
}  # fmt: skip


def test_services_are_named_noun_then_verb():
    wrong = []
    for path in sorted((ROOT / "studies" / "services").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                if node.name.split("_")[0] in LEADING_VERBS:
                    wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not wrong, "name services <noun>_<verb>:\n" + "\n".join(wrong)
