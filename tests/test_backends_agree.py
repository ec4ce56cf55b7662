"""The two backends (``backend="highs"``: the model passed straight to HiGHS; ``backend="pyomo"``:
the same model as a Pyomo ``ConcreteModel`` solved through Pyomo's ``appsi_highs``) must agree on
every instance the test suite solves, mixed-integer ones included.

Each instance is solved both ways, and the raw solutions handed to ``results.extract`` are kept,
so that each plan's column values ``x`` can be checked against the labelled programme itself (not
against the code that made the plan):

* the same status;
* the same objective (relative 1e-7), and both plans feasible for the programme's rows and
  column bounds (within 1e-6, scaled) and passing ``Result.verify()``;
* the same value of every tie-break objective (``lp.tiebreaks``, relative 1e-5): the plan is the
  lexicographic optimum of (objective, tie-break 1, tie-break 2, ...) in both backends. Looser
  than the objective's 1e-7 because each stage holds the objectives before it only within 1e-9
  relative: on Kent that is ~£25 of a £25bn objective, room enough to move a tie-break such as the
  sum of prevention effects by a few parts in a million;
* the same plan tables (allocation spend and activity, outcomes, sector and budget spend) ---
  *or* two different plans with the same objective and tie-break values. Two distinct feasible
  plans with equal values for every objective of the sequence prove by themselves that the
  optimum is not unique: the tie-breaks leave a face of equally good plans, any point of which
  is a correct answer, and which vertex each backend's simplex stops at is down to pivoting order
  (Pyomo passes the rows and columns to HiGHS in its own order). Kent is such a case: the +5 point
  prevention share must be met with prevention spend, and the health-check, child-programme and
  drug-treatment services can trade that spend in 2029-2030 at no change in cost, prevention
  effect or money moved. So where the tables differ the values are compared instead, and the
  shipped tiny instances, whose optima are unique, must give the same tables.

Mixed-integer instances are solved at gap 0 (``mip_gap=0``): at a positive gap either backend
may stop at a different plan within it, both correct. Their tie-breaks run on the LP with the
integer choices fixed (both backends); when the two backends choose different integer values of
equal objective (another kind of alternative optimum), the tie-break values are those of different
LPs and only the objective is compared.

A handful of generated instances (tests/random_*instances.py) run by default; many more under
``-m slow``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import optimiser
import optimiser.solving.results
from optimiser import Status

from .conftest import ROOT
from .crosscheck import real_violations
from .random_holding_instances import random_holding_instance
from .random_instances import random_instance
from .random_mip_instances import random_mip_instance

REL = 1e-7
TIEBREAK_REL = 1e-5
#: every shipped instance (a new one joins the check by being shipped)
SHIPPED = sorted(str(p.relative_to(ROOT / "instances")) for p in (ROOT / "instances").rglob("*.yaml"))
UNIQUE = {"tiny/two_holders.yaml", "tiny/two_places.yaml", "tiny/two_services.yaml"}
PLAN_COLUMNS = {"allocation": (["service", "year"], ["spend", "activity"]),
                "outcomes": (["outcome", "year"], ["value"]),
                "sector_shares": (["sector", "year"], ["spend"]),
                "budget": (["year"], ["spend"])}
GENERATORS = {"lp": random_instance, "mip": random_mip_instance, "holding": random_holding_instance}
# a handful by default (each kind; some with a unique optimum, some not); the rest under -m slow
DEFAULT = [("lp", 0), ("lp", 6), ("mip", 31), ("mip", 43), ("holding", 5), ("holding", 8)]
SLOW = ([("lp", s) for s in range(1, 25) if s != 6] + [("mip", s) for s in list(range(30, 55)) + [209, 604]
                                                       if s not in (31, 43)]
        + [("holding", s) for s in range(0, 25) if s not in (5, 8)])
ISSUE_ARGS = ["--pathways", "1", "--nodes", "6", "--services", "12", "--segments", "2", "--years", "3", "--seed", "2"]
EXACT = "prevention_effects[0].response_model=exact"
HIGHS_LOG = re.compile(r"^(LP|MIP)\s+has \d+ rows; \d+ cols", re.M)  # the line HiGHS's log opens with


# ------------------------------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _raw_solutions(monkeypatch):
    """Collect (lp, raw solution) of every solve while active."""
    seen = []
    extract = optimiser.solving.results.extract

    def spy(instance, lp, raw, **kwargs):
        seen.append((lp, raw))
        return extract(instance, lp, raw, **kwargs)

    monkeypatch.setattr(optimiser.solving.results, "extract", spy)
    try:
        yield seen
    finally:
        monkeypatch.setattr(optimiser.solving.results, "extract", extract)


def solve_both(monkeypatch, inst, **options):
    """Both backends' Results and their (lp, raw) solutions."""
    with _raw_solutions(monkeypatch) as seen:
        fast = optimiser.solve(inst, **options)
        slow = optimiser.solve(inst, backend="pyomo", **options)
    assert len(seen) == 2
    return (fast, *seen[0]), (slow, *seen[1])


