"""Start-up stays light: ``import optimiser`` and ``budgetshift --help`` load none of the numerical
stack, and the command list shows each command's own summary. (Times are measured by
scripts/bench_startup.py, not here: a timed test on a shared machine would only be noisy.)"""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

HEAVY = ("pandas", "numpy", "scipy", "networkx", "pydantic", "highspy", "pyomo", "plotly", "openpyxl", "dask",
         "rich", "formulations", "optimiser.cli.commands.compare")


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return {m for m in out if any(m == h or m.startswith(h + ".") for h in HEAVY)}


def test_import_optimiser_loads_nothing_heavy():
    assert _loaded_after("import optimiser") == set()


def test_help_loads_nothing_heavy():
    code = ("import sys\nfrom optimiser.cli.main import main\nsys.argv = ['budgetshift', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    assert _loaded_after(code) == set()


def test_the_public_api_is_all_there_and_its_functions_are_functions():
    import optimiser
    # the modules that define them, imported first: a module must never replace the function
    import optimiser.analyses.compare, optimiser.analyses.explain, optimiser.analyses.pareto  # noqa: F401,E401
    import optimiser.analyses.pooling, optimiser.analyses.sweep, optimiser.analyses.uncertainty  # noqa: F401,E401
    import optimiser.solving.solve  # noqa: F401

    for name in optimiser.__all__:
        assert getattr(optimiser, name) is not None
    for name in ("solve", "compare", "explain", "sweep", "pareto", "pooling", "uncertainty"):
        assert callable(getattr(optimiser, name)) and not isinstance(getattr(optimiser, name), type(optimiser)), name


@pytest.mark.parametrize("width", [60, 80, 120])
def test_lazy_command_summaries_match_the_commands(width):
    """The list in ``budgetshift --help`` (from optimiser.cli.commands.COMMANDS) reads as each command's
    own short help would."""
    from optimiser.cli.main import main
    from optimiser.cli.commands import COMMANDS

    ctx = click.Context(main)
    limit = width - 6 - max(len(n) for n in main.list_commands(ctx))
    for name, summary in COMMANDS.items():
        real = main.get_command(ctx, name)
        assert real is not None and real.name == name
        assert click.Command(name, help=summary).get_short_help_str(limit) == real.get_short_help_str(limit), name
