"""The instance is read-only: no field can be set, its mappings and tables cannot be changed, and
variants are new objects (with_overrides for changed inputs, with_record for how it was made).
Also the tables from_model builds, checked against figures worked out by hand from the tiny file
(instances/tiny/two_services.yaml: budget 1,000,000 a year, clinic at 100 a unit, ward at 1,000,
100 units each in the base year, 10,000 adults, incidence 0.02, no discounting)."""

from __future__ import annotations

import dataclasses

import pytest

import optimiser

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


@pytest.fixture(scope="module")
def inst():
    return optimiser.load(TINY)


def test_fields_cannot_be_set(inst):
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.extra = {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        inst.overrides = {}


@pytest.mark.parametrize("make", [lambda i: i, lambda i: i.with_overrides(["services[ward].unit_cost=900"]),
                                  lambda i: i.with_record(extra={"note": 1}, overrides={"a": 1})],
                         ids=["loaded", "with_overrides", "with_record"])
def test_mappings_and_tables_are_read_only(inst, make):
    variant = make(inst)
    for mapping in (variant.extra, variant.overrides, variant.raw, variant.graphs, variant.curves):
        with pytest.raises(TypeError):
            mapping["x"] = 1
    with pytest.raises(ValueError):
        variant.service_years["unit_cost"].to_numpy()[0] = 0.0


def test_with_record_makes_a_new_instance_and_leaves_the_old_one(inst):
    before_extra, before_overrides = dict(inst.extra), dict(inst.overrides)
    noted = inst.with_record(extra={"scenarios": ("a",)})
    assert noted is not inst
    assert dict(noted.extra) == {"scenarios": ("a",)}
    assert dict(noted.overrides) == before_overrides          # not given: kept
    assert dict(inst.extra) == before_extra and dict(inst.overrides) == before_overrides
    assert noted.service_years is inst.service_years          # tables shared, not copied


def test_with_overrides_merges_the_record_and_rebuilds(inst):
    cheaper = inst.with_overrides(["services[ward].unit_cost=900"])
    again = cheaper.with_overrides(["budget.pooled=2000000"])
    assert dict(again.overrides) == {"services[ward].unit_cost": 900, "budget.pooled": 2000000}
    assert again.services.at["ward", "base_unit_cost"] == 900.0
    assert inst.services.at["ward", "base_unit_cost"] == 1000.0   # the original is unchanged
    assert list(again.budget) == [2e6, 2e6]


def test_no_module_sets_fields_on_a_built_instance():
    """Python cannot stop object.__setattr__ on a frozen dataclass: the rule is kept by never
    writing it (variants and records are new instances: Instance.with_overrides / with_record)."""
    for path in sorted((ROOT / "optimiser").rglob("*.py")) + sorted((ROOT / "formulations").rglob("*.py")):
        assert "object.__setattr__" not in path.read_text(encoding="utf-8"), path


def test_from_model_tables_by_hand(inst):
    assert inst.years == (2026, 2027)
    assert list(inst.discount) == [1.0, 1.0]                       # discount rate 0
    assert list(inst.budget) == [1e6, 1e6]
    svc = inst.services
    assert svc.at["clinic", "base_spend"] == 100 * 100
    assert svc.at["ward", "base_spend"] == 100 * 1000
    sy = inst.service_years.set_index(["service", "year"])
    # no capacity: the bound is what the whole budget buys, 1e6 / unit cost
    assert sy.at[("clinic", 2026), "activity_bound"] == 1e6 / 100
    assert sy.at[("ward", 2027), "activity_bound"] == 1e6 / 1000
    # an activity contract by default: price = unit cost, block value = unit cost x baseline
    assert sy.at[("ward", 2026), "price"] == 1000.0
    assert sy.at[("ward", 2026), "block_value"] == 1000.0 * 100
    assert (sy["capitation_value"] == 0.0).all()
    assert inst.population[("adults", 2025)] == 10000.0
    assert list(inst.incidence["incidence"]) == [0.02]
    edges = inst.edges.set_index(["from", "to"])
    assert tuple(edges.loc[("need", "clinic_visit"), ["share_min", "share_max"]]) == (0.2, 0.6)
    assert sorted(inst.graphs["crisis"].nodes) == ["admission", "clinic_visit", "home", "need"]
    t = inst.targets.set_index("year")
    assert list(t.index) == [2026, 2027] and (t["at_most"] == 150).all()
    assert (t["at_least"] == float("-inf")).all()
