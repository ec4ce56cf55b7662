"""The layers of ``optimiser/`` import only downward, and no two modules import each other.

From the bottom: ``errors`` and ``gc_pause`` (the foundation every layer uses); ``formulations``
(the maths, a package of its own that imports nothing of ``optimiser``); ``input`` (an instance
file to a validated, read-only Instance); ``output`` (writing and drawing tables: result folders,
Excel, the terminal, HTML; it knows tables and the registry's words for them, not how they were
made, so it imports nothing of ``input`` or ``solving``); ``solving`` (an Instance to a Result through HiGHS, the verifier,
cash and returns); ``analyses`` (many plans: the execution engine, explain, compare, pooling,
sweep, pareto, uncertainty, reports); ``cli`` (the click shell). The package's ``__init__`` (the
lazy public API) and ``__main__`` sit on top. Every import counts, at the top of a module or inside
a function. An import inside a function is there to keep start-up quick, never to hide a circle:
below ``cli`` (whose commands load only when run) an import of another optimiser module is made at
the top of the module (:func:`test_below_the_cli_optimiser_modules_are_imported_at_the_top`);
third-party libraries and ``formulations`` (which loads Pyomo or SciPy for some models) may be
imported late anywhere.

The one upward import inside a layer that is allowed is listed in :data:`ALLOWED_CYCLES` with its
reason; a new one fails here. Modules import no private (``_name``) names of one another.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (ROOT / "optimiser", ROOT / "formulations")

#: (layer, its modules and subpackages) from the bottom up; a module may import its own layer and
#: those below. "optimiser" and "optimiser.__main__" are the package layer exactly: a new module
#: anywhere else must be placed in a layer here.
LAYERS = (
    ("foundation", ("optimiser.errors", "optimiser.gc_pause")),
    ("formulations", ("formulations",)),
    ("input", ("optimiser.input",)),
    ("output", ("optimiser.output",)),
    ("solving", ("optimiser.solving",)),
    ("analyses", ("optimiser.analyses",)),
    ("cli", ("optimiser.cli",)),
    ("package", ("optimiser", "optimiser.__main__")),
)

#: layers that must not import each other although their order would allow it
INDEPENDENT = {("output", "input")}

#: import edges that close a circle, each allowed for the reason given
ALLOWED_CYCLES = {
    ("optimiser.input.instance", "optimiser.input.variants"):
        "Instance.with_overrides is a method for the planner's convenience: a variant is loaded "
        "again (optimiser.input.variants, which runs the loader that builds Instances)",
}


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    best = None
    for i, (layer, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or (layer != "package" and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[1]:
                    best = (i, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to one (tests/test_layers.py)"
    return best[0]


class Import(NamedTuple):
    target: str        # the module imported
    names: list[str]   # the names imported from it (not submodules)
    line: int
    late: bool         # not at the module's top level (inside a function, class or block)


def _imports(module: str) -> list[Import]:
    """Every import of an optimiser or formulations module made by ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        late = id(node) not in top
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith(("optimiser", "formulations")):
                continue
            names = [a.name for a in node.names]
            submodules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            out += [Import(s, [], node.lineno, late) for s in submodules]
            names = [n for n in names if f"{target}.{n}" not in MODULES]
            if names or not submodules:
                out.append(Import(target, names, node.lineno, late))
        elif isinstance(node, ast.Import):
            out += [Import(a.name, [], node.lineno, late) for a in node.names
                    if a.name.startswith(("optimiser", "formulations"))]
    return out


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _, _ in _imports(module):
            if target in MODULES and target != module:
                edges[module].add(target)
    return edges


def test_every_module_is_in_a_layer():
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_go_only_downward(module):
    here = _layer(module)
    for target, _, line, _ in _imports(module):
        there = _layer(target)
        assert there <= here, (f"{module} (layer {LAYERS[here][0]}) imports {target} (layer {LAYERS[there][0]}, "
                               f"above it) at line {line}")
        pair = (LAYERS[here][0], LAYERS[there][0])
        assert pair not in INDEPENDENT, f"{module} imports {target} at line {line}: {pair[0]} must not use {pair[1]}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) < _layer("optimiser.cli")))
def test_below_the_cli_optimiser_modules_are_imported_at_the_top(module):
    late = [(i.target, i.line) for i in _imports(module)
            if i.late and i.target.startswith("optimiser") and (module, i.target) not in ALLOWED_CYCLES]
    assert not late, f"{module} imports {late} inside a function: import them at the top of the module"


def test_no_module_imports_a_private_name_of_another():
    found = [f"{m} imports {n} from {t} (line {line})" for m in MODULES for t, names, line, _ in _imports(m)
             for n in names if n.startswith("_") and t != m]
    assert not found, "\n".join(found)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports, or None (depth-first search over the graph)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_circles():
    edges = _edges()
    for (a, b) in ALLOWED_CYCLES:
        assert b in edges[a], f"ALLOWED_CYCLES lists {a} -> {b}, which is no longer imported: remove it"
        edges[a].discard(b)
    circle = _cycle(edges)
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_the_layer_rules_can_fail():
    """A module outside every named layer is refused, and the package layer holds only itself."""
    for module in ("optimiser.newthing", "optimiser.newpackage.part", "elsewhere.thing"):
        with pytest.raises(AssertionError, match="in no layer"):
            _layer(module)
    assert LAYERS[_layer("optimiser")][0] == "package" and LAYERS[_layer("formulations.lp")][0] == "formulations"


def test_the_circle_finder_finds_circles():
    """The check above can fail: a made-up graph with a circle is caught, one without is not."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
