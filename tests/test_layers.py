"""The import layers of the project, read from the source (AST, no imports run).

Every ``import`` of every module of ``estimators``, ``weighting`` and ``cext``
counts, those inside functions too:

* no import cycle among project modules;
* the direction ``cli``/``report`` → ``surveys`` → ``inference``/``model``/
  ``scale``/``io``/``diagnose`` → ``weighting`` → ``cext`` (a layer imports
  its own layer or those below, never one above);
* nothing imports ``estimators.cli`` or ``estimators.report`` but they
  themselves (tests and benchmarks are not project modules);
* ``weighting`` imports only numpy, the standard library and itself (it is
  vendorable), and reaches ``cext`` only through ``weighting/_backend.py``.

The checker works on a module graph, so it is tested on small fake graphs
too: each rule must catch its violation.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from repo_paths import REPO

PACKAGES = ("estimators", "weighting", "cext")
# Layer of a module: the longest matching prefix; a module imports only its own
# layer or lower ones. A new module of ``estimators`` outside these must be
# given a layer here (test_every_module_has_a_layer).
LAYERS = {
    "cext": 0,
    "weighting": 1,
    "estimators.inference": 2,
    "estimators.model": 2,
    "estimators.scale": 2,
    "estimators.io": 2,
    "estimators.diagnose": 2,
    "estimators._version": 2,
    "estimators._lazy": 2,
    "estimators._threads": 2,
    "estimators.surveys": 3,
    "estimators.cli": 4,
    "estimators.report": 4,
}
# The package itself re-exports lazily (importlib, by name): on top of all.
PACKAGE_LAYER = {"estimators": 5}
TOP = ("estimators.cli", "estimators.report")  # imported by nothing else
KERNEL_GATE = "weighting._backend"  # the one importer of cext
VENDORABLE = "weighting"  # numpy + stdlib + itself
VENDORABLE_ALLOWED = {"numpy", "weighting", "__future__"}


# -- the checker -------------------------------------------------------------------


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def imports_of(module: str, path: Path, modules) -> list[tuple[str, int]]:
    """``(imported module, line)`` of every import statement in ``path``.

    ``from X import y`` imports ``X.y`` when that is a module, else ``X``;
    relative imports are resolved against the module's package.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in modules else base, node.lineno))
    return found


def import_graph(root: Path) -> tuple[dict[str, list[tuple[str, int]]], dict[str, Path]]:
    modules = project_modules(root)
    return {m: imports_of(m, p, modules) for m, p in modules.items()}, modules


def layer(module: str) -> int | None:
    if module in PACKAGE_LAYER:
        return PACKAGE_LAYER[module]
    best = max(
        (p for p in LAYERS if module == p or module.startswith(p + ".")), key=len, default=None
    )
    return None if best is None else LAYERS[best]


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def cycles(graph, modules) -> list[list[str]]:
    """Strongly connected components with more than one module (or a module
    importing itself), by Tarjan's algorithm (iterative)."""
    edges = {m: sorted({t for t, _ in graph[m] if t in modules}) for m in graph}
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges[node]:
                    out.append(sorted(component))
    return out


def layer_violations(graph, modules, rules=None) -> list[str]:
    """One line per import that breaks a rule (``module:line imports target:
    why``); ``rules`` limits them to some of ``kernels``, ``vendorable``,
    ``top``, ``direction``."""
    out = []
    stdlib = set(sys.stdlib_module_names)
    for module, targets in sorted(graph.items()):
        own = layer(module)
        for target, line in targets:
            where = f"{module}:{line} imports {target}"
            top = target.split(".")[0]
            if top == "cext" and module != KERNEL_GATE and not _within(module, ("cext",)):
                out.append(("kernels", f"{where}: kernels only through {KERNEL_GATE}"))
            if (
                _within(module, (VENDORABLE,))
                and top not in VENDORABLE_ALLOWED
                and top not in stdlib
                and top != "cext"
            ):
                out.append(
                    (
                        "vendorable",
                        f"{where}: {VENDORABLE} imports only numpy, "
                        "the standard library and itself",
                    )
                )
            if target not in modules and top not in PACKAGES:
                continue  # third party or standard library
            if _within(target, TOP) and not _within(module, TOP):
                out.append(("top", f"{where}: nothing below cli/report imports them"))
            theirs = layer(target)
            if own is not None and theirs is not None and theirs > own:
                out.append(("direction", f"{where}: layer {theirs} above the importer's {own}"))
    return [line for rule, line in out if rules is None or rule in rules]


# -- the project -------------------------------------------------------------------

GRAPH, MODULES = import_graph(REPO)


