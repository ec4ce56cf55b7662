"""Cross-check budget holders, places, ring fences, capitation and equity against the reference.

tests/reference_mip.py builds the model a second time, by hand, from the raw instance mapping;
its holder, scope and equity rows were written from docs/formulation.md and
docs/instance-format.md alone. tests/random_holding_instances.py draws small random instances
with 2-3 places, usually 2-3 budget holders (sometimes with pooled funds), and sometimes ring
fences, capitation and equity rules set around an optimal plan. Every instance is solved under
each arrangement it allows (pooled, siloed, and partial when it has a fund) by
``optimiser.solve`` and by the reference: both must agree on the status and, when optimal, on
the objective (relative 1e-6), and every optimal plan must pass ``Result.verify()`` (checked on
the cases the reference finds a plan for, so no case is generated only to be skipped). Pooling
never hurts: siloed >= partial >= pooled in cost (the reverse in outcome), and an instance
without a pooled plan has no siloed or partial plan either.

A larger batch: ``python -m tests.test_reference_holdings 500`` (seeds 0-499; or ``START STOP``)
prints the agreement counts and every problem found.
"""

from __future__ import annotations

import copy
import functools
import pathlib
import sys

import pytest
import yaml

from .crosscheck import REL_TOL, cases, disagreement, real_violations, solve_ours
from .random_holding_instances import arrangements, random_holding_instance, with_arrangement
from .reference_mip import reference_solve_mip

# 18 consecutive seeds plus 57 and 94, where pooling has a value (siloed costs more than pooled:
# rare, as it needs a short holder whose patients can be moved to another holder's services).
# About 45 solves of each formulation keep the file near 20 s on one core: the product's build
# and result tables take about 0.3 s a solve, the reference about 0.01 s. A larger batch: main().
SEEDS = list(range(18)) + [57, 94]
ORDER = ("siloed", "partial", "pooled")          # least to most pooling
INSTANCES = pathlib.Path(__file__).resolve().parents[1] / "instances" / "tiny"


@functools.lru_cache(maxsize=None)
def _instance(seed: int) -> dict:
    return random_holding_instance(seed)


@functools.lru_cache(maxsize=None)
def _reference(seed: int, arrangement: str):
    return reference_solve_mip(copy.deepcopy(with_arrangement(_instance(seed), arrangement)))


@functools.lru_cache(maxsize=None)
def _solved(seed: int, arrangement: str):
    data = with_arrangement(_instance(seed), arrangement)
    return data, solve_ours(data, f"random-holding-{seed}-{arrangement}", mip_gap=0), _reference(seed, arrangement)


CASES = [(seed, a) for seed in SEEDS for a in arrangements(_instance(seed))]
HOLDING_SEEDS = [seed for seed in SEEDS if _instance(seed)["budget"].get("holders")]
#: the cases with a plan (by the reference): the plans to verify
FEASIBLE = [(seed, a) for seed, a in CASES if _reference(seed, a)[0] == "optimal"]


def _disagreement(seed, arrangement):
    """None when the product and the reference agree, else a message."""
    _, result, (status, objective) = _solved(seed, arrangement)
    return disagreement(f"seed {seed} ({arrangement})", result, status, objective)


@pytest.mark.parametrize("seed, arrangement", cases(CASES))
def test_same_status_and_objective(seed, arrangement):
    problem = _disagreement(seed, arrangement)
    assert problem is None, problem


@pytest.mark.parametrize("seed, arrangement", cases(FEASIBLE))
def test_optimal_plan_verifies(seed, arrangement):
    data, result, (status, _) = _solved(seed, arrangement)
    assert status == "optimal" and not isinstance(result, Exception) and result.has_plan, \
        f"seed {seed} ({arrangement}): {result}"
    assert not real_violations(data, result), f"seed {seed} ({arrangement}):\n{result.verify()}"


def _pooling_problem(seed, solved):
    """None when more pooling never hurts across ``solved`` (arrangement -> (status, objective))."""
    data = _instance(seed)
    present = [a for a in ORDER if a in solved]
    for less, more in zip(present, present[1:]):
        if solved[more][0] == "infeasible" and solved[less][0] != "infeasible":
            return f"seed {seed}: {more} infeasible but {less} {solved[less][0]}"
    if all(solved[a][0] == "optimal" for a in present):
        sign = 1.0 if (data.get("objective") or {}).get("mode", "min_cost") == "min_cost" else -1.0
        for less, more in zip(present, present[1:]):
            a, b = sign * solved[less][1], sign * solved[more][1]
            if a < b - REL_TOL * max(1.0, abs(b)):
                return f"seed {seed}: {less} {solved[less][1]!r} better than {more} {solved[more][1]!r}"
    return None


