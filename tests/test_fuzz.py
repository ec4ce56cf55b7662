"""Seeded mutations of the shipped instances, validated through the CLI: whatever is wrong with a
file, ``budgetshift validate`` answers with a list of problems (exit 3) or a valid instance (exit 0),
never an internal error (exit 1) and never a traceback.

Four kinds of mutation, each drawn from its own seeded generator so that a failure names the
seed that reproduces it:

* the tree: a value replaced by a wrong type, NaN, an infinity, a boolean, text, a huge number,
  an empty list or mapping; a key deleted, misspelt or repeated in text; a list item duplicated;
  a list emptied;
* the text: a tab in the indentation, a character deleted, a line duplicated, the file cut short,
  an anchor or alias inserted, bytes that are not UTF-8;
* ``--set`` overrides: a path from the file (sometimes mangled) set to a wrong value;
* CSV tables: cells replaced, rows duplicated or cut, bytes that are not UTF-8, a byte-order mark.

The full suite runs a few hundred mutations (13 batches of 25), the quick suite (``-m "not slow"``)
the first batch of each kind; ``-m slow`` adds the long run, ten times more.
"""

from __future__ import annotations

import copy
import math
import random
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from optimiser.cli.main import EXIT_INVALID, EXIT_OK, main

from .conftest import ROOT

INSTANCES = sorted([ROOT / "instances" / "kent.yaml", *(ROOT / "instances" / "tiny").glob("*.yaml")])
SOURCES = {p.name: p.read_text(encoding="utf-8") for p in INSTANCES}
TREES = {name: yaml.safe_load(text) for name, text in SOURCES.items()}

BAD_VALUES = [True, False, None, "abc", "", "1e6", "yes", math.nan, math.inf, -math.inf, 1e308, -1e308, -1, 0, 0.5,
              2.5, 10 ** 30, -(10 ** 30), [], {}, [1, 2], [[0, 0]], {"a": 1}, {"value": math.nan}, {2025: True},
              {"from_csv": "nope.csv"}, {"from_csv": 5}, "services", "2025-01-01", [None], [math.inf, 1]]


def _nodes(tree, path=()):
    """Every (path, value) in a tree, the root included."""
    yield path, tree
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            yield from _nodes(v, path + (i,))


def _get(tree, path):
    for step in path:
        tree = tree[step]
    return tree


def mutate_tree(tree, rng: random.Random):
    """One random structural mutation of a copy of ``tree``, and a word on what it was."""
    tree = copy.deepcopy(tree)
    nodes = list(_nodes(tree))
    kind = rng.choice(["value", "value", "value", "delete", "rename", "duplicate", "empty", "scalarise"])
    if kind in ("value", "scalarise"):
        path, _ = rng.choice(nodes[1:])
        value = rng.choice(BAD_VALUES) if kind == "value" else rng.choice([1, "x", None])
        _get(tree, path[:-1])[path[-1]] = copy.deepcopy(value)
        return tree, f"{kind} {path} = {value!r}"
    mappings = [(p, v) for p, v in nodes if isinstance(v, dict) and v]
    lists = [(p, v) for p, v in nodes if isinstance(v, list) and v]
    if kind in ("delete", "rename") and mappings:
        path, node = rng.choice(mappings)
        key = rng.choice(list(node))
        value = node.pop(key)
        if kind == "rename":
            node[f"{key}x"] = value
        return tree, f"{kind} {path + (key,)}"
    if lists:
        path, node = rng.choice(lists)
        if kind == "duplicate":
            node.append(copy.deepcopy(rng.choice(node)))
        else:
            node.clear()
        return tree, f"{kind} {path}"
    return tree, "none"


def mutate_text(text: str, rng: random.Random) -> tuple[bytes, str]:
    """One random mutation of a file's text (as bytes: some are not UTF-8)."""
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    kind = rng.choice(["tab", "delete_char", "duplicate_line", "truncate", "alias", "latin1", "duplicate_key",
                       "bom", "nul"])
    if kind == "tab":
        lines[i] = "\t" + lines[i]
    elif kind == "delete_char" and lines[i].strip():
        j = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:j] + lines[i][j + 1:]
    elif kind in ("duplicate_line", "duplicate_key"):
        lines.insert(i, lines[i])
    elif kind == "truncate":
        lines = lines[:i] + [lines[i][: rng.randrange(len(lines[i]) + 1)]]
    elif kind == "alias":
        lines[i] = lines[i].replace(": ", ": &a ", 1) if rng.random() < 0.5 else lines[i].replace(": ", ": *a ", 1)
    elif kind == "nul":
        lines[i] = lines[i][:1] + "\x00" + lines[i][1:]
    data = "".join(lines).encode("utf-8")
    if kind == "latin1":
        data = "".join(lines).replace("e", "\xe9", 1).encode("latin-1", errors="replace")
    elif kind == "bom":
        data = b"\xef\xbb\xbf" + data
    return data, f"{kind} line {i + 1}"


def mangle_path(path: str, rng: random.Random) -> str:
    kind = rng.choice(["keep", "keep", "bracket", "dots", "empty", "unknown", "index"])
    if kind == "bracket":
        return path.replace("]", "", 1) if "]" in path else path + "["
    if kind == "dots":
        return path.replace(".", "..", 1) if "." in path else "." + path
    if kind == "empty":
        return ""
    if kind == "unknown":
        return path + ".nosuch"
    if kind == "index":
        return path.split("[")[0] + "[999]" if "[" in path else path + "[0]"
    return path


