"""The CLI through click's runner, and once through the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from optimiser.cli.main import EXIT_INFEASIBLE, EXIT_INVALID, EXIT_OK, main

from .conftest import ROOT

TINY = str(ROOT / "instances" / "tiny" / "two_services.yaml")


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_solve_prints_a_summary():
    r = run("solve", TINY)
    assert r.exit_code == EXIT_OK, r.output
    assert "optimal" in r.output and "£184.00k" in r.output and "verified" in r.output


def test_solve_json_is_one_document():
    r = run("solve", TINY, "--json")
    assert r.exit_code == EXIT_OK
    doc = json.loads(r.stdout)
    assert doc["status"] == "optimal" and doc["objective"] == pytest.approx(184000)
    assert doc["verification"]["ok"] is True


def test_infeasible_has_its_own_exit_code_and_plain_words():
    r = run("solve", TINY, "--set", "targets[0].at_most=10")
    assert r.exit_code == EXIT_INFEASIBLE
    assert "no plan meets" in r.output


def test_invalid_input_lists_problems_without_traceback(tmp_path):
    r = run("solve", TINY, "--set", "services[clinic].unit_cost=-1", "--set", "horizon.typo=1")
    assert r.exit_code == EXIT_INVALID
    assert "services[0] (clinic).unit_cost" in r.output and "horizon.typo" in r.output
    assert "Traceback" not in r.output
    r = run("validate", str(tmp_path / "nope.yaml"))
    assert r.exit_code == EXIT_INVALID and "no such file" in r.output


def test_validate_ok():
    r = run("validate", TINY)
    assert r.exit_code == EXIT_OK and "valid" in r.output


@pytest.mark.slow
def test_out_folder_then_verify(tmp_path):
    out = tmp_path / "plan"
    r = run("solve", TINY, "--out", str(out))
    assert r.exit_code == EXIT_OK and (out / "summary.json").exists()
    r = run("verify", str(out))
    assert r.exit_code == EXIT_OK and "verified" in r.output
    r = run("solve", TINY, "--set", "targets[0].at_most=10", "--out", str(tmp_path / "inf"))
    assert r.exit_code == EXIT_INFEASIBLE
    assert json.loads((tmp_path / "inf" / "summary.json").read_text())["status"] == "infeasible"


def test_help_documents_exit_codes():
    r = run("solve", "--help")
    assert "Exit status" in r.output and "infeasible" in r.output


@pytest.mark.slow
def test_installed_console_script():
    exe = shutil.which("budgetshift") or str(__import__("pathlib").Path(sys.executable).with_name("budgetshift"))
    proc = subprocess.run([exe, "solve", TINY, "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"


@pytest.mark.slow
def test_output_cut_short_by_its_reader_is_not_an_internal_error():
    """``budgetshift solve kent.yaml | head -1``: no traceback, no 'internal error', and the status
    a shell gives a command whose pipe closed (141), not 1 (internal errors)."""
    exe = shutil.which("budgetshift") or str(__import__("pathlib").Path(sys.executable).with_name("budgetshift"))
    proc = subprocess.Popen([exe, "solve", str(ROOT / "instances" / "kent.yaml")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.readline()  # the first line, then the reader goes away
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 141, err
    assert b"error" not in err and b"Traceback" not in err


@pytest.mark.slow
def test_python_m_runs_the_command():
    for module in ("optimiser", "optimiser.cli.main"):
        proc = subprocess.run([sys.executable, "-m", module, "validate", TINY], capture_output=True, text=True,
                              timeout=120, cwd=ROOT)
        assert proc.returncode == EXIT_OK, proc.stderr


@pytest.mark.slow  # explain on Kent; explain's own tests run on small instances
def test_explain_takes_a_scenario():
    """The file's scenarios apply to explain as to solve: Kent kept siloed has no plan (pooled it
    has one), and explain says so, with a relaxation (exit 0: the explanation is the answer)."""
    res = run("explain", str(ROOT / "instances" / "kent.yaml"), "--scenario", "siloed", "--json", "--no-conflict",
              "--no-alone")
    assert res.exit_code == EXIT_OK, res.output
    doc = json.loads(res.output)
    assert doc["status"] == "infeasible" and doc["overrides"]["budget.arrangement"] == "siloed"
    assert doc["relaxation"]
