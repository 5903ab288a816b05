"""The library's import structure: no import circles, no function-local imports
inside the package, and no module importing up the layers.

The graph is built with ``ast`` from every module of ``src/relcoord``, module-
level and function-level imports alike (``from .x import y`` where ``y`` is a
submodule counts as an import of the submodule). Third-party libraries may be
imported lazily (heavy ones: scipy, statsmodels, matplotlib, ...); each module
that does so lists them in its docstring or a comment.

Layers, lowest first. A module may import modules of its own layer or of a
lower one, never of a higher one:

====  ==============  ==========================================================
 0    foundation      the package, errors, lazy, codes (code grammar, blanks), schema,
                      tables, outputs, runner, pseudonymise, disclosure,
                      readers._limits, config, locales
 1    readers         readers and its format modules
 2    instrument      labels, instrument, privacy (group-size rule, personal-
                      data masking, suppression)
 3    register/codes  codebook, registry, validation, infer (set-up read from an export)
 4    statistics      scores, reliability, group_tests, reml, compare
 5    simulation      writers, simulate, calibration, bench
 6    presentation    present, figures, report, validation_report, unit_pages,
                      workbook (tables.xlsx)
 7    orchestration   ingest, stages, provenance, study (init, add-round, run), cli
====  ==============  ==========================================================

``PENDING`` lists the one edge still breaking these rules, with the reason; the
test fails when an edge is added to it or when a listed edge is gone (then
delete it from the list).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "relcoord"

LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["", "errors", "lazy", "codes", "schema", "tables", "outputs", "runner", "pseudonymise",
                    "disclosure", "readers._limits", "config", "locales", "figure_names"]),
    ("readers", ["readers", "readers.*"]),
    ("instrument", ["labels", "instrument", "privacy"]),
    ("register", ["codebook", "registry", "validation", "infer"]),
    ("statistics", ["scores", "reliability", "group_tests", "reml", "compare", "publish", "cfa", "trends",
                    "weights", "benchmark"]),
    ("simulation", ["writers", "writers.*", "simulate", "calibration", "bench", "consortium"]),
    ("presentation", ["present", "figures", "report", "validation_report", "unit_pages", "workbook",
                      "trend_report"]),
    ("orchestration", ["ingest", "stages", "provenance", "study", "cli", "__main__", "rule_values",
                       "benchmark_config"]),
]

#: (importer, imported) -> why the edge is still there (none: privacy.py holds the low rules, the
#: reader-facing step that needs scores.edges is relcoord.publish, above the statistics).
PENDING: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _imports() -> list[tuple[str, str, bool, int]]:
    """(importer, imported, function-local?, line) for every intra-package import."""
    out = []
    for mod, path in MODULES.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def visit(node: ast.AST, local: bool, mod: str = mod, package: str = package) -> None:
            for child in ast.iter_child_nodes(node):
                in_function = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                targets: list[str] = []
                if isinstance(child, ast.ImportFrom):
                    if child.level:
                        base = package.split(".") if package else []
                        base = base[:len(base) - (child.level - 1)]
                        target = ".".join(base + ([child.module] if child.module else []))
                    elif (child.module or "").split(".")[0] == "relcoord":
                        target = child.module.partition(".")[2]
                    else:
                        target = None
                    if target is not None:
                        for alias in child.names:
                            sub = f"{target}.{alias.name}" if target else alias.name
                            targets.append(sub if sub in MODULES else target)
                elif isinstance(child, ast.Import):
                    targets = [a.name.partition(".")[2] for a in child.names if a.name.split(".")[0] == "relcoord"]
                for t in dict.fromkeys(targets):
                    if t and t != mod:
                        out.append((mod, t, local, child.lineno))
                visit(child, in_function)

        visit(tree, False)
    return out


IMPORTS = _imports()


def _layer(mod: str) -> int:
    for i, (_, members) in enumerate(LAYERS):
        for m in members:
            if mod == m or (m.endswith(".*") and mod.startswith(m[:-1])):
                if m.endswith(".*") and any(mod == x for _, xs in LAYERS for x in xs):
                    continue            # an exact entry elsewhere wins over a wildcard
                return i
    raise AssertionError(f"relcoord.{mod} is in no layer: add it to LAYERS in tests/test_architecture.py")


def _edges(include_pending: bool = False) -> set[tuple[str, str]]:
    return {(a, b) for a, b, _, _ in IMPORTS if include_pending or (a, b) not in PENDING}


def test_every_module_has_a_layer():
    for mod in MODULES:
        _layer(mod)


def test_no_function_local_intra_package_import():
    local = [f"relcoord.{a} line {n} imports relcoord.{b}" for a, b, is_local, n in IMPORTS
             if is_local and (a, b) not in PENDING]
    assert not local, "import these at module level:\n  " + "\n  ".join(local)


def test_no_import_circle():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for a, b in _edges():
        graph[a].add(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                pytest.fail("import circle: " + " -> ".join(f"relcoord.{x}" for x in cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_import_climbs_the_layers():
    up = [f"relcoord.{a} ({LAYERS[_layer(a)][0]}) imports relcoord.{b} ({LAYERS[_layer(b)][0]})"
          for a, b in sorted(_edges()) if _layer(b) > _layer(a)]
    assert not up, "imports up the layers:\n  " + "\n  ".join(up)


def test_pending_edges_still_exist():
    """An edge listed in PENDING that is gone must be deleted from the list."""
    everything = _edges(include_pending=True)
    assert set(PENDING) <= everything, f"fixed, remove from PENDING: {sorted(set(PENDING) - everything)}"
