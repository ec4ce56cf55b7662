"""Bad input: every problem names the file, the field path, what was expected and what was found,
and all problems are reported at once."""

from __future__ import annotations

import copy

import pytest
import yaml

import optimiser
from optimiser import InstanceError

from .conftest import base_instance


def pathway_instance():
    return base_instance(
        sectors=["community", "acute"],
        services=[
            {"name": "clinic", "sector": "community", "unit_cost": 100, "baseline_activity": 100},
            {"name": "ward", "sector": "acute", "unit_cost": 1000, "baseline_activity": 100},
        ],
        pathways=[{
            "name": "crisis",
            "nodes": [
                {"name": "need", "kind": "source", "incidence": 0.02},
                {"name": "clinic_visit", "kind": "care", "service": "clinic"},
                {"name": "admission", "kind": "care", "service": "ward"},
                {"name": "home", "kind": "sink"},
            ],
            "edges": [
                {"from": "need", "to": "clinic_visit", "share": [0.2, 0.6]},
                {"from": "need", "to": "admission", "share": [0.4, 0.8]},
                {"from": "clinic_visit", "to": "home", "share": 1},
                {"from": "admission", "to": "home", "share": 1},
            ],
        }],
        outcomes=[{"name": "admissions", "terms": [{"pathway": "crisis", "node": "admission"}]}],
        targets=[{"outcome": "admissions", "year": 2026, "at_most": 150}],
    )


def problems_of(data) -> list:
    with pytest.raises(InstanceError) as exc:
        optimiser.load_data(copy.deepcopy(data), file="plan.yaml")
    return exc.value.problems


def only(problems, path_part):
    hits = [p for p in problems if path_part in p.path]
    assert hits, f"no problem at {path_part!r}; got: {[str(p) for p in problems]}"
    for p in hits:
        assert p.file == "plan.yaml"
    return hits[0]


def test_valid_instance_loads():
    inst = optimiser.load_data(pathway_instance(), file="plan.yaml")
    assert inst.years == (2026,)
    assert set(inst.graphs["crisis"].nodes) == {"need", "clinic_visit", "admission", "home"}


def test_misspelt_key_fails():
    d = pathway_instance()
    d["horizon"]["discout_rate"] = 0.03
    p = only(problems_of(d), "horizon.discout_rate")
    assert "spelling" in p.expected


def test_missing_field():
    d = pathway_instance()
    del d["services"][1]["unit_cost"]
    p = only(problems_of(d), "services[1] (ward).unit_cost")
    assert "required" in p.expected and "missing" in p.found


def test_wrong_type():
    d = pathway_instance()
    d["services"][0]["baseline_activity"] = "lots"
    p = only(problems_of(d), "services[0] (clinic).baseline_activity")
    assert "number" in p.expected and "'lots'" in p.found


def test_negative_cost_and_population():
    d = pathway_instance()
    d["services"][0]["unit_cost"] = -5
    d["segments"][0]["population"] = -1
    probs = problems_of(d)
    p = only(probs, "services[0] (clinic).unit_cost")
    assert ">= 0" in p.expected and "-5" in p.found
    only(probs, "segments[0] (all).population")


def test_shares_that_cannot_sum_to_one():
    d = pathway_instance()
    d["pathways"][0]["edges"][0]["share"] = [0.7, 0.9]
    p = only(problems_of(d), "edges (out of need)")
    assert "sum to 1" in p.expected and "1.1" in p.found


def test_fixed_shares_that_do_not_sum_to_one():
    d = pathway_instance()
    d["pathways"][0]["edges"][2]["share"] = 0.5
    only(problems_of(d), "edges (out of clinic_visit)")


def test_unreachable_node():
    d = pathway_instance()
    d["pathways"][0]["nodes"].append({"name": "orphan", "kind": "care", "service": "clinic"})
    d["pathways"][0]["edges"].append({"from": "orphan", "to": "home", "share": 1})
    p = only(problems_of(d), "nodes (orphan)")
    assert "reachable" in p.expected


def test_care_node_with_no_way_to_a_sink():
    d = pathway_instance()
    d["pathways"][0]["nodes"].append({"name": "limbo", "kind": "care", "service": "clinic"})
    d["pathways"][0]["edges"][2] = {"from": "clinic_visit", "to": "limbo", "share": 1}
    probs = problems_of(d)
    p = only(probs, "nodes (limbo)")
    assert "sink" in p.expected


def test_edge_to_unknown_node():
    d = pathway_instance()
    d["pathways"][0]["edges"][3]["to"] = "hoem"
    p = only(problems_of(d), "edges[3] (admission -> hoem).to")
    assert "'hoem'" in p.found


def test_unknown_service_sector_segment():
    d = pathway_instance()
    d["services"][0]["sector"] = "prevention_typo"
    d["pathways"][0]["nodes"][2]["service"] = "wards"
    d["pathways"][0]["segments"] = ["everyone"]
    probs = problems_of(d)
    assert "'prevention_typo'" in only(probs, "services[0] (clinic).sector").found
    assert "'wards'" in only(probs, "nodes[2] (admission).service").found
    assert "'everyone'" in only(probs, "pathways[0] (crisis).segments").found


def test_unknown_outcome_in_target_and_year_outside_horizon():
    d = pathway_instance()
    d["targets"] = [{"outcome": "admisions", "year": 2031, "at_most": 1}]
    probs = problems_of(d)
    assert "'admisions'" in only(probs, "targets[0] (admisions).outcome").found
    p = only(probs, "targets[0] (admisions).year")
    assert "2026" in p.expected and "2031" in p.found