def test_every_package_is_read():
    assert {
        "estimators.inference.estimate",
        "weighting._backend",
        "estimators.report.pipeline",
        "estimators.surveys.employers",
        "cext",
    } <= set(MODULES)
    # function-level imports are edges too
    assert "estimators.surveys.employers.analysis" in {
        t for t, _ in GRAPH["estimators.surveys.employers"]
    }


def test_every_module_has_a_layer():
    assert [m for m in MODULES if layer(m) is None] == []


def test_no_import_cycle():
    assert cycles(GRAPH, MODULES) == []


def test_layers_point_down_and_cli_report_stay_on_top():
    assert layer_violations(GRAPH, MODULES, rules=("direction", "top")) == []


def test_weighting_is_vendorable():
    assert layer_violations(GRAPH, MODULES, rules=("vendorable",)) == []


def test_kernels_only_through_the_backend():
    # the Dask chunk kernel too: _backend checks the kernels' API version and
    # contract once for every caller
    assert layer_violations(GRAPH, MODULES, rules=("kernels",)) == []


# -- the checker on fake graphs ----------------------------------------------------


def _fake(edges: dict[str, list[str]]):
    graph = {m: [(t, 1) for t in targets] for m, targets in edges.items()}
    return graph, dict.fromkeys(graph)


def test_checker_finds_cycles_through_any_length():
    graph, modules = _fake(
        {
            "estimators.model.glm": ["estimators.model.results"],
            "estimators.model.results": ["estimators.model.variance"],
            "estimators.model.variance": ["estimators.model.glm", "numpy"],
            "estimators.io.files": ["estimators.io.files"],
            "estimators.io.cati": ["estimators.io.files"],
        }
    )
    assert cycles(graph, modules) == [
        ["estimators.io.files"],
        ["estimators.model.glm", "estimators.model.results", "estimators.model.variance"],
    ]
    graph["estimators.model.variance"] = [("numpy", 1)]
    graph["estimators.io.files"] = []
    assert cycles(graph, modules) == []


@pytest.mark.parametrize(
    "module, target, why",
    [
        ("estimators.inference.estimate", "estimators.surveys.employers", "layer 3 above"),
        ("estimators.surveys.employers", "estimators.report.labels", "nothing below cli/report"),
        ("estimators.model.glm", "estimators.cli", "nothing below cli/report"),
        ("weighting.design", "estimators.inference.variance", "layer 2 above"),
        ("weighting.design", "pandas", "imports only numpy"),
        ("weighting.replicates", "cext._replicate", "kernels only through"),
        ("estimators.scale.chunks", "cext", "kernels only through"),
        ("cext", "weighting.errors", "layer 1 above"),
    ],
)
def test_checker_finds_each_kind_of_violation(module, target, why):
    graph, modules = _fake({module: [target], target: []})
    assert any(why in line for line in layer_violations(graph, modules))


@pytest.mark.parametrize(
    "module, target",
    [
        ("estimators.cli.report", "estimators.report"),  # the top layer, within itself
        ("estimators.report.pipeline", "estimators.surveys.base"),
        ("estimators.surveys.employers", "estimators.inference.catalog"),
        ("estimators.scale.engine", "estimators.inference.variance"),  # same layer
        ("estimators.io.files", "weighting.margins"),
        ("weighting._backend", "cext"),
        ("weighting.design", "numpy"),
        ("weighting.design", "dataclasses"),
        ("estimators.inference.estimate", "pandas"),
    ],
)
def test_checker_allows_what_the_layers_allow(module, target):
    graph, modules = _fake({module: [target], target: []})
    assert layer_violations(graph, modules) == []


def test_relative_and_from_imports_resolve_to_modules(tmp_path):
    pkg = tmp_path / "estimators" / "model"
    pkg.mkdir(parents=True)
    (tmp_path / "estimators" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("from .glm import svyglm\n")
    (pkg / "glm.py").write_text(
        "def f():\n    from . import results\n    from ..model.results import x\n"
    )
    (pkg / "results.py").write_text("from estimators import model\n")
    for package in ("weighting", "cext"):
        (tmp_path / package).mkdir()
    graph, modules = import_graph(tmp_path)
    assert [t for t, _ in graph["estimators.model"]] == ["estimators.model.glm"]
    assert [t for t, _ in graph["estimators.model.glm"]] == [
        "estimators.model.results",
        "estimators.model.results",
    ]
    assert [t for t, _ in graph["estimators.model.results"]] == ["estimators.model"]
    assert cycles(graph, modules) == [
        ["estimators.model", "estimators.model.glm", "estimators.model.results"]
    ]
