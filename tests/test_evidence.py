"""The evidence library: presets become response curves, overrides are used and flagged, bad
references are reported like any other problem, and the library file itself is well-formed."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from click.testing import CliRunner

import optimiser
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from optimiser.errors import InstanceError
from optimiser.input.evidence import (LIBRARY_PATH, evidence_table, expand_presets, library, lookup, presets,
                                read_library)

from .conftest import ROOT, base_instance, solve_data

REL = 1e-6
PRESET = "falls_exercise/falls_rate"   # exercise cuts the rate of falls by 23% (Cochrane 2019)
PUBLISHED = 0.23


def falls_instance(**effect) -> dict:
    """100 falls a year (0.01 x 10,000), each admitted at 800; a falls programme at 50 a unit acts
    with a one-year lag. The effect comes from the library; ``effect`` adds or replaces its fields."""
    eff = {"name": "strength_and_balance", "service": "falls_prog", "pathway": "falls", "sources": ["fall"],
           "preset": PRESET, "full_effect_at": 100}
    eff.update(effect)
    eff = {k: v for k, v in eff.items() if v is not None}
    return base_instance(
        horizon={"base_year": 2025, "years": 2, "discount_rate": 0.0},
        sectors=["prevention", "acute"],
        services=[
            {"name": "falls_prog", "sector": "prevention", "unit_cost": 50, "baseline_activity": 0},
            {"name": "ward", "sector": "acute", "unit_cost": 800, "baseline_activity": 100},
        ],
        pathways=[{
            "name": "falls",
            "nodes": [{"name": "fall", "kind": "source", "incidence": 0.01},
                      {"name": "admission", "kind": "care", "service": "ward"},
                      {"name": "home", "kind": "sink"}],
            "edges": [{"from": "fall", "to": "admission", "share": 1},
                      {"from": "admission", "to": "home", "share": 1}],
        }],
        prevention_effects=[eff],
    )


def load(data, **kwargs):
    return optimiser.load_data(copy.deepcopy(data), file="test.yaml", **kwargs)


def problems_of(data, **kwargs) -> list:
    with pytest.raises(InstanceError) as info:
        load(data, **kwargs)
    return info.value.problems


# ----------------------------------------------------------------------------- the curve and the plan

def test_preset_becomes_a_straight_line_to_the_published_reduction():
    inst = load(falls_instance())
    curve = inst.curves["strength_and_balance"]
    assert curve.x == (0.0, 100.0) and curve.y == (0.0, PUBLISHED)
    e = inst.model.prevention_effects[0]
    assert e.preset == PRESET and e.full_effect_at == 100 and e.reduction is None   # the record of its source
    assert [list(p) for p in e.response] == [[0, 0], [100, PUBLISHED]]
    assert "Exercise" in e.description and "23%" in e.description                    # defaulted from the preset
    assert inst.raw["prevention_effects"][0].get("response") is None                 # raw keeps the file's form


def test_plan_with_a_preset_cuts_incidence_by_the_published_share():
    """The programme's slope is 0.23 / 100 per unit: a unit saves 0.0023 x 100 falls x 800 = 184 > 50,
    so fund the full 100 units in 2026; 2027 sees 23% fewer falls, exactly the published cut.
    Cost 5,000 + 100 x 800 + 77 x 800 = 146,600."""
    r = solve_data(falls_instance())
    need = r.need.set_index("year")["need"]
    assert need[2026] == pytest.approx(100) and need[2027] == pytest.approx(100 * (1 - PUBLISHED))
    assert r.objective == pytest.approx(146_600, rel=REL)


def test_reduction_overrides_the_published_figure_and_is_flagged():
    """With reduction 0.1 a unit saves 0.001 x 100 x 800 = 80 > 50: still fund 100 units; 90 falls
    in 2027. Cost 5,000 + 80,000 + 72,000 = 157,000."""
    data = falls_instance(reduction=0.1)
    inst = load(data)
    assert inst.curves["strength_and_balance"].y == (0.0, 0.1)
    table = evidence_table(inst)
    row = table.iloc[0]
    assert (row["effect"], row["preset"], row["measure"]) == ("strength_and_balance", "falls_exercise", "falls_rate")
    assert row["published_reduction"] == PUBLISHED and row["reduction_used"] == 0.1 and bool(row["overridden"])
    assert row["full_effect_at"] == 100 and row["curve"] == "preset" and "Sherrington" in row["citation"]
    assert solve_data(data).objective == pytest.approx(157_000, rel=REL)


def test_set_override_and_with_overrides_expand_the_preset_again():
    inst = load(falls_instance(), overrides={"prevention_effects.strength_and_balance.reduction": 0.1})
    assert inst.curves["strength_and_balance"].y == (0.0, 0.1)
    base = load(falls_instance())
    assert not evidence_table(base)["overridden"].any()
    variant = base.with_overrides(["prevention_effects[strength_and_balance].full_effect_at=200"])
    assert variant.curves["strength_and_balance"].x == (0.0, 200.0)
    assert variant.curves["strength_and_balance"].y == (0.0, PUBLISHED)


def test_an_explicit_response_wins_and_the_preset_gives_the_citation():
    inst = load(falls_instance(full_effect_at=None, response=[[0, 0], [50, 0.1], [200, 0.2]]))
    assert inst.curves["strength_and_balance"].y == (0.0, 0.1, 0.2)
    row = evidence_table(inst).iloc[0]
    assert row["curve"] == "response" and row["reduction_used"] == 0.2 and row["full_effect_at"] == 200
    assert bool(row["overridden"])


def test_effects_without_a_preset_are_left_alone_and_not_listed():
    data = falls_instance(preset=None, full_effect_at=None, response=[[0, 0], [100, 0.2]])
    expanded, problems = expand_presets(data, "test.yaml")
    assert problems == [] and expanded == data
    assert evidence_table(load(data)).empty


def test_expand_presets_never_mutates_its_input():
    data = falls_instance(reduction=0.1, lag=2, floor=0.5, driver="spend", segments=["all"])
    before = copy.deepcopy(data)
    out, problems = expand_presets(data, "test.yaml")
    assert problems == [] and data == before and out is not data
    eff = out["prevention_effects"][0]
    assert eff["response"] == [[0, 0], [100.0, 0.1]]
    assert (eff["lag"], eff["floor"], eff["driver"], eff["segments"]) == (2, 0.5, "spend", ["all"])


# ----------------------------------------------------------------------------- bad input

FIELD = "prevention_effects[strength_and_balance]"


@pytest.mark.parametrize("effect, field, expected_part, found_part", [
    ({"preset": "no_such_programme/x"}, "preset", "falls_exercise/falls_rate", "no_such_programme"),
    ({"preset": "falls_exercise/no_such_measure"}, "preset", "falls_exercise/fallers", "no_such_measure"),
    ({"preset": "falls_exercise"}, "preset", "falls_exercise/falls_rate", "'falls_exercise'"),
    ({"preset": 3}, "preset", "<preset>/<measure>", "3"),
    ({"full_effect_at": None}, "full_effect_at", "a number > 0", "missing"),
    ({"full_effect_at": 0}, "full_effect_at", "a number > 0", "0"),
    ({"full_effect_at": -5}, "full_effect_at", "a number > 0", "-5"),
    ({"full_effect_at": "lots"}, "full_effect_at", "a number > 0", "'lots'"),
    ({"reduction": 1.5}, "reduction", "between 0 and 1", "1.5"),
    ({"reduction": -0.1}, "reduction", "between 0 and 1", "-0.1"),
    ({"response": [[0, 0], [10, 0.1]]}, "full_effect_at", "no full_effect_at when 'response' is given", "100"),
    ({"full_effect_at": None, "response": [[0, 0], [10, 0.1]], "reduction": 0.1}, "reduction",
     "no reduction when 'response' is given", "0.1"),
    ({"preset": None, "response": [[0, 0], [10, 0.1]]}, "full_effect_at", "only together with 'preset'", "100"),
])
def test_bad_preset_input_is_one_problem_naming_file_field_expected_found(effect, field, expected_part, found_part):
    problems = problems_of(falls_instance(**effect))   # (a None removes the field)
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.file == "test.yaml" and p.path == f"{FIELD}.{field}"
    assert expected_part in p.expected and found_part in p.found
    text = str(p)
    assert text.startswith("test.yaml: ") and f"{FIELD}.{field}" in text and "expected" in text and "found" in text


def test_bad_override_is_reported_too():
    problems = problems_of(falls_instance(), overrides={"prevention_effects.strength_and_balance.reduction": 2})
    assert [p.path for p in problems] == [f"{FIELD}.reduction"]


def test_validate_command_exits_3_without_a_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(falls_instance(preset="carefirst_pcmh/no_such_measure")), encoding="utf-8")
    r = CliRunner().invoke(main, ["validate", str(path)])
    assert r.exit_code == EXIT_INVALID, r.output
    assert "Traceback" not in r.output
    assert str(path) in r.output and f"{FIELD}.preset" in r.output and "carefirst_pcmh/ed_visits" in r.output
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(falls_instance()), encoding="utf-8")
    assert CliRunner().invoke(main, ["validate", str(good)]).exit_code == EXIT_OK


# ----------------------------------------------------------------------------- the library itself

def test_library_file_is_well_formed():
    lib = read_library(LIBRARY_PATH)   # validates: unique ids, fractions in (0, 1), required texts
    assert lib is not None and library() is library()   # read once
    refs = lib.references()
    assert len(refs) == len(set(refs))
    for p in lib.presets:
        c = p.citation
        assert c.authors.strip() and c.title.strip() and 1990 <= c.year <= 2030
        assert c.url or c.doi, p.id
        assert p.measures
        for m in p.measures:
            assert 0 < m.reduction < 1 and m.mapping.strip() and m.attach_to.strip() and m.measured.strip()
            if m.approximate:
                assert "approximate" in m.mapping.lower(), f"{p.id}/{m.id}: say plainly why it is approximate"
            if (c.verify if m.verify is None else m.verify):
                assert "check the primary source" in (m.note + " " + c.note).lower(), f"{p.id}/{m.id}"


def test_library_has_the_requested_figures():
    figures = {r: presets().set_index("reference").loc[r, "reduction"] for r in presets()["reference"]}
    assert figures["carefirst_pcmh/inpatient_admissions"] == 0.15
    assert figures["carefirst_pcmh/ed_visits"] == 0.13
    assert figures["carefirst_pcmh/hospital_days"] == 0.062
    assert figures["bcbsm_pcmh/adult_ed_visits"] == 0.19
    assert figures["bcbsm_pcmh/acs_inpatient_stays"] == 0.25
    assert figures["community_health_centres/multi_day_admissions"] == 0.64
    assert figures["chenmed_senior_primary_care/hospital_days"] == 0.38


def test_presets_table_is_tidy_and_in_library_order():
    table = presets()
    assert list(table["reference"]) == library().references()
    assert {"reference", "reduction", "measured", "mapping", "citation", "verify", "approximate"} <= set(table)
    preset, measure = lookup("carefirst_pcmh/hospital_days")
    assert measure.approximate and preset.citation.year == 2017
    with pytest.raises(KeyError, match="carefirst_pcmh/ed_visits"):
        lookup("carefirst_pcmh/nope")


# ----------------------------------------------------------------------------- the command

def test_evidence_command_lists_shows_and_prints_json():
    run = CliRunner().invoke
    r = run(main, ["evidence"])
    assert r.exit_code == EXIT_OK, r.output
    assert "carefirst_pcmh/inpatient_admissions" in r.output and "15%" in r.output
    r = run(main, ["evidence", "--json"])
    assert r.exit_code == EXIT_OK
    doc = json.loads(r.stdout)
    assert [d["reference"] for d in doc] == library().references()
    r = run(main, ["evidence", "carefirst_pcmh/hospital_days"])
    assert r.exit_code == EXIT_OK and "Approximate" in r.output and "inpatient_admissions:" not in r.output
    r = run(main, ["evidence", "nhs_dpp", "--json"])
    assert r.exit_code == EXIT_OK and json.loads(r.stdout)["citation"]["doi"] == "10.1371/journal.pmed.1004177"
    r = run(main, ["evidence", "no_such_preset"])
    assert r.exit_code == EXIT_USAGE and "carefirst_pcmh" in r.output


# ----------------------------------------------------------------------------- the documentation

DOC = ROOT / "docs" / "evidence.md"


def test_evidence_doc_lists_every_measure_with_its_figure():
    text = DOC.read_text(encoding="utf-8")
    for r in presets().to_dict("records"):
        assert f"| `{r['reference']}` | {r['reduction'] * 100:.3g}% |" in text, r["reference"]


def test_evidence_doc_example_expands_without_problems():
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load(block)
    out, problems = expand_presets(data, "evidence.md")
    assert problems == []
    assert [e["response"] for e in out["prevention_effects"]] == [[[0, 0], [250000.0, 0.19]],
                                                                  [[0, 0], [250000.0, 0.15]]]
