"""The verifier's own recomputations (optimiser/solving/verify_independent.py) against hand-worked figures,
and against tables deliberately spoiled; and two --set fixes (an optional section created on the
way; no consequential holder error after a rejected service field)."""

from __future__ import annotations


import pandas as pd
import pytest

import optimiser
from optimiser.errors import InstanceError
from optimiser.solving.verify import verify_tables
from optimiser.solving.verify_independent import case_costs, effect_profile

from .conftest import ROOT


@pytest.mark.parametrize("d, weight", [(0, 0.0), (1, 0.0), (2, 0.5), (3, 1.0), (4, 0.8), (5, 0.64), (6, 0.512)])
def test_profile_of_a_ramped_fading_effect(d, weight):
    """Lag 2, ramp [0.5, 1], persistence 0.8: nothing for 2 years; 0.5, 1; then 1 x 0.8^k."""
    assert effect_profile(2, [0.5, 1.0], 0.8, None, d) == pytest.approx(weight)


def test_profile_duration_and_pulse():
    """Duration 3 after a lag of 2 ends the effect at d = 5; duration alone keeps it whole
    (persistence 1); neither gives the one-year pulse at the lag."""
    assert [effect_profile(2, [0.5, 1.0], 0.8, 3, d) for d in range(7)] == \
        pytest.approx([0, 0, 0.5, 1.0, 0.8, 0, 0])
    assert [effect_profile(1, None, None, 2, d) for d in range(5)] == [0, 1.0, 1.0, 0, 0]
    assert [effect_profile(1, None, None, None, d) for d in range(4)] == [0, 1.0, 0, 0]


def test_case_cost_with_a_range_and_a_readmission_loop():
    """cvd (tiny/lasting_effects): admission £3,500 then rehabilitation [0.2, 0.5] or home
    [0.5, 0.8]; the room 1 - 0.7 = 0.3 is spread over the ranges' widths 0.3 + 0.3: rehab 0.35.
    A case costs 3,500 + 0.35 x 1,500 = £4,025. A ward readmitting half its patients (0.5 back to
    itself) is visited 1 / (1 - 0.5) = 2 times a case: 2 x £100 = £200."""
    nodes = pd.DataFrame({"pathway": ["cvd"] * 4 + ["loop"] * 3,
                          "node": ["event", "admission", "rehab", "home", "in", "ward", "out"],
                          "kind": ["source", "care", "care", "sink", "source", "care", "sink"],
                          "service": [None, "ward", "rehab", None, None, "w", None],
                          "units_per_patient": [0, 1, 1, 0, 0, 1, 0]})
    edges = pd.DataFrame({"pathway": ["cvd"] * 4 + ["loop"] * 3,
                          "from": ["event", "admission", "admission", "rehab", "in", "ward", "ward"],
                          "to": ["admission", "rehab", "home", "home", "ward", "ward", "out"],
                          "share_min": [1, 0.2, 0.5, 1, 1, 0.5, 0.5], "share_max": [1, 0.5, 0.8, 1, 1, 0.5, 0.5]})
    v = case_costs(nodes, edges, {"ward": 3500, "rehab": 1500, "w": 100})
    assert v[("cvd", "event")] == pytest.approx(4025.0)
    assert v[("loop", "in")] == pytest.approx(200.0)


def solved(name: str):
    r = optimiser.solve(optimiser.load(ROOT / "instances" / "tiny" / f"{name}.yaml"))
    assert r.status.value == "optimal"
    return {k: v.copy() for k, v in r.tables.items()}, r.summary


def test_verifier_rebuilds_profiles_and_catches_a_wrong_weight():
    t, summary = solved("lasting_effects")
    assert verify_tables(t, summary).ok
    prof = t["prevention_profiles"]
    prof.loc[prof["years_after"] == 4, "weight"] = 0.9     # 0.8 x ... stated: 0.8
    check = verify_tables(t, summary)
    assert any(v.check == "lasting-effect profile" for v in check.violations)
    t2, _ = solved("lasting_effects")
    del t2["prevention_effect_terms"]
    assert not verify_tables(t2, summary).ok


def test_verifier_rebuilds_capitation_from_population():
    """gp_care (tiny/cash_release): £240 a head x 1,000 over-75s = £240,000; a capitated amount
    of £250,000 in the table is caught."""
    t, summary = solved("cash_release")
    cap = t["cash_release"]["contract"] == "capitation"
    assert t["cash_release"].loc[cap, "capitation_value"].tolist() == pytest.approx([240000.0] * 3)
    t["capitation_cover"]["per_head"] = 250.0
    check = verify_tables(t, summary)
    assert any(v.check == "capitated amount" for v in check.violations)


def test_set_creates_a_missing_optional_section():
    """two_services.yaml has no objective section: --set objective.mode=max_outcome creates it, and
    the schema then asks for what that mode needs (weights), not for a field 'objective'."""
    with pytest.raises(InstanceError) as exc:
        optimiser.load(ROOT / "instances" / "tiny" / "two_services.yaml", overrides=["objective.mode=max_outcome"])
    text = " ".join(str(p) for p in exc.value.problems)
    assert "objective.weights" in text and "no field" not in text


def test_rejected_service_field_does_not_also_empty_its_holder():
    """A bad unit cost for the only prevention service: one problem, not also 'council: expected a
    holder of at least one service'."""
    with pytest.raises(InstanceError) as exc:
        optimiser.load(ROOT / "instances" / "tiny" / "two_holders.yaml", overrides=["services[0].unit_cost=abc"])
    assert len(exc.value.problems) == 1
    assert "unit_cost" in str(exc.value.problems[0])


def test_verifier_checks_base_year_steps_carry_the_baseline():
    """The ward (tiny/cash_release): 3,000 bed days at 1,000 a ward needs 3 wards in the base year;
    2 in the table is caught."""
    t, summary = solved("cash_release")
    assert verify_tables(t, summary).ok
    t["cash_release"].loc[t["cash_release"]["service"] == "ward", "baseline_steps"] = 2.0
    check = verify_tables(t, summary)
    assert any(v.check == "base-year steps" for v in check.violations)
