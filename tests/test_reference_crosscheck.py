"""Cross-check the formulation against an independent reference LP on random instances.

tests/reference_mip.py builds the same model a second time, by hand, from the raw instance
mapping and solves it with scipy's milp (HiGHS). tests/random_instances.py draws small
random instances exercising every feature of the format. Both must agree on the status and,
when optimal, on the objective; every optimal plan must also pass ``Result.verify()``.
"""

from __future__ import annotations

import copy
import functools

import pytest

import optimiser

from .random_instances import random_instance
from .reference_mip import reference_solve

SEEDS = range(40)
REL_TOL = 1e-6


@functools.lru_cache(maxsize=None)
def _solved(seed: int):
    data = random_instance(seed)
    inst = optimiser.load_data(copy.deepcopy(data), file=f"random-{seed}")
    return data, optimiser.solve(inst), reference_solve(copy.deepcopy(data))


@pytest.mark.parametrize("seed", SEEDS)
def test_same_status_and_objective(seed):
    _, result, (status, objective) = _solved(seed)
    assert result.status.value == status, f"seed {seed}: ours {result.status.value}, reference {status}"
    if status == "optimal":
        scale = max(1.0, abs(objective))
        assert abs(result.objective - objective) <= REL_TOL * scale, (
            f"seed {seed}: ours {result.objective!r}, reference {objective!r}"
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_optimal_plan_verifies(seed):
    _, result, (status, _) = _solved(seed)
    if status != "optimal":
        pytest.skip("no plan to verify")
    check = result.verify()
    if not check.ok and _rewards_more_patients(_solved(seed)[0]):
        # the one known limit of the LP: the concave prevention hypograph is not exact when more
        # patients improve the objective (docs/formulation.md); the verifier must say exactly that
        assert {v.check for v in check.violations} == {"prevention effect realised"}, str(check)
        return
    assert check.ok, f"seed {seed}:\n{check}"


def _rewards_more_patients(data) -> bool:
    mode = (data.get("objective") or {}).get("mode", "min_cost")
    return mode == "max_outcome" or any(t.get("at_least") is not None for t in data.get("targets", []))


def test_seeds_cover_both_outcomes_and_modes():
    """The random family is not degenerate: it yields feasible and infeasible instances, both modes."""
    statuses = {_solved(s)[2][0] for s in SEEDS}
    modes = {(_solved(s)[0].get("objective") or {}).get("mode", "min_cost") for s in SEEDS}
    assert statuses == {"optimal", "infeasible"}
    assert modes == {"min_cost", "max_outcome"}
