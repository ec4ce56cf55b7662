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

from .commands import COMMANDS, register as _register_command
from ..errors import BudgetshiftError, InstanceError
from ..output.folders import NotAResultError, OutputFolderError

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
  {EXIT_USAGE}  wrong command-line usage, or an --out folder budgetshift may not write (checked before solving)
  {EXIT_INVALID}  invalid instance file or override (every problem is listed), or not a result folder (verify)
  {EXIT_INFEASIBLE}  infeasible: no plan meets all targets, policies, budgets and capacities
  {EXIT_UNBOUNDED}  unbounded: the objective can improve without limit
  {EXIT_SOLVER}  solver failure, or a result that fails verification
  {EXIT_TIME_LIMIT}  time limit reached (the best plan found, if any, is reported)
  141  the output's reader went away before it was all written (e.g. | head)
"""


def status_exit(status) -> int:
    from ..solving.highs import Status

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


def _flush_stdout() -> bool:
    """Flush what the command printed; False when the reader had gone away and some of it was lost
    (the rest is dropped, so Python's exit does not try to write it again)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()
        return False
    return True


def echo_document(text: str) -> None:
    """Print a (possibly long) ``--json`` document on stdout, in pieces, so that a reader that goes
    away before the end (``| head -c 100``) is noticed (a broken pipe: exit 141) rather than the
    rest being lost without a word."""
    out = sys.stdout
    step = 1 << 16
    for i in range(0, len(text), step):
        out.write(text[i:i + step])
        out.flush()
    out.write("\n")
    out.flush()
    if _stdout_reader_gone():
        raise BrokenPipeError(32, "the reader of the document went away before its end")


def handle_errors(fn):
    """Turn planner-fixable errors into a short message and an exit status. Output cut short by its
    reader (``| head``, even in the last flush of a finished command, e.g. a long ``--json``
    document) exits with 141, as a shell reports a command killed by a closed pipe; output that
    all reached the pipe keeps the command's status."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = kwargs.get("debug", False)
        try:
            try:
                out = fn(*args, **kwargs)
            except SystemExit:
                if not _flush_stdout():
                    sys.exit(EXIT_READER_GONE)
                raise
            if not _flush_stdout():
                sys.exit(EXIT_READER_GONE)
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
        except (OutputFolderError, NotAResultError) as exc:
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_USAGE if isinstance(exc, OutputFolderError) else EXIT_INVALID)
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


OVERWRITE_HELP = ("Replace --out if it already exists; only a folder budgetshift wrote (it carries a "
                  ".budgetshift-result marker and nothing else of yours) is ever replaced.")


def check_out(out_dir, overwrite: bool, inputs=()) -> None:
    """Fail fast (exit 2, nothing changed) on an --out folder that cannot be written or replaced,
    before any solving; the same check runs again when the folder is written."""
    if out_dir:
        from ..output.folders import check_target

        check_target(out_dir, overwrite, inputs=[f for f in inputs if f])


def explain_hint(file, overrides, scenarios) -> str:
    """The ``budgetshift explain`` command for the same instance, shell-quoted."""
    import shlex

    words = ["budgetshift", "explain", str(file)]
    for o in overrides:
        words += ["--set", str(o)]
    for sc in scenarios:
        words += ["--scenario", str(sc)]
    return "see why: " + " ".join(shlex.quote(w) for w in words)

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


class LazyGroup(click.Group):
    """The ``budgetshift`` group: the commands of :mod:`optimiser.cli.commands` are imported only when
    one is run or its own ``--help`` is asked for; ``budgetshift --help`` lists them from their
    summaries (:data:`optimiser.cli.commands.COMMANDS`), so listing them imports none."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(COMMANDS))

    def get_command(self, ctx: click.Context, name: str):
        if name not in self.commands and name in COMMANDS:
            _register_command(self, name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        def listed(name):  # a loaded command as itself, a lazy one as a stand-in carrying its summary
            return self.commands.get(name) or click.Command(name, help=COMMANDS[name])

        commands = [(n, c) for n in self.list_commands(ctx) if not (c := listed(n)).hidden]
        if commands:
            limit = formatter.width - 6 - max(len(n) for n, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in commands])


@click.group(cls=LazyGroup, help="budgetshift: least-cost plans for shifting health and care budgets upstream "
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
@click.option("--overwrite", is_flag=True, help=OVERWRITE_HELP)
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
@handle_errors
def solve(file, overrides, scenarios, out_dir, overwrite, as_json, time_limit, threads, mip_gap, solver_log, backend,
          no_verify, debug):
    """Solve the instance FILE and print the plan."""
    from ..input.loading import load
    from ..solving.solve import solve as solve_api

    check_out(out_dir, overwrite, inputs=[file])
    inst = load(file, overrides=list(overrides), scenarios=list(scenarios))
    if solver_log:
        # HiGHS writes its log to stdout; keep stdout clean for --json
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):
            result = solve_api(inst, time_limit=time_limit, threads=threads, log=True, backend=backend,
                               mip_gap=mip_gap)
    else:
        from ..solving import progress

        with progress.shown(progress.wanted(as_json)):  # HiGHS's progress on a terminal's stderr only
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
        from ..output.files import to_json

        echo_document(to_json(doc))
    else:
        from ..output import terminal

        terminal.print_result(result, check)
        if result.status.value == "infeasible":
            click.echo(explain_hint(file, overrides, scenarios))
    code = status_exit(result.status)
    if code == EXIT_OK and check is not None and not check.ok:
        code = EXIT_SOLVER
    sys.exit(code)


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("file", type=click.Path(dir_okay=False))
@set_option
@scenario_option
@debug_option
@handle_errors
def validate(file, overrides, scenarios, debug):
    """Check FILE and list every problem at once (exit 0 only when it is valid)."""
    from ..input.loading import load

    inst = load(file, overrides=list(overrides), scenarios=list(scenarios))
    n_nodes = len(inst.nodes)
    click.echo(f"{file}: valid ({len(inst.services)} services in {len(inst.sectors)} sectors, "
               f"{len(inst.graphs)} pathways with {n_nodes} nodes, {len(inst.model.segments)} segments, "
               f"years {inst.years[0]}-{inst.years[-1]})")


@main.command(epilog=EXIT_CODES_HELP)
@click.argument("result_dir", type=click.Path(file_okay=False, exists=True))
@debug_option
@handle_errors
def verify(result_dir, debug):
    """Recompute a written plan (solve --out) from its CSV tables alone."""
    from ..output.files import read_result
    from ..solving.verify import verify_tables

    tables, summary = read_result(result_dir)
    if "status" not in summary:
        raise NotAResultError(f"{result_dir} is not a result folder (the folder solve --out writes): its "
                              "summary.json has no 'status'")
    try:
        check = verify_tables(tables, summary)
    except (KeyError, IndexError) as exc:  # a table or column a plan always has is missing
        raise NotAResultError(f"{result_dir} is not a complete result folder: {exc} is missing from its "
                              "tables (write it again with solve --out)") from None
    click.echo(str(check))
    sys.exit(EXIT_OK if check.ok else EXIT_SOLVER)


if __name__ == "__main__":  # pragma: no cover - python -m optimiser.cli.main
    # run the package's own module, the one the commands import by name
    from optimiser.cli.main import main as _main

    _main()