def lexicographic_values(lp, x) -> np.ndarray:
    """(objective, tie-break 1, tie-break 2, ...) at the plan ``x``."""
    return np.array([float(lp.objective @ x + lp.objective_offset)]
                    + [float(vec @ x) for _, vec in lp.tiebreak_costs()])


def infeasibility(lp, x) -> float:
    """Largest violation of a row or column bound at ``x``, relative to max(1, |bound|, and for a
    row the size of its terms sum_j |a_ij x_j|): a solver's tolerances are relative to what a row
    adds up, so a row of £bn terms that misses 0 by 2e-5 is met to 1e-14."""
    matrix = lp.matrix()
    rows = matrix @ x
    size = abs(matrix) @ np.abs(x)
    lo = np.concatenate([b.lower for b in lp.constraints.values()]) if lp.constraints else np.zeros(0)
    hi = np.concatenate([b.upper for b in lp.constraints.values()]) if lp.constraints else np.zeros(0)
    clo = np.concatenate([b.lower for b in lp.variables.values()])
    chi = np.concatenate([b.upper for b in lp.variables.values()])
    worst = 0.0
    for value, low, high, terms in ((rows, lo, hi, size), (x, clo, chi, np.abs(x))):
        with np.errstate(invalid="ignore"):
            below = np.where(np.isfinite(low), (low - value) / np.maximum.reduce([np.ones_like(low), np.abs(low), terms]), 0.0)
            above = np.where(np.isfinite(high), (value - high) / np.maximum.reduce([np.ones_like(high), np.abs(high), terms]), 0.0)
        worst = max(worst, float(np.max(below, initial=0.0)), float(np.max(above, initial=0.0)))
    return worst


def table_differences(a, b) -> list[str]:
    """The plan tables' columns that differ between Results ``a`` and ``b`` beyond tolerance."""
    out = []
    for name, (keys, cols) in PLAN_COLUMNS.items():
        ta, tb = a.tables.get(name), b.tables.get(name)
        if ta is None or tb is None or ta.empty:
            continue
        ta, tb = ta.set_index(keys)[cols].sort_index(), tb.set_index(keys)[cols].sort_index()
        assert ta.index.equals(tb.index), f"{name}: different rows"
        for c in cols:
            va, vb = ta[c].to_numpy(float), tb[c].to_numpy(float)
            scale = max(1.0, float(np.nanmax(np.abs(va), initial=0.0)))
            if not np.allclose(va, vb, rtol=1e-6, atol=1e-6 * scale, equal_nan=True):
                out.append(f"{name}.{c} (largest difference {np.nanmax(np.abs(va - vb)):.6g})")
    return out


def assert_agree(where: str, data, fast, slow) -> str:
    """Assert the two backends agree (see the module docstring); say how: 'no plan', 'same plan',
    'alternative optimum' (different plans, equal values) or 'other integer choices'."""
    (a, lp_a, raw_a), (b, lp_b, raw_b) = fast, slow
    assert a.status is b.status, f"{where}: highs {a.status.value}, pyomo {b.status.value}"
    if a.status is Status.UNBOUNDED:
        # the HiGHS path keeps the feasible point HiGHS holds when it finds the ray (has_plan, with
        # that point's objective); Pyomo's interface gives none. Neither is a plan to use.
        return "no plan"
    assert a.has_plan == b.has_plan, where
    if not a.has_plan:
        return "no plan"
    assert b.objective == pytest.approx(a.objective, rel=REL, abs=REL), where
    for name, result, lp, raw in (("highs", a, lp_a, raw_a), ("pyomo", b, lp_b, raw_b)):
        assert infeasibility(lp, raw.x) <= 1e-6, f"{where}: the {name} plan breaks a row or bound"
        problems = real_violations(data, result) if data is not None else result.verify().violations
        assert not problems, f"{where} ({name}):\n" + "\n".join(f"  - {v}" for v in problems)
    assert a.summary.get("tiebreaks_not_applied") == b.summary.get("tiebreaks_not_applied"), where
    integer = lp_a.integrality().astype(bool)
    if integer.any() and not np.array_equal(np.round(raw_a.x[integer]), np.round(raw_b.x[integer])):
        return "other integer choices"
    va, vb = lexicographic_values(lp_a, raw_a.x), lexicographic_values(lp_b, raw_b.x)
    labels = ["objective"] + [label for label, _ in lp_a.tiebreaks]
    for k, (label, x, y) in enumerate(zip(labels, va, vb)):
        tol = REL if k == 0 else TIEBREAK_REL
        assert abs(x - y) <= tol * max(1.0, abs(x)), f"{where}: {label}: highs {x!r}, pyomo {y!r}"
    return "alternative optimum" if table_differences(a, b) else "same plan"


