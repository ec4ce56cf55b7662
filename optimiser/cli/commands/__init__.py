"""CLI commands beyond solve/validate/verify, one module each, each a thin shell over one API call.

Every module named in :data:`COMMANDS` defines ``register(group)`` that adds its click command (of
the module's name) to the ``budgetshift`` group. The group imports a module only when its command
is run or its own ``--help`` is asked for (:class:`optimiser.cli.main.LazyGroup`); ``budgetshift --help``
lists them from the summaries here, so it imports none of them.
"""

from __future__ import annotations

import importlib

#: Each command, the module defining it being ``optimiser.cli.commands.<command>``, and its summary for
#: ``budgetshift --help``: the first sentence of its help (tests/test_startup.py checks they agree).
COMMANDS: dict[str, str] = {
    "compare": "Solve FILES (and their --scenario variants) and show them side by side.",
    "report": "Write an HTML report with plots of RESULT_DIR_OR_FILES: result folders (solve --out), a "
              "comparison folder (compare --out), or instance files (solved first).",
    "explain": "Explain the plan for FILE: what binds and what it costs at the margin, or, when no plan "
               "exists, the smallest relaxation and the conflicting constraints.",
    "sweep": "Solve FILE at every point of a grid of values (--vary) and tabulate the plans.",
    "pareto": "The least discounted cost at each level of an outcome, from the cheapest plan to the best "
              "achievable one (the outcome measured as its total over the planning years).",
    "uncertainty": "Solve samples of the uncertain fields of FILE (its 'uncertainty' section) and report the "
                   "distribution of cost and outcomes, and how often the central plan misses each target.",
    "pooling": "Solve FILE with its budget holders siloed, partially pooled (where it defines pooled funds) "
               "and fully pooled, side by side: the least cost (or best outcome), outcomes, spend by holder "
               "and sector, the value of pooling in total and per year, and the transfers between holders "
               "the pooled plans imply.",
    "evidence": "List the evidence library's presets (published prevention effects with their citations), "
                "or show preset ID (``<preset>`` or ``<preset>/<measure>``) in full with its mapping to the model.",
}
MODULES: list[str] = list(COMMANDS)


def register(group, name: str) -> None:
    """Import the module of command ``name`` and add its command to ``group``."""
    importlib.import_module(f"{__name__}.{name}").register(group)


def register_all(group) -> None:
    for name in MODULES:
        register(group, name)
