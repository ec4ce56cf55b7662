"""The registry of constraint families (formulations/families.py) is complete and true.

Each family must have its maths in docs/formulation.md, at least one hand-derived test that exists,
and at least one residual check in optimiser/solving/verify.py; every block that ``build`` adds must be
claimed by the family whose step added it, with the keys, unit and dual unit the record states.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import optimiser
from formulations import families
from formulations.build import STEPS
from formulations.families import BLOCKS, FAMILIES, RELAX_GROUPS
from formulations.lp import LinearProgram

ROOT = Path(__file__).resolve().parent.parent
IDS = [f.label for f in FAMILIES]


def _sections(text: str) -> dict[str, str]:
    """Markdown sections by heading (without the ``#``s), each with its text up to the next heading
    of the same or a higher level; also each bold lead-in paragraph (``**Title** (...)``) as a
    section of its own."""
    lines = text.splitlines()
    heads = [(i, len(m.group(1)), m.group(2).strip()) for i, line in enumerate(lines)
             if (m := re.match(r"^(#+)\s+(.*)$", line))]
    out = {}
    for k, (i, level, title) in enumerate(heads):
        end = next((j for j, lv, _ in heads[k + 1:] if lv <= level), len(lines))
        out[title] = "\n".join(lines[i:end])
    return out


DOCS = (ROOT / "docs" / "formulation.md").read_text(encoding="utf-8")
SECTIONS = _sections(DOCS)


def _verify_checks() -> set[str]:
    """The names of the residual checks in optimiser/solving/verify.py: the first argument of every
    ``c.leq``, ``c.eq`` and ``c.known`` call that is a plain string."""
    tree = ast.parse((ROOT / "optimiser" / "solving" / "verify.py").read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("leq", "eq", "known") and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.add(node.args[0].value)
    return names


CHECKS = _verify_checks()


def test_steps_are_the_registry_in_order():
    assert STEPS == tuple((f.label, f.build) for f in FAMILIES)
    assert len({f.label for f in FAMILIES}) == len(FAMILIES)
    names = [b.name for f in FAMILIES for b in f.blocks]
    assert len(names) == len(set(names)), "a block is claimed by two families"


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_family_has_its_docs_section(family):
    """The section ``family.docs`` exists and names the build function (its dotted name)."""
    title = next((t for t in SECTIONS if t == family.docs or t.startswith(family.docs + " ")
                  or t.startswith(family.docs + ";")), None)
    assert title is not None, f"{family.label}: no heading '{family.docs}' in docs/formulation.md"
    assert family.builder in SECTIONS[title], (
        f"{family.label}: section '{title}' of docs/formulation.md does not name {family.builder}")


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_family_has_a_hand_derived_test_that_exists(family):
    assert family.tests, f"{family.label}: no hand-derived test named in the registry"
    for node in family.tests:
        path, _, name = node.partition("::")
        assert (ROOT / path).is_file(), f"{family.label}: no test file {path}"
        module = importlib.import_module(path[:-3].replace("/", "."))
        test = getattr(module, name.split("[")[0], None)
        assert callable(test), f"{family.label}: no test {node}"
        assert test.__doc__ or module.__doc__, (
            f"{family.label}: {node} has no docstring, nor has its module (where is the hand derivation?)")


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_family_has_a_verifier_check(family):
    assert family.checks, f"{family.label}: no verifier check named in the registry"
    missing = [c for c in family.checks if c not in CHECKS]
    assert not missing, f"{family.label}: no check {missing} in optimiser/solving/verify.py"


def test_registry_fields_are_consistent():
    explain = importlib.import_module("optimiser.analyses.explain")

    for b in BLOCKS.values():
        assert b.relax is None or b.relax in RELAX_GROUPS, b.name
        assert b.relax_scale in ("bound", "required share", "first year"), b.name
    ranks = [b.key_dual for b in BLOCKS.values() if b.key_dual]
    assert len(ranks) == len(set(ranks))
    sweep = [b.sweep_dual for b in BLOCKS.values() if b.sweep_dual]
    assert len(sweep) == len(set(sweep))
    assert all(BLOCKS[n].key_dual for n in families.terminal_duals())
    priced = {f.prices for f in FAMILIES if f.prices}
    assert priced == set(explain.PRICE_ORDER), "explain prices exactly the families that name a pricer"
    assert all(callable(getattr(explain, p)) for p in priced)
    assert {b.relax for b in BLOCKS.values() if b.relax} == set(RELAX_GROUPS)


def _instances():
    """The shipped instances and generated ones that between them use every family (seeds picked
    for it: transfer policy; openings limit; incidence floor; equity, ring fences, curves and
    teams; pooled funds; lasting effects on an exact curve)."""
    from .random_holding_instances import random_holding_instance, with_arrangement
    from .random_cash_instances import random_cash_instance
    from .random_instances import random_instance
    from .random_lasting_instances import random_lasting_instance
    from .random_mip_instances import random_mip_instance

    for f in sorted((ROOT / "instances").rglob("*.yaml")):
        yield optimiser.load(f)
    yield optimiser.load_data(random_instance(3))
    yield optimiser.load_data(random_mip_instance(1))
    yield optimiser.load_data(random_mip_instance(5))
    yield optimiser.load_data(with_arrangement(random_holding_instance(0), "pooled"))
    yield optimiser.load_data(with_arrangement(random_holding_instance(1), "partial"))
    yield optimiser.load_data(random_lasting_instance(0))   # a lasting effect on an exact (S-shaped) curve
    yield optimiser.load_data(random_cash_instance(1))      # a transformation fund with a total


@pytest.mark.slow
def test_every_block_built_is_claimed_by_its_family_and_every_claim_is_built():
    """Build each step in turn and check what it added against its record (keys, unit, dual
    unit); every block the registry claims must be built by some instance."""
    built = set()
    for inst in _instances():
        lp = LinearProgram(name=inst.name)
        for fam in FAMILIES:
            before_v, before_c = set(lp.variables), set(lp.constraints)
            fam.build(lp, inst)
            claimed = {b.name: b for b in fam.blocks}
            for name in set(lp.variables) - before_v:
                b = claimed.get(name)
                assert b is not None and b.variable, f"variable block {name!r} added by '{fam.label}' is not claimed"
                v = lp.variables[name]
                assert (tuple(v.keys), v.unit) == (b.keys, b.unit), name
                built.add(name)
            for name in set(lp.constraints) - before_c:
                b = claimed.get(name)
                assert b is not None and not b.variable, (
                    f"constraint block {name!r} added by '{fam.label}' is not claimed by its registry record")
                c = lp.constraints[name]
                assert (tuple(c.index.columns), c.unit, c.dual_unit) == (b.keys, b.unit, b.dual_unit), name
                built.add(name)
    assert set(BLOCKS) - built == set(), "registry blocks no instance builds (stale records?)"


def test_the_mathematics_imports_nothing_from_optimiser():
    """formulations/ (the registry included) is the lower layer: optimiser reads it, never the
    reverse (the registry names optimiser's functions by string)."""
    for path in sorted((ROOT / "formulations").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            assert not any(n.split(".")[0] == "optimiser" for n in names), f"{path.name} imports optimiser"
