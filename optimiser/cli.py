"""The ``budgetshift`` command: a thin click shell over the Python API.

Each command calls one API function and prints its answer; errors that a planner can fix are
shown as short messages (the traceback only with ``--debug``).
"""

from __future__ import annotations

import functools
import math
import os
import sys
import traceback

import click

from . import terminal
from .errors import BudgetshiftError, InstanceError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INVALID = 3
EXIT_INFEASIBLE = 4
EXIT_UNBOUNDED = 5
EXIT_SOLVER = 6
EXIT_TIME_LIMIT = 7

EXIT_CODES_HELP = f"""
\b
Exit status:
  {EXIT_OK}  optimal plan (or, for validate/verify, no problems)
  {EXIT_INTERNAL}  unexpected internal error (a bug: please report it with --debug output)
  {EXIT_USAGE}  wrong command-line usage
  {EXIT_INVALID}  invalid instance file or override (every problem is listed)
  {EXIT_INFEASIBLE}  infeasible: no plan meets all targets, policies, budgets and capacities
  {EXIT_UNBOUNDED}  unbounded: the objective can improve without limit
  {EXIT_SOLVER}  solver failure, or a result that fails verification
  {EXIT_TIME_LIMIT}  time limit reached (the best plan found, if any, is reported)
  141  the output's reader went away before it was all written (e.g. | head)
"""


def _status_exit(status) -> int:
    from .solve import Status

    return {Status.OPTIMAL: EXIT_OK, Status.INFEASIBLE: EXIT_INFEASIBLE, Status.UNBOUNDED: EXIT_UNBOUNDED,
            Status.TIME_LIMIT: EXIT_TIME_LIMIT}.get(status, EXIT_SOLVER)


EXIT_READER_GONE = 141  # 128 + SIGPIPE, as a shell reports a command whose reader went away


def _drop_stdout() -> None:
    """The reader of stdout has gone away (``budgetshift solve ... | head``): send the rest of the
    output nowhere, so that neither this command nor Python's exit tries to write it again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):  # stdout is not a file descriptor: nothing to redirect
        pass


def _stdout_reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has gone away (poll reports an error on it)."""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _flush_stdout() -> None:
    """Flush what the command printed; a reader that stopped reading is not an error."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()


def _handle_errors(fn):
    """Turn planner-fixable errors into a short message and an exit status. Output cut short by its
    reader (``| head``) keeps the command's status when the command had finished, and otherwise
    exits with 141, as a shell reports a command killed by a closed pipe."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = kwargs.get("debug", False)
        try:
            try:
                out = fn(*args, **kwargs)
            except SystemExit:
                _flush_stdout()
                raise
            _flush_stdout()
            return out
        except BrokenPipeError as exc:
            if not _stdout_reader_gone():  # a broken pipe of something else is an error like any other
                if debug:
                    traceback.print_exc()
                click.echo(f"internal error: {type(exc).__name__}: {exc}\n(run again with --debug for the "
                           "traceback, and please report it)", err=True)
                sys.exit(EXIT_INTERNAL)
            _drop_stdout()
            sys.exit(EXIT_READER_GONE)
        except InstanceError as exc:
            if debug:
                traceback.print_exc()
            click.echo(str(exc), err=True)
            sys.exit(EXIT_INVALID)
        except BudgetshiftError as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_SOLVER)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence for planners
            if debug:
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc}\n(run again with --debug for the "
                       "traceback, and please report it)", err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


class FiniteNumber(click.ParamType):
    """A finite number in a range (click's FloatRange lets NaN and infinities through)."""

    name = "number"

    def __init__(self, what: str, low: float, high: float | None = None, low_open: bool = False,
                 high_open: bool = False, whole: bool = False):
        self.what, self.low, self.high, self.low_open, self.high_open = what, low, high, low_open, high_open
        self.whole = whole
        if whole:
            self.name = "integer"

    def convert(self, value, param, ctx):
        try:
            number = int(value) if self.whole else float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a {'whole ' if self.whole else ''}number; expected {self.what}", param, ctx)
        if not math.isfinite(number) or number < self.low or (self.low_open and number == self.low) or (
                self.high is not None and (number > self.high or (self.high_open and number == self.high))):
            self.fail(f"{value!r} is not {self.what}", param, ctx)
        return number


#: --time-limit of every command that solves
TIME_LIMIT = FiniteNumber("a number of seconds > 0 (leave the option out for no limit)", 0, low_open=True)
#: --mip-gap of every command that solves
MIP_GAP = FiniteNumber("a relative gap from 0 (prove optimality) up to, but not including, 1", 0, 1,
                       high_open=True)
#: --threads of every command that solves
THREADS = FiniteNumber("a number of threads >= 1", 1, whole=True)

debug_option = click.option("--debug", is_flag=True, help="Show the full traceback on errors.")
set_option = click.option("--set", "overrides", multiple=True, metavar="PATH=VALUE",
                          help="Override one field without editing the file, e.g. "
                               "--set horizon.discount_rate=0.03 or --set services[ward].unit_cost=1800. "
                               "Repeatable.")
scenario_option = click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
                               help="Apply a scenario defined in the file's 'scenarios' section. Repeatable: "
                                    "scenarios combine (two setting the same field is an error); --set "
                                    "overrides take priority over scenarios, which take priority over the file.")


