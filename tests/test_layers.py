"""Imports flow one way (ARCHITECTURE §1, docs/architecture.md): a walk of every module's imports.

    platform (kernel) ← metadata (pure) ← runtime ← designer, builtin_apps; designer ← workspace ← server ← cli

Inside the runtime, the core that every write and read goes through (records, query, values,
compiled, storage, expressions, …) knows no feature: automation, channels, the inbox, the
GraphQL API and the composition in `services` sit above it and plug in through write hooks.
Imports under `if TYPE_CHECKING:` are annotations only and are not counted.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "trellis"

#: What each top-level package may import (besides itself).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "platform": frozenset(),
    "metadata": frozenset({"platform"}),
    "runtime": frozenset({"platform", "metadata"}),
    "designer": frozenset({"platform", "metadata", "runtime"}),
    "builtin_apps": frozenset({"platform", "metadata", "runtime"}),
    "workspace": frozenset({"platform", "metadata", "runtime", "designer"}),
    "server": frozenset({"platform", "metadata", "runtime", "designer", "workspace"}),
    "cli": frozenset({"platform", "metadata", "runtime", "designer", "workspace", "builtin_apps", "server"}),
}

#: Runtime modules that features plug into; they must not import a feature.
RUNTIME_CORE = ("access", "apps", "compiled", "errors", "expressions", "query", "records", "release_slots",
                "release_tables", "releases", "storage", "templates", "values", "identity")
RUNTIME_FEATURES = ("automation", "approvals", "channels", "inbox", "graphql", "handover", "metrics", "scores",
                    "services", "worker")
#: Neither core nor feature: the registry compiles a release (see COMPILE_STEPS).
RUNTIME_OTHER = ("registry",)

#: Features must not import the composition that sits above them.
COMPOSITION = ("services", "worker")

#: The registry compiles every kind of a release, so it may import each feature's compile step.
COMPILE_STEPS = {"registry": frozenset({"trellis.runtime.automation.rules"})}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) of each `trellis` import that runs when the module is imported or called."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "trellis" else [f"trellis.{a.name}" for a in node.names]
            yield from ((node.lineno, n) for n in names if n.startswith("trellis"))
        elif isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names if a.name.startswith("trellis"))


def violations() -> Iterator[str]:
    for path in sorted(ROOT.rglob("*.py")):
        importer = module_name(path)
        parts = importer.split(".")
        if len(parts) < 2 or parts[1] == "migrations":
            continue
        package = parts[1]
        for line, imported in runtime_imports(ast.parse(path.read_text("utf-8"))):
            target = imported.split(".")
            where = f"{path.relative_to(ROOT.parent)}:{line} imports {imported}"
            if len(target) < 2 or target[1] == package:
                if package == "runtime" and len(target) > 2:
                    yield from _runtime_rule(parts, target, imported, where)
                continue
            if target[1] not in MAY_IMPORT[package]:
                yield f"{where}: {package} may import only {sorted(MAY_IMPORT[package])}"


def _runtime_rule(importer: list[str], target: list[str], imported: str, where: str) -> Iterator[str]:
    own, other = importer[2] if len(importer) > 2 else "", target[2]
    if own in RUNTIME_CORE and other in RUNTIME_FEATURES:
        yield f"{where}: the runtime core ({own}) must not know the feature {other}; use a write hook"
    if own in RUNTIME_FEATURES and own not in COMPOSITION and other in COMPOSITION:
        yield f"{where}: the feature {own} must not import {other}, which composes the features"
    if own == "registry" and other in RUNTIME_FEATURES and imported not in COMPILE_STEPS["registry"]:
        yield f"{where}: the registry may import only the compile steps {sorted(COMPILE_STEPS['registry'])}"


def test_imports_flow_one_way() -> None:
    found = list(violations())
    assert not found, "\n".join(found)


def test_the_walk_sees_a_forbidden_import() -> None:
    """The checker itself: an import of automation from records is reported, one under
    TYPE_CHECKING is not."""
    tree = ast.parse("from typing import TYPE_CHECKING\n"
                     "from trellis.runtime.automation.on_save import RuleHooks\n"
                     "if TYPE_CHECKING:\n    from trellis.runtime.services import TenantServices\n")
    assert [m for _, m in runtime_imports(tree)] == ["trellis.runtime.automation.on_save"]
    assert list(_runtime_rule(["trellis", "runtime", "records", "service"],
                              ["trellis", "runtime", "automation", "on_save"], "trellis.runtime.automation.on_save", "x"))


def test_every_runtime_module_is_core_or_feature():
    """A new runtime package must say which side it is on, or the rules above never see it."""
    runtime = ROOT / "runtime"
    found = {p.stem for p in runtime.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in runtime.iterdir() if (p / "__init__.py").exists()}
    unclassified = found - set(RUNTIME_CORE) - set(RUNTIME_FEATURES) - set(RUNTIME_OTHER)
    assert not unclassified, f"add to RUNTIME_CORE or RUNTIME_FEATURES: {sorted(unclassified)}"
