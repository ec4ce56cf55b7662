"""Contracts and the money segments and shares are measured in (review of issue 13, P1.1 and P1.3),
against figures worked out by hand (each test's docstring gives the derivation).

The ward used for attribution: 30 pathway admissions a year (10 young: 1,000 people x 0.01; 20 old:
100 x 0.2), 10 other admissions, activity held at exactly 40 (capacity max 40), unit cost £1,000,
other admissions attributed half to each segment; one year, no discounting.
"""

from __future__ import annotations

import copy

import pytest

import optimiser

from .crosscheck import solve_verified
from optimiser.errors import InstanceError

from .reference_mip import reference_solve_mip


def ward_data(contract=None, fences=True) -> dict:
    ward = {"name": "ward", "sector": "acute", "unit": "admission", "unit_cost": 1000, "baseline_activity": 40,
            "non_pathway_activity": 10, "capacity": {"max": 40},
            "attribution": {"shares": {"young": 0.5, "old": 0.5}}}
    if contract is not None:
        ward["contract"] = contract
    data = {"format_version": 1, "name": "ward", "horizon": {"base_year": 2025, "years": 1, "discount_rate": 0.0},
            "budget": {"pooled": 1_000_000}, "sectors": ["acute"], "services": [ward],
            "segments": [{"name": "young", "population": 1000}, {"name": "old", "population": 100}],
            "pathways": [{"name": "falls", "nodes": [
                {"name": "fall", "kind": "source", "incidence": {"young": 0.01, "old": 0.2}},
                {"name": "admission", "kind": "care", "service": "ward"},
                {"name": "home", "kind": "sink"}],
                "edges": [{"from": "fall", "to": "admission", "share": 1},
                          {"from": "admission", "to": "home", "share": 1}]}]}
    if fences:  # fences of at least 0 make the segments constrained scopes (the model's own terms)
        data["ring_fences"] = [{"name": "young care", "segments": ["young"], "at_least": 0},
                               {"name": "old care", "segments": ["old"], "at_least": 0}]
    return data


def solve(data: dict):
    return solve_verified(data)


def spend_of(result) -> dict:
    a = result.tables["attributable_spend"].set_index("scope")
    return {k: (float(a.at[k, "spend"]), float(a.at[k, "attributed_spend"])) for k in a.index}


def test_block_contract_attributes_the_payment_by_the_attribution_rule():
    """Block of £20,000 (below unit cost x activity = £40,000). The payment does not move with who
    uses the ward, so pathway use carries no payment and the whole £20,000 is attributed by the
    shares: £10,000 to each segment (attributed part £10,000 each; never negative). Before the fix
    the old segment was charged 20 x £1,000 of notional pathway cost + 0.5 x (20,000 - 30,000)
    = £15,000 and the attributed part was -£5,000. The segments add up to the payment."""
    r = solve(ward_data({"form": "block", "block_value": 20000}))
    s = spend_of(r)
    for scope in ("segment: young", "segment: old", "ring fence: young care", "ring fence: old care"):
        assert s[scope][0] == pytest.approx(10000.0)
        assert s[scope][1] == pytest.approx(10000.0)
    assert (r.tables["attributable_spend"]["attributed_spend"] >= 0).all()
    lim = r.tables["spend_limits"].set_index("scope")["spend"]
    assert lim.to_dict() == {"ring fence: young care": pytest.approx(10000.0),
                             "ring fence: old care": pytest.approx(10000.0)}


def test_activity_contract_below_unit_cost_attributes_by_price():
    """Activity contract at £600 (unit cost £1,000): payment 600 x 40 = £24,000. Pathway use counts
    at the price: young 10 x 600 = £6,000, old 20 x 600 = £12,000; the rest, 24,000 - 600 x 30 =
    £6,000 (the 10 other admissions), half to each: £3,000. Young £9,000, old £15,000; sum £24,000.
    Before the fix: old 20,000 + 0.5 x (24,000 - 30,000) = £17,000, attributed part -£3,000."""
    r = solve(ward_data({"form": "activity", "price": 600}))
    s = spend_of(r)
    assert s["segment: young"] == (pytest.approx(9000.0), pytest.approx(3000.0))
    assert s["segment: old"] == (pytest.approx(15000.0), pytest.approx(3000.0))
    assert s["ring fence: old care"][0] == pytest.approx(15000.0)
    assert s["ring fence: young care"][0] == pytest.approx(9000.0)


def test_ring_fence_on_a_block_binds_on_cash():
    """A floor of £10,001 on the old's care with the £20,000 block: the block's whole payment is
    attributed half and half whatever the activity, so no plan reaches it: infeasible (before the fix
    £15,000 of notional money met it). A floor of £10,000 is met exactly."""
    data = ward_data({"form": "block", "block_value": 20000})
    data["ring_fences"][1]["at_least"] = 10001
    r = optimiser.solve(optimiser.load_data(copy.deepcopy(data), file="x"))
    assert r.status.value == "infeasible"
    data["ring_fences"][1]["at_least"] = 10000
    assert solve(data).tables["spend_limits"].set_index("scope").at["ring fence: old care", "binding"]


