"""Named scenarios inside an instance file: applied in priority order (file < scenarios < --set),
combined, checked, and recorded on the instance and in the written result."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from click.testing import CliRunner

import optimiser
from optimiser.input import scenarios as scenario_mod
from optimiser.input.variants import with_scenarios
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, main

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"
KENT = ROOT / "instances" / "kent.yaml"


def tiny_with(scenarios) -> dict:
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["scenarios"] = copy.deepcopy(scenarios)
    return data


SCENARIOS = {
    "cheap_ward": {"description": "the ward costs 900", "overrides": {"services[ward].unit_cost": 900}},
    "low_target": {"overrides": {"targets[0].at_most": 140}},
    "ward_800": {"overrides": {"services.ward.unit_cost": 800}},            # same field, other spelling
    "budget_2027": {"overrides": {"budget.pooled": {2026: 1e6, 2027: 2e6}}},
}


def write(tmp_path, data, name="inst.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_a_scenario_applies_its_overrides_and_is_recorded(tmp_path):
    path = write(tmp_path, tiny_with(SCENARIOS))
    plain = optimiser.load(path)
    assert plain.services.loc["ward", "base_unit_cost"] == 1000
    assert scenario_mod.applied(plain) == [] and dict(plain.overrides) == {}
    assert "scenarios" not in plain.raw  # the section never reaches the schema or the raw mapping
    assert set(scenario_mod.definitions(plain)) == set(SCENARIOS)

    inst = optimiser.load(path, scenarios=["cheap_ward", "low_target"])
    assert inst.services.loc["ward", "base_unit_cost"] == 900
    assert inst.targets["at_most"].tolist() == [140, 140]
    assert scenario_mod.applied(inst) == ["cheap_ward", "low_target"]
    assert dict(inst.overrides) == {"services[ward].unit_cost": 900, "targets[0].at_most": 140}

    result = optimiser.solve(inst)
    assert result.summary["overrides"] == {"services[ward].unit_cost": 900, "targets[0].at_most": 140}
    # same as writing the overrides with --set
    same = optimiser.solve(optimiser.load(path, overrides={"services[ward].unit_cost": 900,
                                                           "targets[0].at_most": 140}))
    assert result.objective == pytest.approx(same.objective)
    out = result.write(tmp_path / "out")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenarios"] == ["cheap_ward", "low_target"]
    assert summary["overrides"] == {"services[ward].unit_cost": 900, "targets[0].at_most": 140}


def test_priority_file_then_scenarios_then_set(tmp_path):
    path = write(tmp_path, tiny_with(SCENARIOS))
    assert optimiser.load(path).services.loc["ward", "base_unit_cost"] == 1000            # the file
    assert optimiser.load(path, scenarios=["ward_800"]).services.loc["ward", "base_unit_cost"] == 800
    inst = optimiser.load(path, scenarios=["ward_800"], overrides=["services[ward].unit_cost=700"])
    assert inst.services.loc["ward", "base_unit_cost"] == 700                                 # --set wins
    assert inst.extra["scenario_overrides"] == {"services.ward.unit_cost": 800}
    assert inst.extra["set_overrides"] == {"services[ward].unit_cost": 700}
    # a scenario applied to a loaded instance keeps that instance's --set values on top
    base = optimiser.load(path, overrides={"services[ward].unit_cost": 700})
    variant = with_scenarios(base, ["ward_800", "low_target"])
    assert variant.services.loc["ward", "base_unit_cost"] == 700
    assert variant.targets["at_most"].tolist() == [140, 140]
    assert scenario_mod.applied(variant) == ["ward_800", "low_target"]


def test_two_scenarios_setting_one_field_is_an_error_naming_both(tmp_path):
    path = write(tmp_path, tiny_with(SCENARIOS))
    with pytest.raises(optimiser.InstanceError) as err:
        optimiser.load(path, scenarios=["cheap_ward", "ward_800"])
    (p,) = err.value.problems
    assert p.file == str(path) and p.path == "scenarios.ward_800.overrides[services.ward.unit_cost]"
    assert "'cheap_ward'" in p.found and "'ward_800'" in p.found
    # a field and a part of it clash too
    data = tiny_with({"a": {"overrides": {"budget.pooled": 2e6}},
                      "b": {"overrides": {"budget.pooled.2026": 3e6}}})
    with pytest.raises(optimiser.InstanceError, match="scenario 'b' sets budget.pooled.2026 and scenario 'a' "
                                                      "sets budget.pooled"):
        optimiser.load_data(data, file="x.yaml", scenarios=["a", "b"])


def test_unknown_scenario_lists_the_known_ones(tmp_path):
    path = write(tmp_path, tiny_with(SCENARIOS))
    with pytest.raises(optimiser.InstanceError) as err:
        optimiser.load(path, scenarios=["cheap_wrd"])
    (p,) = err.value.problems
    assert p.path == "--scenario" and p.found == "'cheap_wrd'"
    assert "budget_2027, cheap_ward, low_target, ward_800" in p.expected
    with pytest.raises(optimiser.InstanceError, match="this file defines none"):
        optimiser.load(TINY, scenarios=["anything"])


def test_malformed_scenarios_are_all_reported_with_their_paths(tmp_path):
    data = tiny_with({
        "typo": {"overides": {"budget.pooled": 1}},
        "not_a_mapping": [1, 2],
        "bad_overrides": {"overrides": [1]},
        "bad_description": {"description": 3, "overrides": {}},
        "bad_path": {"overrides": {"services[nope].unit_cost": 1}},
        "bad_value": {"overrides": {"services[ward].unit_cost": "abc"}},
    })
    with pytest.raises(optimiser.InstanceError) as err:
        optimiser.load_data(data, file="f.yaml", scenarios=["bad_path", "bad_value"])
    paths = {p.path for p in err.value.problems}
    assert "scenarios.typo.overides" in paths and "scenarios.typo.overrides" in paths
    assert "scenarios.not_a_mapping" in paths
    assert "scenarios.bad_overrides.overrides" in paths
    assert "scenarios.bad_description.description" in paths
    # the two selected scenarios: a path that leads nowhere, and a value the schema rejects
    assert any(p.file == "f.yaml: scenarios.bad_path" and p.path == "services[nope].unit_cost"
               for p in err.value.problems)
    assert any(p.path.startswith("services[1] (ward).unit_cost") for p in err.value.problems)
    assert all(p.file.startswith("f.yaml") and p.expected and p.found for p in err.value.problems)
    with pytest.raises(optimiser.InstanceError, match="scenarios.a\\+b: expected a scenario name"):
        optimiser.load_data(tiny_with({"a+b": {"overrides": {}}}), file="f.yaml")
    with pytest.raises(optimiser.InstanceError, match="scenarios: expected a mapping of scenario name"):
        optimiser.load_data(tiny_with([1]), file="f.yaml")


def test_cli_solve_and_validate_take_scenarios(tmp_path):
    path = write(tmp_path, tiny_with(SCENARIOS))
    runner = CliRunner()
    r = runner.invoke(main, ["validate", str(path), "--scenario", "cheap_ward", "--scenario", "low_target"])
    assert r.exit_code == EXIT_OK, r.output
    r = runner.invoke(main, ["solve", str(path), "--scenario", "cheap_ward", "--json"])
    assert r.exit_code == EXIT_OK, r.output
    doc = json.loads(r.stdout)
    assert doc["overrides"] == {"services[ward].unit_cost": 900}
    assert doc["objective"] < 184000  # a cheaper ward than the file's
    r = runner.invoke(main, ["solve", str(path), "--scenario", "cheap_ward", "--scenario", "ward_800"])
    assert r.exit_code == EXIT_INVALID and "Traceback" not in r.output
    assert "scenarios.ward_800.overrides[services.ward.unit_cost]" in r.output
    r = runner.invoke(main, ["validate", str(path), "--scenario", "nope"])
    assert r.exit_code == EXIT_INVALID and "one of the scenarios defined in the file" in r.output


def test_kent_scenarios_load():
    names = sorted(scenario_mod.definitions(optimiser.load(KENT)))
    assert names == ["acute_funds_prevention", "agreed_5pp", "budget_plus_5m", "no_shift",
                     "over_85s_single_budget", "partially_pooled", "prevention_40_55_3pc", "siloed"]
    inst = optimiser.load(KENT, scenarios=["budget_plus_5m"])
    base = optimiser.load(KENT)
    assert (inst.budget - base.budget).iloc[0] == pytest.approx(5e6 * 1.015)  # +£5m in 2025, grown a year (1.5%)