@pytest.mark.parametrize("seed", cases(HOLDING_SEEDS, quick=1))
def test_more_pooling_never_hurts(seed):
    ours = {}
    for a in arrangements(_instance(seed)):
        result = _solved(seed, a)[1]
        if isinstance(result, Exception):
            pytest.skip("ours raised (reported by test_same_status_and_objective)")
        ours[a] = (result.status.value, result.objective)
    problem = _pooling_problem(seed, ours)
    assert problem is None, problem


def test_reference_on_the_tiny_instances():
    """The reference itself against the hand-worked figures of instances/tiny."""
    holders = yaml.safe_load((INSTANCES / "two_holders.yaml").read_text())
    expected = {"pooled": 55_000.0, "siloed": 91_000.0, "partial": 73_000.0}
    for arrangement, cost in expected.items():
        status, objective = reference_solve_mip(with_arrangement(holders, arrangement))
        assert status == "optimal" and objective == pytest.approx(cost, rel=1e-9), arrangement
    places = yaml.safe_load((INSTANCES / "two_places.yaml").read_text())
    assert reference_solve_mip(places) == ("optimal", pytest.approx(380_000.0, rel=1e-9))
    # east 120 per head, west 260: a gap of at most 100 moves west patients to the ward
    gap = copy.deepcopy(places)
    gap["equity"] = [{"name": "fair", "measure": "spend_per_head", "max_gap": 100}]
    status, objective = reference_solve_mip(gap)
    assert status == "optimal" and objective > 380_000.0


@pytest.mark.slow
def test_seeds_cover_the_features():
    """The random family is not degenerate: every arrangement has plans and infeasible
    instances, every feature appears, the holder and rule rows bind somewhere, and pooling has
    a value somewhere."""
    statuses = {(a, _solved(s, a)[2][0]) for s, a in CASES}
    for a in ORDER:
        assert {(a, "optimal"), (a, "infeasible")} <= statuses, a
    data = [_instance(s) for s in SEEDS]
    assert any(d["budget"].get("pooled_funds") for d in data)
    assert len({len(d["budget"].get("holders") or []) for d in data} - {0}) == 2
    for key in ("ring_fences", "capitation", "equity"):
        assert any(d.get(key) for d in data), key
    assert any(r.get("by_place") for d in data for r in d.get("capitation") or [])
    assert any(r["measure"] == "outcome_rate" for d in data for r in d.get("equity") or [])
    binding = set()
    for s, a in CASES:
        result = _solved(s, a)[1]
        if not isinstance(result, Exception) and result.status.value == "optimal":
            c = result.tables["constraints"]
            binding |= set(c.loc[c["binding"].astype(bool), "constraint"])
    for block in ("holder_budget", "pooled_fund", "ring_fence"):
        assert block in binding, block
    assert binding & {"equity_ratio", "equity_gap"}
    gains = [s for s in HOLDING_SEEDS if _solved(s, "pooled")[2][0] == _solved(s, "siloed")[2][0] == "optimal"
             and abs(_solved(s, "pooled")[2][1] - _solved(s, "siloed")[2][1]) > 1e-6 * abs(_solved(s, "pooled")[2][1])]
    assert gains


def main(start: int, stop: int) -> None:
    """Solve seeds start..stop-1 under every arrangement; print agreement counts and problems."""
    from collections import Counter

    counts, problems, worst = Counter(), [], 0.0
    rule_rows = {"holder_budget", "pooled_fund", "ring_fence", "capitation", "equity_ratio", "equity_gap"}
    for seed in range(start, stop):
        solved = {}
        for a in arrangements(_instance(seed)):
            data, result, (status, objective) = _solved(seed, a)
            counts[(a, status)] += 1
            solved[a] = (status, objective)
            problem = _disagreement(seed, a)
            if problem:
                problems.append(problem)
            elif status == "optimal":
                worst = max(worst, abs(result.objective - objective) / max(1.0, abs(objective)))
                if real_violations(data, result):
                    problems.append(f"seed {seed} ({a}): plan fails verification")
                elif not result.verify().ok:
                    counts["optimal plans short of their prevention effect (documented relaxation)"] += 1
                c = result.tables["constraints"]
                for block in sorted(set(c.loc[c["binding"].astype(bool), "constraint"]) & rule_rows):
                    counts[f"plans binding {block}"] += 1
        if len(solved) > 1 and all(v[0] == "optimal" for v in solved.values()):
            values = [v[1] for v in solved.values()]
            if max(values) - min(values) > REL_TOL * max(1.0, abs(min(values))):
                counts["instances where pooling changes the objective"] += 1
        problem = _pooling_problem(seed, solved)
        if problem:
            problems.append(problem)
        _solved.cache_clear()
    print(f"seeds {start}..{stop - 1}: {sum(v for k, v in counts.items() if isinstance(k, tuple))} solves each side")
    for key, value in sorted(counts.items(), key=str):
        print(f"  {key}: {value}")
    print(f"  largest relative objective gap: {worst:.3g}")
    print(f"  problems: {len(problems)}")
    for problem in problems:
        print("   -", problem)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]] or [500]
    main(*(args if len(args) == 2 else [0, args[0]]))