def test_reference_agrees_on_attribution_under_contracts():
    """The independent reference gives the same objective (the payment) with ring fences at the
    hand-derived attributable spends: block £20,000 (floors 10,000 each), activity £24,000."""
    block = ward_data({"form": "block", "block_value": 20000})
    for f in block["ring_fences"]:
        f["at_least"] = 10000
    assert reference_solve_mip(block) == ("optimal", pytest.approx(20000.0))
    act = ward_data({"form": "activity", "price": 600})
    act["ring_fences"][0]["at_least"], act["ring_fences"][1]["at_least"] = 9000, 15000
    assert reference_solve_mip(act) == ("optimal", pytest.approx(24000.0))
    act["ring_fences"][1]["at_least"] = 15001
    assert reference_solve_mip(act)[0] == "infeasible"


# ------------------------------------------------------------------- base-year spend (P1.3)
def share_data(contract, increase_pp=10.0) -> dict:
    """Ward (acute): 100 admissions at £1,000 a year at baseline, activity held at 100; health
    checks (prevention): 4,000 at £10 at baseline, free to move; one year."""
    return {"format_version": 1, "name": "share", "horizon": {"base_year": 2025, "years": 1, "discount_rate": 0.0},
            "budget": {"pooled": 1_000_000}, "sectors": ["prevention", "acute"],
            "services": [{"name": "checks", "sector": "prevention", "unit": "check", "unit_cost": 10,
                          "baseline_activity": 4000},
                         {"name": "ward", "sector": "acute", "unit": "admission", "unit_cost": 1000,
                          "baseline_activity": 100, "capacity": {"min": 100, "max": 100}, "contract": contract}],
            "segments": [{"name": "all", "population": 1000}],
            "shift_policies": [{"name": "upstream", "kind": "share", "sectors": ["prevention"],
                                "increase_pp": increase_pp, "trajectory": "final_year"}]}


def test_share_rule_measured_from_the_block_payment():
    """Block of £60,000 for a ward whose unit cost x baseline is £100,000. Base-year spend is the
    payment: acute £60,000, prevention 4,000 x 10 = £40,000; base share of prevention 40% (not
    40 / 140 = 28.6%). +10 points: 50% in 2026, so checks spend P with P / (P + 60,000) >= 0.5:
    P = £60,000 (6,000 checks), the least-cost plan. Measured from unit cost x activity the rule
    would ask only 38.6%, which the baseline 40,000 / 100,000 = 40% already meets (P = 37,674)."""
    r = solve(share_data({"form": "block", "block_value": 60000}))
    alloc = r.tables["allocation"].set_index("service")
    assert alloc.at["checks", "activity"] == pytest.approx(6000.0)
    assert alloc.at["checks", "spend"] == pytest.approx(60000.0)
    sh = r.tables["sector_shares"].set_index(["sector", "year"])["share"]
    assert sh[("prevention", 2025)] == pytest.approx(0.4)
    assert sh[("prevention", 2026)] == pytest.approx(0.5)
    assert r.tables["services"].set_index("service").at["ward", "base_spend"] == pytest.approx(60000.0)


def test_capitation_and_price_base_spend():
    """Capitation £50 a head x 1,000 people = £50,000 base-year spend; activity contract at £700:
    100 x 700 = £70,000. Prevention base share 40,000 / 90,000 = 44.4% and 40,000 / 110,000 = 36.4%."""
    inst = optimiser.load_data(share_data({"form": "capitation", "per_head": 50}), file="x")
    assert inst.base_sector_spend()["acute"] == pytest.approx(50000.0)
    assert inst.base_share(["prevention"]) == pytest.approx(40 / 90)
    inst = optimiser.load_data(share_data({"form": "activity", "price": 700}), file="x")
    assert inst.base_share(["prevention"]) == pytest.approx(40 / 110)


def test_transfer_policy_measured_from_the_baseline_payment():
    """Activity contract at £500: acute base-year spend 100 x 500 = £50,000 (not £100,000). Moving
    £1 out of acute asks acute spend <= £49,999 while the ward's 100 admissions cost 100 x 500 =
    £50,000: infeasible (measured from £100,000 it would be met with £50,000 to spare)."""
    data = share_data({"form": "activity", "price": 500})
    data["shift_policies"] = [{"name": "out", "kind": "transfer", "from_sector": "acute",
                               "to_sector": "prevention", "amount": 1, "trajectory": "final_year"}]
    r = optimiser.solve(optimiser.load_data(copy.deepcopy(data), file="x"))
    assert r.status.value == "infeasible"
    assert reference_solve_mip(data)[0] == "infeasible"
    data["shift_policies"][0]["amount"] = 0
    solve(data)


def test_validation_share_check_uses_the_baseline_payment():
    """Block of £60,000: base share of prevention 40%; +65 points = 105%: rejected, and the message
    states the 40% base (from unit cost x activity it would be 28.6% + 65 = 93.6%, accepted)."""
    with pytest.raises(InstanceError) as exc:
        optimiser.load_data(share_data({"form": "block", "block_value": 60000}, increase_pp=65), file="x")
    assert any("base share 40.00%" in str(p) for p in exc.value.problems)
