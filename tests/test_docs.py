"""The documentation stays in step with the code.

* ``docs/instance-format.md`` is generated from ``optimiser/input/schema.py``: the generator, run with
  ``--check``, must find it up to date (regenerate with ``python scripts/make_format_doc.py``).
* Every step of ``formulations.build.STEPS`` (each constraint family) must have a docstring and be
  named in ``docs/formulation.md``, so a new family without documentation fails the suite.
* The README's examples run in the order a user reads them (CLI examples, then the Python blocks)
  in a fresh folder (under ``-m slow``), and its Python blocks can run after the CLI examples and
  again.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import optimiser  # noqa: F401  (imported before formulations: see formulations/shift_policy.py)
from formulations.build import STEPS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "make_format_doc.py"
FORMULATION = ROOT / "docs" / "formulation.md"


def _qualified(fn) -> str:
    return f"{fn.__module__}.{fn.__name__}"


@pytest.mark.slow
def test_instance_format_doc_is_up_to_date():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, (
        "docs/instance-format.md is out of date: run `python scripts/make_format_doc.py`\n"
        + proc.stdout + proc.stderr)


@pytest.mark.parametrize("label, step", STEPS, ids=[label for label, _ in STEPS])
def test_every_build_step_is_documented(label, step):
    text = FORMULATION.read_text(encoding="utf-8")
    assert (step.__doc__ or "").strip(), f"{_qualified(step)} ({label!r}) has no docstring stating its maths"
    assert _qualified(step) in text, f"docs/formulation.md does not mention {_qualified(step)} ({label!r})"


def test_format_doc_example_is_a_valid_instance(tmp_path):
    """The complete example in the introduction of instance-format.md loads and solves."""
    spec = importlib.util.spec_from_file_location("make_format_doc", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "example.yaml").write_text(module.EXAMPLE_YAML, encoding="utf-8")
    for name, text in module.EXAMPLE_CSV.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    inst = optimiser.load(tmp_path / "example.yaml")
    result = optimiser.solve(inst)
    assert result.status is optimiser.Status.OPTIMAL
    assert result.verify().ok


# ------------------------------------------------------------------------------------- the README
README = ROOT / "README.md"


def readme_blocks() -> list[tuple[str, str]]:
    """The README's fenced code blocks in order: (language, text)."""
    return re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def _cli_commands(text: str) -> list[list[str]]:
    return [shlex.split(line, comments=True) for line in text.splitlines() if line.startswith("budgetshift ")]


def test_readme_python_blocks_may_run_again_and_after_the_cli_examples():
    """The README's CLI examples write result folders (``--out out/kent``) before its Python blocks
    run; a Python block that writes without ``overwrite=True`` fails when its folder exists (after
    those examples, or when the block is run a second time). Every ``.write(...)`` in a Python
    block passes ``overwrite=True``, which only ever replaces a folder budgetshift wrote."""
    blocks = readme_blocks()
    cli_out = {cmd[cmd.index("--out") + 1] for lang, text in blocks if lang != "python"
               for cmd in _cli_commands(text) if "--out" in cmd}
    writes = [call for lang, text in blocks if lang == "python" for call in re.findall(r"\.write\((.*?)\)", text)]
    assert "out/kent" in cli_out and len(writes) >= 2
    assert all("overwrite=True" in call for call in writes), writes


@pytest.mark.slow
def test_readme_runs_in_the_order_a_user_would(tmp_path, monkeypatch):
    """In a fresh folder holding the instances: every CLI example (whose input files exist) and then
    each Python block, in README order, as a user following it would (the Python blocks share one
    namespace, as in one session). CLI examples exit 0, or 4 where they show an infeasible plan."""
    import shutil

    shutil.copytree(ROOT / "instances", tmp_path / "instances")
    exe = Path(sys.executable).with_name("budgetshift")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    ran = {"cli": 0, "python": 0}
    for lang, text in readme_blocks():
        if lang == "python":
            exec(compile(text, f"README.md python block {ran['python'] + 1}", "exec"), namespace)  # noqa: S102
            ran["python"] += 1
            continue
        for cmd in _cli_commands(text):
            inputs = [a for a in cmd[2:] if a.endswith((".yaml", ".yml")) and not a.startswith("-")]
            if any(not (tmp_path / a).exists() for a in inputs) or cmd[1] in ("sweep", "pareto", "uncertainty"):
                continue  # placeholders (a.yaml, my_place.yaml) and the long many-plan runs
            proc = subprocess.run([str(exe), *cmd[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=900)
            assert proc.returncode in (0, 4), f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}"
            assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
            ran["cli"] += 1
    assert ran["python"] >= 2 and ran["cli"] >= 10
    assert namespace["result"].status is optimiser.Status.OPTIMAL
