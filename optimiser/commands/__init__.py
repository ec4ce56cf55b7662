"""CLI commands beyond solve/validate/verify, one module each, each a thin shell over one API call.

Every module listed in :data:`MODULES` defines ``register(group)`` that adds its click command(s)
to the ``budgetshift`` group.
"""

from __future__ import annotations

import importlib

MODULES: list[str] = ["compare", "report", "explain", "sweep", "pareto", "uncertainty", "pooling", "evidence"]


def register_all(group) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(group)