@click.group(help="budgetshift: least-cost plans for shifting health and care budgets upstream "
                  "(Pyomo + HiGHS)." + EXIT_CODES_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="budgetshift")
def main() -> None:
    pass


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@set_option
@scenario_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write every result table as CSV "
              "plus summary.json into this folder (atomically: complete or absent).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it already exists.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout instead of tables.")
@click.option("--time-limit", type=TIME_LIMIT, help="Seconds HiGHS may take.")
@click.option("--threads", type=THREADS, help="Threads HiGHS may use.")
@click.option("--mip-gap", type=MIP_GAP, help="Relative gap at which a mixed-integer solve "
              "stops (HiGHS's default 1e-4).")
@click.option("--solver-log", is_flag=True, help="Show HiGHS's own log on stderr.")
@click.option("--backend", type=click.Choice(["highs", "pyomo"]), default="highs", show_default=True,
              help="highs: pass the model straight to HiGHS; pyomo: solve the Pyomo model through Pyomo.")
@click.option("--no-verify", is_flag=True, help="Skip recomputing the plan from its tables.")
@debug_option
@_handle_errors
def solve(file, overrides, scenarios, out_dir, overwrite, as_json, time_limit, threads, mip_gap, solver_log, backend,
          no_verify, debug):
    """Solve the instance FILE and print the plan."""
    from . import load, solve as solve_api

    inst = load(file, overrides=list(overrides), scenarios=list(scenarios))
    if solver_log:
        # HiGHS writes its log to stdout; keep stdout clean for --json
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):
            result = solve_api(inst, time_limit=time_limit, threads=threads, log=True, backend=backend,
                               mip_gap=mip_gap)
    else:
        result = solve_api(inst, time_limit=time_limit, threads=threads, backend=backend, mip_gap=mip_gap)
    check = None if no_verify or not result.has_plan else result.verify()
    if out_dir:
        path = result.write(out_dir, overwrite=overwrite)
        if not as_json:
            click.echo(f"wrote {len(result.tables)} tables (CSV and results.xlsx) and summary.json to {path}", err=True)
    if as_json:
        doc = result.to_dict()
        if check is not None:
            doc["verification"] = {"ok": check.ok, "violations": [str(v) for v in check.violations]}
        from .output import to_json

        click.echo(to_json(doc))
    else:
        terminal.print_result(result, check)
    code = _status_exit(result.status)
    if code == EXIT_OK and check is not None and not check.ok:
        code = EXIT_SOLVER
    sys.exit(code)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@set_option
@scenario_option
@debug_option
@_handle_errors
def validate(file, overrides, scenarios, debug):
    """Check FILE and list every problem at once (exit 0 only when it is valid)."""
    from . import load

    inst = load(file, overrides=list(overrides), scenarios=list(scenarios))
    n_nodes = len(inst.nodes)
    click.echo(f"{file}: valid ({len(inst.services)} services in {len(inst.sectors)} sectors, "
               f"{len(inst.graphs)} pathways with {n_nodes} nodes, {len(inst.model.segments)} segments, "
               f"years {inst.years[0]}-{inst.years[-1]})")


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("result_dir", type=click.Path(file_okay=False, exists=True))
@debug_option
@_handle_errors
def verify(result_dir, debug):
    """Recompute a written plan (solve --out) from its CSV tables alone."""
    from .output import read_result
    from .verify import verify_tables

    tables, summary = read_result(result_dir)
    check = verify_tables(tables, summary)
    click.echo(str(check))
    sys.exit(EXIT_OK if check.ok else EXIT_SOLVER)


from .commands import register_all  # noqa: E402

if __name__ == "__main__":  # pragma: no cover - python -m optimiser.cli
    # run the package's own module: the commands import it by name, and registering them from this
    # copy as well would import them while they are half made
    from optimiser.cli import main as _main

    _main()
else:
    register_all(main)
