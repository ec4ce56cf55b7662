"""What the three cross-checks against the independent reference share: solving an instance our
way, comparing with the reference's (status, objective), and telling the verifier's one documented
limit (the concave prevention relaxation) from real violations."""

from __future__ import annotations

import copy

import pytest

import optimiser

from .reference_mip import is_concave

REL_TOL = 1e-6

#: How many cases of each cross-check run in the quick suite (``pytest -m "not slow"``); the rest
#: are marked ``slow`` and run in the full suite.
QUICK = 2


def cases(values, quick: int = QUICK) -> list:
    """``values`` as pytest parameters, all but the first ``quick`` marked ``slow``."""
    return [pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=() if i < quick else pytest.mark.slow)
            for i, v in enumerate(values)]


def solve_ours(data: dict, file: str, **options):
    """Our Result for ``data``, or the SolverError it raised (a disagreement to report, not a crash)."""
    inst = optimiser.load_data(copy.deepcopy(data), file=file)
    try:
        return optimiser.solve(inst, **options)
    except optimiser.SolverError as exc:
        return exc


def disagreement(where: str, result, status: str, objective: float | None) -> str | None:
    """None when our result has the reference's status and (when optimal) objective, else why not."""
    if isinstance(result, Exception):
        return f"{where}: ours raised {result!r}, reference {status}"
    if result.status.value != status:
        return f"{where}: ours {result.status.value}, reference {status}"
    if status == "optimal" and abs(result.objective - objective) > REL_TOL * max(1.0, abs(objective)):
        return f"{where}: ours {result.objective!r}, reference {objective!r}"
    return None


def rewards_more_patients(data) -> bool:
    """max_outcome, an at_least target (as in the docs), or, by the same mechanism, a ring fence
    with at_least or an equity rule (raising a place's measure may take more patients)."""
    mode = (data.get("objective") or {}).get("mode", "min_cost")
    return (mode == "max_outcome" or any(t.get("at_least") is not None for t in data.get("targets") or [])
            or any(r.get("at_least") is not None for r in data.get("ring_fences") or [])
            or bool(data.get("equity")))


def relaxed_sources(data) -> set[tuple[str, str]]:
    """(pathway, source) pairs with an effect modelled by the LP hypograph (concave, auto)."""
    return {(e["pathway"], s) for e in data.get("prevention_effects") or []
            if e.get("response_model", "auto") == "auto" and is_concave(e["response"]) for s in e["sources"]}


def real_violations(data, result) -> list:
    """The verifier's violations less the documented limit: 'prevention effect realised' at a source
    a concave auto curve acts on, in an instance where more patients can improve the objective."""
    relaxed = relaxed_sources(data) if rewards_more_patients(data) else set()
    return [v for v in result.verify().violations
            if not (v.check == "prevention effect realised" and tuple(v.where.split(", ")[:2]) in relaxed)]


def assert_agrees_and_verifies(where: str, data: dict, result, status: str, objective: float | None) -> None:
    """Ours has the reference's status and objective; and, where there is a plan, the verifier
    finds nothing wrong with it beyond the documented relaxation."""
    problem = disagreement(where, result, status, objective)
    assert problem is None, problem
    if status == "optimal":
        real = real_violations(data, result)
        assert not real, f"{where}:\n" + "\n".join(f"  - {v}" for v in real)


def solve_verified(data: dict, file: str = "test.yaml"):
    """An optimal Result for ``data`` whose tables pass the verifier (the tests' common start)."""
    result = optimiser.solve(optimiser.load_data(copy.deepcopy(data), file=file))
    assert result.status.value == "optimal", result.message
    check = result.verify()
    assert check.ok, str(check)
    return result


def assert_tampering_caught(tables: dict, summary: dict, tamper) -> None:
    """Scaling one non-zero figure of ``table.column`` by ``factor`` (for each of ``tamper``) makes
    the verifier fail, naming that column."""
    from optimiser.solving.verify import verify_tables

    for table, col, factor in tamper:
        t = {k: v.copy() for k, v in tables.items()}
        ok_rows = t[table][col].notna() & (t[table][col].abs() > 0)
        i = t[table].index[ok_rows][0]
        t[table].loc[i, col] = t[table].loc[i, col] * factor
        v = verify_tables(t, summary)
        assert not v.ok, (table, col)
        assert any(col in x.detail for x in v.violations), (table, col, str(v))
