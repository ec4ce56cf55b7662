"""Every shipped instance loads under the strict reader, solves to an optimal plan and verifies
from its own tables: a quick guard that runs in the quick suite (a duplicate key merged into
instances/kent.yaml once broke the README's first command)."""

from __future__ import annotations

from pathlib import Path

import pytest

import optimiser

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "instances").rglob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_instance_solves_and_verifies(path):
    result = optimiser.solve(optimiser.load(path))
    assert result.status.name == "OPTIMAL", result.status
    check = result.verify()
    assert check.ok, check
