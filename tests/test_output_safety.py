"""Output folders are safe: ``--overwrite`` replaces only a folder budgetshift wrote (it carries a
valid ``.budgetshift-result`` marker and nothing else), a bad ``--out`` fails before any solving
with exit 2 and no change on disk, ``verify`` on a folder that is not a result exits 3, partial
folders of killed runs are cleaned up (only budgetshift's, only when their process is gone), a
``--json`` document cut short by its reader exits 141, an infeasible ``solve`` names the
``explain`` command, and an interrupted sweep keeps its first point.

Every case asserts the exit status, the message, and (for refusals) that the folder tree is
byte-for-byte what it was before."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.cli.main import EXIT_INFEASIBLE, EXIT_INVALID, EXIT_OK, EXIT_USAGE, main
from optimiser.output.folders import MARKER, OutputFolderError, check_target, clean_stale, read_marker

from .conftest import ROOT

TINY_SRC = ROOT / "instances" / "tiny" / "two_services.yaml"
EXE = shutil.which("budgetshift") or str(Path(sys.executable).with_name("budgetshift"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` (relative) with its bytes (None for a folder): a snapshot that a
    refused command must leave exactly as it was."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


@pytest.fixture
def work(tmp_path, monkeypatch):
    """A planner's folder: the instance file and notes beside it; the working folder is inside it."""
    proj = tmp_path / "proj"
    proj.mkdir()
    shutil.copy(TINY_SRC, proj / "plan.yaml")
    (proj / "notes.txt").write_text("my notes\n")
    monkeypatch.chdir(proj)
    return proj


def refused(res, *words, code=EXIT_USAGE):
    assert res.exit_code == code, res.output
    assert "Traceback" not in res.output and "internal error" not in res.output
    for w in words:
        assert w in res.stderr, res.stderr


# ============================================================================ overwrite refusals

def test_overwrite_of_the_current_folder_is_refused_and_nothing_is_deleted(work, tmp_path):
    before = tree(tmp_path)
    res = run("solve", "plan.yaml", "--out", ".", "--overwrite")
    refused(res, "--out .", "it is the current folder", "choose another folder")
    assert tree(tmp_path) == before


def test_overwrite_of_the_parent_folder_is_refused(work, tmp_path):
    before = tree(tmp_path)
    res = run("solve", "plan.yaml", "--out", "..", "--overwrite")
    refused(res, "--out ..", "it holds the current folder")
    assert tree(tmp_path) == before