def _generated(kind: str, seed: int):
    data = GENERATORS[kind](seed)
    return data, optimiser.load_data(copy.deepcopy(data), file=f"random-{kind}-{seed}")


def _options(kind: str) -> dict:
    return {"mip_gap": 0} if kind == "mip" else {}


# -------------------------------------------------------------------------------- shipped instances
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "kent.yaml" else n  # Kent twice: seconds
                                  for n in SHIPPED])
def test_shipped_instances_agree(monkeypatch, name):
    inst = optimiser.load(ROOT / "instances" / name)
    fast, slow = solve_both(monkeypatch, inst)
    how = assert_agree(name, None, fast, slow)
    assert fast[0].status is Status.OPTIMAL
    if name in UNIQUE:
        assert how == "same plan", table_differences(fast[0], slow[0])


# ------------------------------------------------------------------------------ generated instances
# one of each kind in the quick suite (the two LPs are also solved by the coverage test below)
QUICK = {("mip", 31), ("holding", 5)}


@pytest.mark.parametrize("kind,seed", [c if c in QUICK else pytest.param(*c, marks=pytest.mark.slow) for c in DEFAULT])
def test_generated_instances_agree(monkeypatch, kind, seed):
    data, inst = _generated(kind, seed)
    assert_agree(f"{kind} seed {seed}", data, *solve_both(monkeypatch, inst, **_options(kind)))


@pytest.mark.slow
@pytest.mark.parametrize("kind,seed", SLOW)
def test_many_generated_instances_agree(monkeypatch, kind, seed):
    data, inst = _generated(kind, seed)
    assert_agree(f"{kind} seed {seed}", data, *solve_both(monkeypatch, inst, **_options(kind)))


def test_the_default_cases_cover_both_kinds_of_agreement(monkeypatch):
    """Not vacuous: among the default cases are LPs, MIPs and holding instances, feasible and
    optimal, and both a unique plan (tables equal) and a non-unique optimum (tables differ, values
    equal) -- so the table comparison and the value comparison both run."""
    seen = {}
    for kind, seed in [("lp", 0), ("lp", 6)]:
        data, inst = _generated(kind, seed)
        seen[(kind, seed)] = assert_agree(f"{kind} seed {seed}", data, *solve_both(monkeypatch, inst))
    assert seen == {("lp", 0): "same plan", ("lp", 6): "alternative optimum"}


# ------------------------------------------------------------------- the issue's repro (issue 12)
@pytest.fixture(scope="module")
def issue_instance(tmp_path_factory) -> Path:
    """The instance of issue 12's repro, made by the issue's own command."""
    out = tmp_path_factory.mktemp("issue12") / "r.yaml"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_instance.py"), *ISSUE_ARGS, "--out", str(out)],
                   check=True, capture_output=True, timeout=600)
    return out


def test_issue_repro_mixed_integer_tiebreaks_agree(monkeypatch, issue_instance):
    """Exact prevention curves make the repro a MIP with a tie-break ('largest prevention
    effect'); the Pyomo path re-solved the whole MIP for that stage and crashed. Now both backends
    solve it at HiGHS's default gap, to the same plan values."""
    inst = optimiser.load(issue_instance, overrides=[EXACT])
    fast, slow = solve_both(monkeypatch, inst)
    assert fast[1].is_mip and fast[1].tiebreaks
    assert fast[0].status is Status.OPTIMAL
    assert assert_agree("issue 12 repro", None, fast, slow) in ("same plan", "alternative optimum")
    assert slow[0].summary["mip"]["duals"] == fast[0].summary["mip"]["duals"]
    assert slow[0].summary["mip"]["gap"] == pytest.approx(fast[0].summary["mip"]["gap"], abs=1e-4)


def _cli(*args, timeout=600):
    exe = Path(sys.executable).with_name("budgetshift")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "optimiser.cli.main"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.parametrize("backend", [pytest.param("pyomo", marks=pytest.mark.slow), "highs"])  # a subprocess each