def test_year_mapping_outside_horizon_and_incomplete():
    d = pathway_instance()
    d["budget"]["pooled"] = {2024: 1e6}
    p = [x for x in problems_of(d) if x.path == "budget.pooled"]
    assert any("2024" in x.found for x in p) and any("2026" in x.found for x in p)


def test_unknown_service_in_prevention_effect_and_non_concave_curve():
    d = pathway_instance()
    d["prevention_effects"] = [{"name": "e", "service": "gym", "pathway": "crisis", "sources": ["clinic_visit"],
                                "response": [[0, 0], [10, 0.01], [20, 0.1]]}]
    probs = problems_of(d)
    assert "'gym'" in only(probs, "prevention_effects[0] (e).service").found
    assert "care node" in only(probs, "prevention_effects[0] (e).sources").found
    # an S-shaped curve is allowed (modelled exactly with binaries); a falling one is not
    assert not [p for p in probs if p.path.endswith(".response")]
    d["prevention_effects"][0].update(service="clinic", sources=["need"], response=[[0, 0], [10, 0.2], [20, 0.1]])
    assert "never fall" in only(problems_of(d), "prevention_effects[0] (e).response").expected


def test_every_problem_at_once():
    """A structural error (negative cost) does not hide the cross-reference errors elsewhere."""
    d = pathway_instance()
    d["services"][0]["unit_cost"] = -1
    d["horizon"]["typo"] = 1
    d["pathways"][0]["edges"][3]["to"] = "nowhere"
    d["targets"][0]["outcome"] = "nothing"
    d["shift_policies"] = [{"kind": "share", "name": "s", "sectors": ["unknown_sector"], "increase_pp": 5}]
    probs = problems_of(d)
    paths = " | ".join(p.path for p in probs)
    for part in ("services[0] (clinic).unit_cost", "horizon.typo", "edges[3] (admission -> nowhere).to",
                 "targets[0] (nothing).outcome", "shift_policies[0] (s).sectors"):
        assert part in paths, paths
    # the broken service is not also reported as unknown where it is used
    assert not any("'clinic'" in p.found for p in probs)


def test_message_format():
    d = pathway_instance()
    d["services"][0]["unit_cost"] = -1
    text = str(problems_of(d)[0])
    assert text.startswith("plan.yaml: services[0] (clinic).unit_cost: expected")
    assert "found -1" in text


def test_yaml_syntax_error_and_missing_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon: [1, 2\n")
    with pytest.raises(InstanceError) as exc:
        optimiser.load(bad)
    assert "bad.yaml" in str(exc.value) and "line" in exc.value.problems[0].path
    with pytest.raises(InstanceError) as exc:
        optimiser.load(tmp_path / "absent.yaml")
    assert "no such file" in str(exc.value)


def test_csv_tables_relative_to_the_yaml(tmp_path):
    d = pathway_instance()
    (tmp_path / "services.csv").write_text(
        "name,sector,unit_cost,baseline_activity,max_shrink\n"
        "clinic,community,100,100,\nward,acute,1000,100,0.05\n")
    (tmp_path / "population.csv").write_text("year,value\n2025,10000\n2026,10000\n")
    d["services"] = {"from_csv": "services.csv"}
    d["segments"][0]["population"] = {"from_csv": "population.csv"}
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(d))
    inst = optimiser.load(path)
    assert inst.services.loc["ward", "max_shrink"] == 0.05
    assert inst.population[("all", 2026)] == 10000
    d["services"] = {"from_csv": "missing.csv"}
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(InstanceError) as exc:
        optimiser.load(path)
    assert "services.from_csv" in str(exc.value)


def test_overrides_change_one_field_and_unknown_paths_fail(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(pathway_instance()))
    inst = optimiser.load(path, overrides=["services[ward].unit_cost=2000", "targets[0].at_most=120"])
    assert inst.service_years.set_index("service").loc["ward", "unit_cost"] == 2000
    assert inst.targets["at_most"].iloc[0] == 120
    assert dict(inst.overrides) == {"services[ward].unit_cost": 2000, "targets[0].at_most": 120}
    with pytest.raises(InstanceError) as exc:
        optimiser.load(path, overrides=["servces[ward].unit_cost=1"])
    assert "servces" in str(exc.value)
    with pytest.raises(InstanceError) as exc:
        optimiser.load(path, overrides=["horizon.discount_rat=0.1"])
    assert "horizon.discount_rat" in str(exc.value)


def test_instance_is_read_only_and_variants_are_new():
    inst = optimiser.load_data(pathway_instance(), file="plan.yaml")
    with pytest.raises(Exception):
        inst.base_year = 2000
    with pytest.raises(Exception):
        inst.model.horizon.years = 3
    variant = inst.with_overrides({"horizon.years": 2})
    assert variant.years == (2026, 2027) and inst.years == (2026,)


def test_prevention_effect_on_a_segment_not_on_its_pathway():
    d = pathway_instance()
    d["segments"].append({"name": "children", "population": 100})
    d["pathways"][0]["segments"] = ["all"]
    d["prevention_effects"] = [{"name": "e", "service": "clinic", "pathway": "crisis", "sources": ["need"],
                                "segments": ["children"], "response": [[0, 0], [10, 0.1]]}]
    p = only(problems_of(d), "prevention_effects[0] (e).segments")
    assert "crisis" in p.expected and "'children'" in p.found