def test_overwrite_of_the_instance_folder_is_refused_from_elsewhere(work, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = tree(tmp_path)
    res = run("solve", work / "plan.yaml", "--out", work, "--overwrite")
    refused(res, "it holds the input file", "plan.yaml")
    assert tree(tmp_path) == before


def test_overwrite_of_a_folder_of_user_files_is_refused(work, tmp_path):
    (work / "reports").mkdir()
    (work / "reports" / "q3.xlsx").write_bytes(b"precious")
    before = tree(tmp_path)
    res = run("solve", "plan.yaml", "--out", "reports", "--overwrite")
    refused(res, "--overwrite refused", "was not written by budgetshift", MARKER, "left untouched")
    assert tree(tmp_path) == before


def test_a_fake_marker_does_not_make_a_folder_ours(work, tmp_path):
    """A marker must be the JSON object budgetshift writes; an empty or hand-made file is not."""
    for i, text in enumerate(["", "not json", '{"kind": "solve"}', '["budgetshift"]',
                              '{"budgetshift_output": 1, "kind": "solve", "entries": "all"}']):
        folder = work / f"fake{i}"
        folder.mkdir()
        (folder / MARKER).write_text(text)
        (folder / "data.csv").write_text("a,b\n1,2\n")
        before = tree(tmp_path)
        res = run("solve", "plan.yaml", "--out", folder, "--overwrite")
        refused(res, "was not written by budgetshift")
        assert tree(tmp_path) == before


def test_a_result_folder_with_a_user_file_added_is_not_replaced(work, tmp_path):
    assert run("solve", "plan.yaml", "--out", "out/a").exit_code == EXIT_OK
    (work / "out" / "a" / "my_chart.png").write_bytes(b"\x89PNG")
    before = tree(tmp_path)
    res = run("solve", "plan.yaml", "--out", "out/a", "--overwrite")
    refused(res, "holds 1 file(s) budgetshift did not write", "my_chart.png")
    assert tree(tmp_path) == before


@pytest.mark.slow  # a compare; the quick suite keeps the same rule for a solve folder
def test_a_user_file_deep_inside_a_compare_folder_is_not_replaced(work, tmp_path):
    """The marker lists every file and folder written (runs/<label>/... included), so a file added
    anywhere inside is noticed; the untouched folder is replaced."""
    assert run("compare", "plan.yaml", "--out", "out/c", "--workers", "1").exit_code == EXIT_OK
    marker = read_marker(work / "out" / "c")
    assert marker["kind"] == "compare" and "runs/" in marker["entries"]
    assert run("compare", "plan.yaml", "--out", "out/c", "--overwrite", "--workers", "1").exit_code == EXIT_OK
    run_dir = next(p for p in (work / "out" / "c" / "runs").iterdir())
    (run_dir / "annotations.txt").write_text("mine")
    before = tree(tmp_path)
    res = run("compare", "plan.yaml", "--out", "out/c", "--overwrite", "--workers", "1")
    refused(res, f"runs/{run_dir.name}/annotations.txt")
    assert tree(tmp_path) == before


def test_a_file_or_a_symlink_as_out_is_refused(work, tmp_path):
    os.symlink(work / "notes.txt", work / "link")
    (work / "real").mkdir()
    os.symlink(work / "real", work / "dirlink")
    before = tree(tmp_path)
    refused(run("solve", "plan.yaml", "--out", "notes.txt", "--overwrite"), "notes.txt", "is a file")
    refused(run("solve", "plan.yaml", "--out", "dirlink", "--overwrite"), "is a symbolic link")
    refused(run("solve", "plan.yaml", "--out", "notes.txt/sub"), "notes.txt is a file, not a folder")
    assert tree(tmp_path) == before


def test_home_and_root_are_refused(work, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "file").write_text("x")
    monkeypatch.setenv("HOME", str(home))
    refused(run("solve", "plan.yaml", "--out", home, "--overwrite"), "it is your home folder")
    refused(run("solve", "plan.yaml", "--out", "/", "--overwrite"), "it is the root folder")
    assert (home / "file").read_text() == "x"


# ============================================================================ what is allowed

def test_overwrite_replaces_a_folder_budgetshift_wrote_and_the_marker_is_not_a_table(work):
    assert run("solve", "plan.yaml", "--out", "out/a").exit_code == EXIT_OK
    marker = read_marker(work / "out" / "a")
    assert marker["kind"] == "solve" and "summary.json" in marker["entries"] and MARKER not in marker["entries"]
    (work / "out" / "a" / "allocation.csv").write_text("stale")
    res = run("solve", "plan.yaml", "--out", "out/a", "--overwrite")
    assert res.exit_code == EXIT_OK, res.output
    assert (work / "out" / "a" / "allocation.csv").read_text() != "stale"
    summary = json.loads((work / "out" / "a" / "summary.json").read_text())
    assert all(not f.startswith(".") for f in summary["tables"].values())
    # verify and report read the folder as before
    res = run("verify", "out/a")
    assert res.exit_code == EXIT_OK and "checks passed" in res.output
    # nothing hidden is left beside it
    assert sorted(p.name for p in (work / "out").iterdir()) == ["a"]


def test_the_output_files_are_those_of_before_plus_the_marker(work):
    """Adding the marker is the one extra file in an output folder: every other file is a table
    summary.json lists, summary.json itself or the workbook."""
    assert run("solve", "plan.yaml", "--out", "out/g").exit_code == EXIT_OK
    out = work / "out" / "g"
    names = {p.name for p in out.iterdir()}
    listed = set(json.loads((out / "summary.json").read_text())["tables"].values())
    assert names == listed | {"summary.json", "results.xlsx", MARKER}
    assert MARKER not in listed


def test_a_nonempty_out_without_overwrite_fails_before_solving(work, tmp_path):
    """Exit 2 (was 6 after solving): the check runs before the instance is even read, so a missing
    instance file is not reported first."""
    (work / "taken").mkdir()
    (work / "taken" / "x").write_text("x")
    before = tree(tmp_path)
    res = run("solve", "no_such_file.yaml", "--out", "taken")
    refused(res, "already exists and is not empty", "--overwrite")
    assert tree(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_out_is_a_clear_error_not_an_internal_one(work):
    locked = work / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = run("solve", "plan.yaml", "--out", "locked/out")
        refused(res, "permission denied")
    finally:
        locked.chmod(0o700)


def test_every_command_with_out_checks_it_first(work, tmp_path):
    before = tree(tmp_path)
    for args in (["compare", "plan.yaml"], ["pooling", "plan.yaml"],
                 ["sweep", "plan.yaml", "--vary", "targets[0].at_most=140,150"],
                 ["pareto", "plan.yaml", "--outcome", "admissions", "--points", "2"],
                 ["uncertainty", "plan.yaml", "--samples", "2"]):
        res = run(*args, "--out", ".", "--overwrite")
        refused(res, "it is the current folder")
        res = run(*args, "--out", "notes.txt/sub")
        refused(res, "notes.txt is a file, not a folder")
    assert tree(tmp_path) == before


def test_check_target_api():
    with pytest.raises(OutputFolderError, match="is a file"):
        check_target(TINY_SRC)


# ============================================================================ verify

def test_verify_on_a_folder_that_is_not_a_result_exits_3(work):
    res = run("verify", ".")
    refused(res, "is not a result folder", "no summary.json", code=EXIT_INVALID)
    (work / "bad").mkdir()
    (work / "bad" / "summary.json").write_text("{not json")
    refused(run("verify", "bad"), "cannot be read as JSON", code=EXIT_INVALID)
    (work / "half").mkdir()
    (work / "half" / "summary.json").write_text('{"status": "optimal", "tables": {"allocation": "allocation.csv"}}')
    refused(run("verify", "half"), "lists allocation.csv, which is missing", code=EXIT_INVALID)
    (work / "nostatus").mkdir()
    (work / "nostatus" / "summary.json").write_text('{"tables": {}}')
    refused(run("verify", "nostatus"), "its summary.json has no 'status'", code=EXIT_INVALID)
    (work / "nota").mkdir()
    (work / "nota" / "summary.json").write_text('[1, 2]')
    refused(run("verify", "nota"), "not a result summary", code=EXIT_INVALID)


def test_verify_on_a_result_with_tables_removed_is_not_an_internal_error(work):
    assert run("solve", "plan.yaml", "--out", "out/a").exit_code == EXIT_OK
    summary = json.loads((work / "out" / "a" / "summary.json").read_text())
    summary["tables"] = {"allocation": "allocation.csv"}  # the others dropped by hand
    (work / "out" / "a" / "summary.json").write_text(json.dumps(summary))
    refused(run("verify", "out/a"), "is not a complete result folder", "is missing from its tables",
            code=EXIT_INVALID)


def test_verify_on_a_sweep_folder_says_so(work):
    res = run("sweep", "plan.yaml", "--vary", "targets[0].at_most=140,150", "--out", "out/s", "--no-explain")
    assert res.exit_code == EXIT_OK, res.output
    assert read_marker(work / "out" / "s")["kind"] == "sweep"
    refused(run("verify", "out/s"), "holds a sweep run, not one plan", code=EXIT_INVALID)
    # and the sweep folder is replaced by a sweep with --overwrite
    res = run("sweep", "plan.yaml", "--vary", "targets[0].at_most=130,150", "--out", "out/s", "--overwrite",
              "--no-explain")
    assert res.exit_code == EXIT_OK, res.output
    assert "130" in (work / "out" / "s" / "points.csv").read_text()


# ============================================================================ leftovers

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_killed_solve_leaves_a_partial_folder_that_the_next_run_removes(work):
    """A real kill: a child writes a result and SIGKILLs itself while its partial folder is half
    written; the next write beside it removes that folder (and only it)."""
    code = (
        "import os, signal, pandas as pd\n"
        "from optimiser.output.files import write_tables_atomically\n"
        "def die(folder):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "write_tables_atomically('out/r', {'t': pd.DataFrame({'a': [1]})}, {'summary': {'tables': {}}}, extra=die)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=work)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    left = [p.name for p in (work / "out").iterdir()]
    assert len(left) == 1 and left[0].startswith(f".r.partial-{proc.pid}-"), left
    # a folder of the user's that merely looks like one, and a partial of a live process, stay
    (work / "out" / ".r.partial-1-mine").mkdir()
    (work / "out" / ".r.partial-1-mine" / "keep.txt").write_text("keep")
    live = work / "out" / f".r.partial-{os.getpid()}-live"
    live.mkdir()
    (live / ".budgetshift-partial").write_text(json.dumps({"budgetshift_partial": 1, "pid": os.getpid(),
                                                           "host": os.uname().nodename}))
    res = run("solve", "plan.yaml", "--out", "out/r")
    assert res.exit_code == EXIT_OK, res.output
    names = sorted(p.name for p in (work / "out").iterdir())
    assert names == sorted(["r", ".r.partial-1-mine", live.name]), names
    assert (work / "out" / ".r.partial-1-mine" / "keep.txt").read_text() == "keep"


def test_clean_stale_needs_budgetshift_marker_and_a_dead_process(tmp_path):
    dead = _dead_pid()
    host = os.uname().nodename
    target = tmp_path / "res"
    ours = tmp_path / f".res.partial-{dead}-abc"
    ours.mkdir()
    (ours / ".budgetshift-partial").write_text(json.dumps({"budgetshift_partial": 1, "pid": dead, "host": host}))
    wrong_pid = tmp_path / f".res.partial-{dead}-xyz"
    wrong_pid.mkdir()
    (wrong_pid / ".budgetshift-partial").write_text(json.dumps({"budgetshift_partial": 1, "pid": dead + 1,
                                                                "host": host}))
    other_name = tmp_path / f".other.partial-{dead}-abc"
    other_name.mkdir()
    (other_name / ".budgetshift-partial").write_text(json.dumps({"budgetshift_partial": 1, "pid": dead,
                                                                 "host": host}))
    assert clean_stale(target) == [ours]
    assert not ours.exists() and wrong_pid.exists() and other_name.exists()


# ============================================================================ closed pipe

@pytest.mark.slow  # a Kent solve in a subprocess; the quick suite runs the tiny one
def test_a_json_document_cut_short_by_its_reader_exits_141():
    """``budgetshift solve kent.yaml --json | head -c 100``: the document (over a megabyte) is cut
    short, so the status is 141 (as a shell reports a command whose reader went away), not 0."""
    proc = subprocess.Popen([EXE, "solve", str(ROOT / "instances" / "kent.yaml"), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = proc.stdout.read(100)
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert head.startswith(b"{")
    assert proc.returncode == 141, err
    assert b"Traceback" not in err and b"internal error" not in err


@pytest.mark.slow  # a process; the control of the cut-short case, which is slow too
def test_a_json_document_read_to_the_end_exits_0():
    proc = subprocess.run([EXE, "solve", str(TINY_SRC), "--json"], capture_output=True, timeout=120)
    assert proc.returncode == EXIT_OK, proc.stderr
    assert json.loads(proc.stdout)["status"] == "optimal"


# ============================================================================ infeasible hint

def test_an_infeasible_solve_names_the_explain_command_with_the_same_arguments(work):
    res = run("solve", "plan.yaml", "--set", "targets[0].at_most=10", "--set", "budget.pooled=1e6")
    assert res.exit_code == EXIT_INFEASIBLE, res.output
    lines = res.stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("status: infeasible"))
    assert lines[i + 1] == ("see why: budgetshift explain plan.yaml --set 'targets[0].at_most=10' "
                            "--set budget.pooled=1e6")
    # the line is a command a shell reads back into the same words
    assert shlex.split(lines[i + 1][len("see why: "):]) == [
        "budgetshift", "explain", "plan.yaml", "--set", "targets[0].at_most=10", "--set", "budget.pooled=1e6"]


def test_the_hint_quotes_awkward_paths_and_scenarios(work):
    from optimiser.cli.main import explain_hint

    hint = explain_hint("my plans/x y.yaml", ["services[ward].unit_cost=1 800"], ["it's"])
    assert shlex.split(hint[len("see why: "):]) == ["budgetshift", "explain", "my plans/x y.yaml", "--set",
                                                    "services[ward].unit_cost=1 800", "--scenario", "it's"]


def test_an_optimal_solve_and_json_have_no_hint(work):
    res = run("solve", "plan.yaml")
    assert res.exit_code == EXIT_OK and "see why" not in res.output
    res = run("solve", "plan.yaml", "--set", "targets[0].at_most=10", "--json")
    assert res.exit_code == EXIT_INFEASIBLE and "see why" not in res.output
    assert json.loads(res.stdout)["status"] == "infeasible"


# ============================================================================ sweep checkpoint

def _interrupt_second_build(monkeypatch):
    """Ctrl-C while the second point is being built (the first point's solve done, its answer not
    yet handed over): the moment an early interrupt lost all work before."""
    from optimiser.solving import session as S

    orig = S.Session._prepare
    calls = {"n": 0}

    def prepare(self, overrides):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return orig(self, overrides)

    monkeypatch.setattr(S.Session, "_prepare", prepare)
    return calls


def test_an_interrupted_sweep_keeps_its_first_point(work, monkeypatch):
    import optimiser

    _interrupt_second_build(monkeypatch)
    ck = work / "ck.jsonl"
    with pytest.raises(KeyboardInterrupt):
        optimiser.sweep("plan.yaml", vary={"targets[0].at_most": [150, 140, 130]}, checkpoint=ck, explain=False)
    lines = [json.loads(line) for line in ck.read_text().splitlines()]
    assert lines[0]["kind"] == "sweep" and len(lines) == 2
    assert lines[1]["key"] == '{"targets[0].at_most":150}'
    # at_most 150 admissions: the unconstrained plan of two_services costs 184,000 (as test_cli's
    # summary test pins), and the target does not bind
    assert lines[1]["record"]["status"] == "optimal" and lines[1]["record"]["objective"] == pytest.approx(184000)


def test_an_interrupted_sweep_command_resumes_without_solving_the_first_point_again(work, monkeypatch):
    calls = _interrupt_second_build(monkeypatch)
    args = ["sweep", "plan.yaml", "--vary", "targets[0].at_most=150,140", "--out", "out/s", "--no-explain"]
    res = run(*args)
    assert res.exit_code == 130, res.output
    assert "--resume" in res.stderr
    assert not (work / "out" / "s").exists()
    calls["n"] = 10  # no more interrupts
    res = run(*args, "--resume", "--json")
    assert res.exit_code == EXIT_OK, res.output
    doc = json.loads(res.stdout)
    assert doc["run"]["resumed"] == 1 and doc["run"]["solved"] == 1
    assert read_marker(work / "out" / "s")["kind"] == "sweep"
    assert not (work / "out" / ".s.checkpoint.jsonl").exists()


# ============================================================================ progress

def test_the_progress_line_names_elapsed_time_plan_bound_and_gap():
    from optimiser.solving.progress import format_progress

    # a MIP part-way: best plan 12,345,678, bound 12,300,000; HiGHS's gap is (p - b) / p
    gap = (12_345_678 - 12_300_000) / 12_345_678
    assert format_progress(65.4, objective=12_345_678, bound=12_300_000, gap=gap, nodes=1204) == \
        "HiGHS 1:05  best plan 12,345,678  bound 12,300,000  gap 0.37%  nodes 1,204"
    # before the first plan HiGHS reports an infinite primal bound: no plan, no gap
    assert format_progress(4, objective=float("inf"), bound=-float("inf"), gap=float("inf"), nodes=0) == \
        "HiGHS 0:04  no plan yet  nodes 0"
    # a linear solve: the simplex iterations; an hour and more reads h:mm:ss
    assert format_progress(3725, iterations=45337) == "HiGHS 1:02:05  iterations 45,337"


class _Event:
    def __init__(self, mip: bool, **data):
        import types

        from optimiser.solving.progress import _mip_type

        self.callback_type = _mip_type() if mip else None
        self.data_out = types.SimpleNamespace(**data)


def test_progress_waits_its_delay_throttles_and_clears_its_line():
    import io

    from optimiser.solving.progress import SolveProgress

    now = [100.0]
    buf = io.StringIO()
    p = SolveProgress(buf, delay=2.0, interval=1.0, clock=lambda: now[0])
    p.attach(type("H", (), {})())  # a Highs without callbacks: nothing to subscribe, the clock starts
    ev = _Event(True, mip_primal_bound=110.0, mip_dual_bound=100.0, mip_gap=10 / 110, mip_node_count=7)
    for t in (100.5, 101.9):  # within the delay: nothing
        now[0] = t
        p._on_event(ev)
    assert buf.getvalue() == ""
    now[0] = 102.0
    p._on_event(ev)
    now[0] = 102.5  # within the interval: no second line
    p._on_event(ev)
    assert buf.getvalue() == "\rHiGHS 0:02  best plan 110  bound 100  gap 9.09%  nodes 7" and p.lines == 1
    p.clear()
    assert buf.getvalue().endswith("\r" + " " * len("HiGHS 0:02  best plan 110  bound 100  gap 9.09%  nodes 7") + "\r")


def test_progress_is_shown_on_a_terminal_only_and_never_with_json():
    import io

    from optimiser.solving.progress import wanted

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert wanted(False, stream=Tty()) is True
    assert wanted(True, stream=Tty()) is False  # --json
    assert wanted(False, solver_log=True, stream=Tty()) is False  # HiGHS's own log instead
    assert wanted(False, stream=io.StringIO()) is False  # piped or captured


@pytest.mark.slow  # two Kent solves; the progress line itself is checked quickly above
def test_progress_does_not_change_the_plan():
    """Kent solved with progress shown from the first callback gives the plan solved without it,
    to the last bit (the objective and every spend), and HiGHS did call back."""
    import io

    import optimiser
    from optimiser.solving import progress

    inst = optimiser.load(ROOT / "instances" / "kent.yaml")
    plain = optimiser.solve(inst)
    buf = io.StringIO()
    with progress.shown(True, stream=buf, delay=0.0, interval=0.0) as p:
        shown = optimiser.solve(inst)
    assert p.lines >= 1 and buf.getvalue().startswith("\rHiGHS 0:00") and buf.getvalue().endswith("\r")
    assert shown.objective == plain.objective
    assert shown.tables["allocation"].equals(plain.tables["allocation"])


@pytest.mark.slow  # a Kent solve in a subprocess; the quick suite runs the tiny one
def test_nothing_about_progress_is_printed_when_stderr_is_not_a_terminal():
    proc = subprocess.run([EXE, "solve", str(ROOT / "instances" / "kent.yaml")], capture_output=True, timeout=300)
    assert proc.returncode == EXIT_OK
    assert b"HiGHS " not in proc.stderr and b"\r" not in proc.stderr and b"\r" not in proc.stdout


def test_a_real_ctrl_c_while_the_first_point_solves_keeps_it(work, monkeypatch):
    """SIGINT arrives while the sweep waits for its first point's solve (made slow here): the
    solve finishes (the helper thread's pool waits for it in any case) and is checkpointed."""
    import threading
    import time

    import optimiser
    from optimiser.solving import session as S

    orig = S.Session._run
    first = {"slow": True}
    timers = []

    def slow_run(self, variant):
        if first.pop("slow", False):
            # the Ctrl-C is sent once the first solve has started, however long loading took
            timers.append(threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)))
            timers[-1].start()
            time.sleep(1.5)
        return orig(self, variant)

    monkeypatch.setattr(S.Session, "_run", slow_run)
    # Python's own Ctrl-C handler, whatever an earlier test in this process left installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    ck = work / "ck.jsonl"
    try:
        with pytest.raises(KeyboardInterrupt):
            optimiser.sweep("plan.yaml", vary={"targets[0].at_most": [150, 140, 130]}, checkpoint=ck,
                            explain=False)
    finally:
        for t in timers:
            t.cancel()
        signal.signal(signal.SIGINT, previous)
    assert not first, "the first point's solve never ran"
    lines = [json.loads(line) for line in ck.read_text().splitlines()]
    assert [x.get("key") for x in lines[1:]] == ['{"targets[0].at_most":150}']
    assert lines[1]["record"]["objective"] == pytest.approx(184000)