def test_issue_repro_through_the_cli_with_the_solver_log(issue_instance, backend):
    """``budgetshift solve r.yaml --backend pyomo --set ...exact --solver-log --json`` exited 1
    (Pyomo's output capture failed when stdout pointed at stderr); the HiGHS path printed its log
    on stdout, breaking --json. Both: exit 0, stdout one JSON document with the plan, HiGHS's log on
    stderr, the same objective."""
    proc = _cli("solve", str(issue_instance), "--backend", backend, "--set", EXACT, "--solver-log", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert doc["status"] == "optimal" and doc["mixed_integer"] is True
    assert doc["verification"]["ok"] is True
    assert HIGHS_LOG.search(proc.stderr) and "internal error" not in proc.stderr
    expected = optimiser.solve(optimiser.load(issue_instance, overrides=[EXACT])).objective
    assert doc["objective"] == pytest.approx(expected, rel=REL)


def test_pyomo_solver_log_follows_sys_stdout(capfd):
    """Through the Python API the log goes where ``sys.stdout`` points, as with the HiGHS path:
    after ``redirect_stdout(sys.stderr)`` (two Python streams on one descriptor, which broke
    Pyomo's capture) it reaches stderr and nothing reaches stdout."""
    inst = optimiser.load(ROOT / "instances" / "tiny" / "two_services.yaml")
    for backend in ("pyomo", "highs"):
        with contextlib.redirect_stdout(sys.stderr):
            r = optimiser.solve(inst, backend=backend, log=True)
        assert r.status is Status.OPTIMAL and r.objective == pytest.approx(184_000)
        out, err = capfd.readouterr()
        assert out == "", backend
        assert HIGHS_LOG.search(err), backend
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        optimiser.solve(inst, backend="pyomo", log=True)
    assert HIGHS_LOG.search(buffer.getvalue())


def test_a_failed_pyomo_tiebreak_stage_is_skipped_as_in_the_highs_path(monkeypatch):
    """When a tie-break stage does not solve to optimality the plan of the stages before stands
    and the stage is named in ``tiebreaks_not_applied`` (it used to raise 'Cannot load a
    SolverResults object with bad status'). Forced here by making Pyomo's second solve (the first
    stage) report an error: the plan is then the primary optimum, with the primary objective."""
    import optimiser.solving.solve as solve_module

    data, inst = _generated("lp", 6)  # min cost, then 'largest prevention effect among the optimal plans'
    calls = []
    status_of = solve_module._status_from_pyomo

    def failing_second(res):
        calls.append(1)
        return (Status.ERROR, "error") if len(calls) == 2 else status_of(res)

    monkeypatch.setattr(solve_module, "_status_from_pyomo", failing_second)
    r = optimiser.solve(inst, backend="pyomo")
    lp = optimiser.build_lp(inst)
    assert lp.tiebreaks
    assert r.status is Status.OPTIMAL
    assert r.summary["tiebreaks_not_applied"] == [lp.tiebreaks[0][0]]
    assert r.objective == pytest.approx(optimiser.solve(inst).objective, rel=REL)
    assert not real_violations(data, r)


def test_infeasible_and_unbounded_instances_agree(monkeypatch):
    """The statuses without a plan: two_services with an admissions target of 10 (infeasible, as in
    tests/test_cli.py) and the free-loop instance of tests/test_formulation.py (unbounded; HiGHS's
    presolve says only 'infeasible or unbounded', and both backends then ask the simplex without
    presolve)."""
    from .conftest import base_instance

    tiny = optimiser.load(ROOT / "instances" / "tiny" / "two_services.yaml", overrides=["targets[0].at_most=10"])
    fast, slow = solve_both(monkeypatch, tiny)
    assert fast[0].status is Status.INFEASIBLE and assert_agree("infeasible", None, fast, slow) == "no plan"
    loop = base_instance(
        sectors=["acute"],
        services=[{"name": "ward", "sector": "acute", "unit_cost": 0, "baseline_activity": 0}],
        pathways=[{"name": "p",
                   "nodes": [{"name": "need", "kind": "source", "incidence": 0.01},
                             {"name": "adm", "kind": "care", "service": "ward"}, {"name": "home", "kind": "sink"}],
                   "edges": [{"from": "need", "to": "adm", "share": 1}, {"from": "adm", "to": "adm", "share": [0, 1]},
                             {"from": "adm", "to": "home", "share": [0, 1]}]}],
        outcomes=[{"name": "passes", "direction": "higher_is_better", "terms": [{"pathway": "p", "node": "adm"}]}],
        objective={"mode": "max_outcome", "weights": {"passes": 1.0}})
    fast, slow = solve_both(monkeypatch, optimiser.load_data(loop, file="loop.yaml"))
    assert fast[0].status is Status.UNBOUNDED and assert_agree("unbounded", None, fast, slow) == "no plan"
