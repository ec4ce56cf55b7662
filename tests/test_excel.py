"""Excel workbooks: a sheet per table with readable headers and units, and the same values as the
CSV files beside them (re-read with pandas)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

import optimiser
from optimiser.output import excel
from optimiser.cli.main import EXIT_OK, main
from optimiser.output.files import read_result

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"


def test_readable_headers_carry_units():
    assert excel.readable("spend") == "Spend (GBP)"
    assert excel.readable("unit_cost", currency="EUR") == "Unit cost (EUR)"
    assert excel.readable("flow", "flows") == "Flow (patients)"
    assert excel.readable("share") == "Share (fraction)"
    assert excel.readable("value", "outcomes") == "Value (outcome unit)"
    assert excel.readable("year") == "Year"
    assert excel.sheet_name("a" * 40, set()) == "a" * 31
    taken = {"x"}
    assert excel.sheet_name("X", taken) == "X_2"


def test_solve_out_workbook_equals_the_csv_tables(tmp_path):
    out = tmp_path / "plan"
    r = CliRunner().invoke(main, ["solve", str(TINY), "--out", str(out)])
    assert r.exit_code == EXIT_OK, r.output
    assert json.loads((out / "summary.json").read_text())["workbook"] == "results.xlsx"
    tables, summary = read_result(out)
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert list(sheets)[0] == "contents"
    assert set(sheets) - {"contents"} == set(tables)
    for name, csv in tables.items():
        book = sheets[name].copy()
        assert list(book.columns) == [excel.readable(c, name, summary["currency"]) for c in csv.columns], name
        book.columns = csv.columns
        pd.testing.assert_frame_equal(book, csv, check_dtype=False, rtol=1e-9, obj=name)
    alloc = sheets["allocation"]
    assert "Spend (GBP)" in alloc.columns and "Activity (service units)" in alloc.columns
    # an unlimited capacity is written as 'inf' and reads back as infinity, as from the CSV
    assert (alloc["Capacity max (service units)"] == float("inf")).all()
    contents = sheets["contents"]
    assert "allocation" in contents.iloc[:, 0].tolist()


@pytest.mark.slow
def test_comparison_workbook_equals_the_csv_tables(tmp_path):
    data = yaml.safe_load(TINY.read_text(encoding="utf-8"))
    data["scenarios"] = {"cheap": {"overrides": {"services[ward].unit_cost": 900}}}
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    cmp = optimiser.compare(path, scenarios=["cheap"], workers=1)
    out = cmp.write(tmp_path / "cmp")
    sheets = excel.read_workbook(out / "comparison.xlsx")
    assert list(sheets) == list(cmp.tables())
    for name, df in cmp.tables().items():
        csv = pd.read_csv(out / f"{name}.csv", dtype=str if name == "input_differences" else None,
                          keep_default_na=name != "input_differences")
        book = sheets[name].copy()
        if name == "input_differences":
            book = book.astype(str)
        assert list(book.columns) == list(csv.columns) == list(df.columns), name
        pd.testing.assert_frame_equal(book, csv, check_dtype=False, rtol=1e-9, obj=name)
    spend = sheets["spend_by_sector"]
    assert list(spend.columns) == ["Sector", "Year", "t (GBP)", "t+cheap (GBP)", "Δ t+cheap (GBP)", "Δ% t+cheap (%)"]


def test_workbook_is_written_inside_the_atomic_folder(tmp_path, monkeypatch):
    result = optimiser.solve(optimiser.load(TINY))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(excel, "result_workbook", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        result.write(tmp_path / "plan")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a partial one is left
