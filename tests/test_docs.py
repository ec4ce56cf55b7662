"""The documentation stays in step with the code.

* ``docs/instance-format.md`` is generated from ``optimiser/schema.py``: the generator, run with
  ``--check``, must find it up to date (regenerate with ``python scripts/make_format_doc.py``).
* Every step of ``formulations.build.STEPS`` (each constraint family) must have a docstring and be
  named in ``docs/formulation.md``, so a new family without documentation fails the suite.
"""

from __future__ import annotations

import importlib.util
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