def _format(path) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _check(result, shown: str, what: str) -> None:
    out = result.output
    assert result.exit_code in (EXIT_OK, EXIT_INVALID), f"{what}: exit {result.exit_code}\n{out}"
    assert "Traceback" not in out and "internal error" not in out, f"{what}:\n{out}"
    if result.exit_code == EXIT_INVALID:
        assert "expected" in out, f"{what}: a problem without what was expected\n{out}"


def _validate(args):
    return CliRunner().invoke(main, ["validate", *args])


def run_tree_mutations(seed: int, n: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    for k in range(n):
        name = rng.choice(sorted(TREES))
        tree, what = mutate_tree(TREES[name], rng)
        path = tmp_path / f"tree_{seed}_{k}.yaml"
        path.write_text(yaml.safe_dump(tree, sort_keys=False, allow_unicode=True), encoding="utf-8")
        _check(_validate([str(path)]), path.name, f"seed {seed} #{k} {name}: {what}")


def run_text_mutations(seed: int, n: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    for k in range(n):
        name = rng.choice(sorted(SOURCES))
        data, what = mutate_text(SOURCES[name], rng)
        path = tmp_path / f"text_{seed}_{k}.yaml"
        path.write_bytes(data)
        _check(_validate([str(path)]), path.name, f"seed {seed} #{k} {name}: {what}")


def run_override_mutations(seed: int, n: int) -> None:
    rng = random.Random(seed)
    for k in range(n):
        name = rng.choice(sorted(TREES))
        nodes = [p for p, _ in _nodes(TREES[name]) if p]
        target = mangle_path(_format(rng.choice(nodes)), rng)
        value = rng.choice(["true", "yes", ".nan", ".inf", "-1", "abc", "", "[1, 2]", "{a: 1}", "1e6", "!!binary aGk=",
                            "{2025: .nan}", "&a [*a]", "0", "1.5", "null", "[", "'unclosed"])
        args = [str(INSTANCES[[p.name for p in INSTANCES].index(name)]), "--set", f"{target}={value}"]
        _check(_validate(args), name, f"seed {seed} #{k} --set {target}={value}")


CSV_PLAN = """format_version: 1
name: csv fuzz
horizon: {base_year: 2025, years: 2, discount_rate: 0.0}
budget: {pooled: 1000000}
sectors: [prevention, acute]
services: {from_csv: services.csv}
segments:
  - {name: adults, population: {from_csv: population.csv}}
"""
CSV_FILES = {
    "services.csv": "name,sector,unit_cost.value,unit_cost.growth,baseline_activity,capacity.max\n"
                    "clinic,prevention,100,0.02,100,\nward,acute,1000,,100,500\n",
    "population.csv": "year,value\n2025,10000\n2026,10100\n2027,10200\n",
}
CELLS = ["", "true", "nan", "inf", "-1", "abc", "1e6", "\"[1, 2]\"", "{a: 1}", "2026", "ward", "\"1,5\"", " ", "0"]


def run_csv_mutations(seed: int, n: int, tmp_path: Path) -> None:
    rng = random.Random(seed)
    for k in range(n):
        folder = tmp_path / f"csv_{seed}_{k}"
        folder.mkdir()
        (folder / "plan.yaml").write_text(CSV_PLAN, encoding="utf-8")
        for file, text in CSV_FILES.items():
            (folder / file).write_text(text, encoding="utf-8")
        file = rng.choice(sorted(CSV_FILES))
        rows = [r.split(",") for r in CSV_FILES[file].splitlines()]
        kind = rng.choice(["cell", "cell", "cell", "duplicate_row", "drop_cell", "extra_cell", "latin1", "bom",
                           "header", "empty", "blank_row"])
        i, j = rng.randrange(len(rows)), 0
        if kind == "cell":
            j = rng.randrange(len(rows[i]))
            rows[i][j] = rng.choice(CELLS)
        elif kind == "duplicate_row":
            rows.append(list(rows[max(i, 1)]))
        elif kind == "drop_cell":
            rows[i].pop()
        elif kind == "extra_cell":
            rows[i].append("x")
        elif kind == "header":
            rows[0][rng.randrange(len(rows[0]))] = rng.choice(["", "value", "name", "unit_cost", "x.y", "year "])
        elif kind == "blank_row":
            rows.insert(max(i, 1), [""] * len(rows[0]))
        text = "\n".join(",".join(r) for r in rows) + "\n"
        data = text.encode("utf-8")
        if kind == "latin1":
            data = text.replace("a", "\xe0", 1).encode("latin-1")
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "empty":
            data = b""
        (folder / file).write_bytes(data)
        _check(_validate([str(folder / "plan.yaml")]), file, f"seed {seed} #{k} {file}: {kind} row {i + 1}")


#: the first batch of each kind of mutation runs in the quick suite, the others under -m slow
SEEDS = [0] + [pytest.param(seed, marks=pytest.mark.slow) for seed in range(1, 6)]


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_tree_mutations_never_fail_inside(seed, tmp_path):
    run_tree_mutations(seed, 25, tmp_path)


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_text_mutations_never_fail_inside(seed, tmp_path):
    run_text_mutations(100 + seed, 25, tmp_path)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_override_mutations_never_fail_inside(seed):
    run_override_mutations(200 + seed, 25)


@pytest.mark.parametrize("seed", SEEDS[:2])
def test_csv_mutations_never_fail_inside(seed, tmp_path):
    run_csv_mutations(300 + seed, 25, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1000, 1010))
def test_many_more_mutations(seed, tmp_path, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the long fuzz run (a few minutes): pytest -m slow tests/test_fuzz.py")
    run_tree_mutations(seed, 150, tmp_path)
    run_text_mutations(seed, 50, tmp_path)
    run_override_mutations(seed, 50)
    run_csv_mutations(seed, 25, tmp_path)
