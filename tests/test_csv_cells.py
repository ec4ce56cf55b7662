"""CSV tables: cells are read as YAML would read them, and dotted column names fill nested fields."""

from __future__ import annotations

import random

import pytest
import yaml

import optimiser
from optimiser.input.reading import _flat_collection, read_csv_records

KEYS = ["a", "b c", "0-17", "85+", "18-39", "2027", "012", "1_000", "1.5", "yes", "No", "on", "null", "x-y",
        "2025-01-01", "p0000_0-17", "A1", "~", "true", "1e3", "-3", "0"]
NUMBERS = ["0", "1", "-2", "+3", "0.5", ".5", "1.", "1e3", "1.0e+3", "nan", ".inf", "1_000", "0x1F", "012", "abc",
           "2.50", "-0.0"]


@pytest.mark.parametrize("seed", range(5))
def test_fast_cells_read_exactly_as_yaml_does(seed):
    rng = random.Random(seed)
    for _ in range(400):
        n = rng.randint(0, 4)
        if rng.random() < 0.5:
            text = "[" + ", ".join(rng.choice(NUMBERS) for _ in range(n)) + "]"
        else:
            text = "{" + ", ".join(f"{rng.choice(KEYS)}: {rng.choice(NUMBERS)}" for _ in range(n)) + "}"
        fast = _flat_collection(text)
        if fast is not None:
            assert fast == yaml.safe_load(text), text
            assert [type(v) for v in (fast.values() if isinstance(fast, dict) else fast)] == \
                [type(v) for v in (yaml.safe_load(text).values() if isinstance(fast, dict) else yaml.safe_load(text))]


def test_dotted_columns_fill_nested_fields(tmp_path):
    (tmp_path / "services.csv").write_text(
        "name,sector,unit_cost.value,unit_cost.growth,baseline_activity,capacity.max\n"
        "clinic,prevention,100,0.02,100,\n"
        "ward,acute,1000,,100,500\n", encoding="utf-8")
    rows = read_csv_records(tmp_path / "services.csv")
    assert rows == [{"name": "clinic", "sector": "prevention", "unit_cost": {"value": 100, "growth": 0.02},
                     "baseline_activity": 100},
                    {"name": "ward", "sector": "acute", "unit_cost": {"value": 1000}, "baseline_activity": 100,
                     "capacity": {"max": 500}}]
    (tmp_path / "plan.yaml").write_text(
        "format_version: 1\nname: csv services\nhorizon: {base_year: 2025, years: 2}\nbudget: {pooled: 1.0e6}\n"
        "sectors: [prevention, acute]\nservices: {from_csv: services.csv}\n"
        "segments: [{name: all, population: 1000}]\n", encoding="utf-8")
    inst = optimiser.load(tmp_path / "plan.yaml")
    sy = inst.service_years.set_index(["service", "year"])
    assert sy.loc[("clinic", 2027), "unit_cost"] == pytest.approx(100 * 1.02 ** 2)
    assert sy.loc[("ward", 2026), "capacity_max"] == 500
