"""``budgetshift explain FILE``: why the plan is what it is, or why there is none.

A thin shell over :func:`optimiser.analyses.explain.explain`: shadow prices in planner units and the
binding constraints for an optimal plan; the smallest relaxation and the conflicting constraints
for an infeasible one. Exit 0 when it explained (optimal or infeasible: the explanation is the
answer), 3 for an invalid instance or override, 2 for a wrong option.
"""

from __future__ import annotations

import sys

import click

from ..main import EXIT_OK, THREADS, TIME_LIMIT, handle_errors, status_exit, debug_option, scenario_option, set_option


EXPLAIN_EXIT_HELP = f"""
\b
Exit status:
  {EXIT_OK}  explained: an optimal plan (prices and what binds) or an infeasible
     instance (the smallest relaxation and the conflicting constraints)
  1  unexpected internal error (a bug: please report it with --debug output)
  2  wrong command-line usage (e.g. an unknown --weight family)
  3  invalid instance file or override (every problem is listed)
  5  unbounded; 6 solver failure; 7 time limit reached (nothing to explain)
"""


def _weights(values) -> dict[str, str]:
    from formulations.elastic import FAMILIES

    out = {}
    for text in values:
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or name not in FAMILIES:
            raise click.BadParameter(f"{text!r}: expected FAMILY=WEIGHT with FAMILY one of {', '.join(FAMILIES)} "
                                     "and WEIGHT a number >= 0 or 'off'", param_hint="--weight")
        out[name] = value.strip()
    return out


def register(group) -> None:
    @group.command(epilog=EXPLAIN_EXIT_HELP)
    @click.argument("file", type=click.Path(dir_okay=False))
    @set_option
    @scenario_option
    @click.option("--weight", "weights", multiple=True, metavar="FAMILY=W",
                  help="Weight of relaxing one family when no plan exists: targets, budget, shift, capacity or "
                       "stability, per unit of relative change (default 1 each: moving any bound by 1% of its "
                       "size weighs the same); 'off' holds the family fixed. Repeatable, e.g. "
                       "--weight budget=10 --weight capacity=off.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout instead of tables.")
    @click.option("--no-alone", is_flag=True, help="Skip the relaxation of each family on its own.")
    @click.option("--no-conflict", is_flag=True, help="Skip the search for conflicting constraints.")
    @click.option("--all", "show_all", is_flag=True, help="Show every shadow price, not only binding ones.")
    @click.option("--time-limit", type=TIME_LIMIT, help="Seconds HiGHS may take for each solve.")
    @click.option("--threads", type=THREADS, help="Threads HiGHS may use.")
    @debug_option
    @handle_errors
    def explain(file, overrides, scenarios, weights, as_json, no_alone, no_conflict, show_all, time_limit, threads, debug):
        """Explain the plan for FILE: what binds and what it costs at the margin, or, when no
        plan exists, the smallest relaxation and the conflicting constraints."""
        from ...input.loading import load
        from ...analyses.explain import check_weights, explain as explain_api

        parsed = _weights(weights)
        try:
            check_weights(parsed)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--weight") from None
        inst = load(file, overrides=list(overrides), scenarios=list(scenarios))
        ex = explain_api(inst, weights=parsed, alone=not no_alone, conflict=not no_conflict,
                         time_limit=time_limit, threads=threads)
        if as_json:
            from ...output.files import to_json

            click.echo(to_json(ex.to_dict()))
        else:
            print_explanation(ex, show_all=show_all)
        from ...solving.highs import Status

        sys.exit(EXIT_OK if ex.status in (Status.OPTIMAL, Status.INFEASIBLE) else status_exit(ex.status))


# ------------------------------------------------------------------------------------------- printing
def print_explanation(ex, console=None, show_all: bool = False) -> None:
    from ...analyses.explain import precise_number as number, price as money
    from ...solving.highs import Status
    from ...output.terminal import PlannerConsole

    console = console or PlannerConsole(highlight=False, width=120)
    s = ex.summary
    colour = {Status.OPTIMAL: "green", Status.INFEASIBLE: "yellow"}.get(ex.status, "red")
    console.print(f"[bold]{s['instance']}[/bold]  ({s['source']})")
    if s.get("overrides"):
        console.print("overrides: " + ", ".join(f"{k}={v}" for k, v in s["overrides"].items()))
    console.print(f"status: [{colour}]{s['status_message']}[/{colour}]")
    if ex.status is Status.OPTIMAL:
        cur = s.get("currency", "GBP")
        if s.get("objective") is not None:
            obj = money(s["objective"], cur) if "discounted" in s["objective_unit"] and "weighted" not in \
                s["objective_unit"] else number(s["objective"])
            console.print(f"objective: {obj} ({s['objective_unit']}); every price below is in "
                          f"{s['objective_unit']} per unit of the quantity named")
        _print_optimal(ex, console, show_all)
    elif ex.status is Status.INFEASIBLE:
        _print_infeasible(ex, console)
    for note in ex.notes:
        console.print(f"[dim]{note}[/dim]")


def _missing(v) -> bool:
    import pandas as pd

    return v is None or bool(pd.isna(v))


def _table(title, columns):
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for name, right in columns:
        t.add_column(name, justify="right" if right else "left", overflow="fold")
    return t


def _effect_only(words: str) -> str:
    """The part of a sentence after the last ': ' (what one unit more does)."""
    return words.rsplit(": ", 1)[-1]


def _print_optimal(ex, console, show_all: bool) -> None:
    from ...analyses.explain import precise_number as number, price as money

    sp = ex.shadow_prices
    cur = ex.summary.get("currency", "GBP")
    if not len(sp):
        console.print("no targets, budgets, shift rules or limits to price")
        return
    from ...analyses.explain import digest

    console.print("\n[bold]Why the plan is what it is[/bold]")
    for line in digest(ex):
        console.print(f"  - {line}")

    view = sp if show_all else sp[sp["binding"] | sp["family"].isin(["targets", "budget", "shift"])]
    t = view[view["family"] == "targets"]
    if len(t):
        tab = _table("Outcome targets", [("outcome", 0), ("year", 0), ("target", 1), ("plan", 1), ("binds", 0),
                                         ("one unit tighter", 1)])
        for r in t.itertuples(index=False):
            tab.add_row(r.item, str(r.year), f"{r.bound_type.replace('_', ' ')} {number(r.bound)}", number(r.value),
                        "yes" if r.binding else "no", _effect_only(r.words) if r.binding else "-")
        console.print(tab)
    b = view[view["family"] == "budget"]
    if len(b):
        tab = _table("Budgets", [("budget", 0), ("year", 0), ("limit", 1), ("spend", 1), ("binds", 0),
                                 ("£1 more (less, for a floor)", 1)])
        for r in b.itertuples(index=False):
            what = "pooled budget" if r.constraint == "pooled_budget" else f"{r.constraint.replace('_', ' ')}: {r.item}"
            limit = money(r.bound, cur) if r.bound_type == "at_most" else f"at least {money(r.bound, cur)}"
            tab.add_row(what, str(r.year), limit, money(r.value, cur), "yes" if r.binding else "no",
                        _effect_only(r.words) if r.binding else "worth nothing at the margin")
        console.print(tab)
    sh = view[view["family"] == "shift"]
    if len(sh):
        tab = _table("Shift policies", [("policy", 0), ("year", 0), ("required", 1), ("achieved", 1), ("binds", 0),
                                        ("one more (point or £)", 1)])
        for r in sh.itertuples(index=False):
            year = "all" if _missing(r.year) else str(r.year)
            if r.constraint == "shift_share":
                req = f"{number(r.bound)} pts" if year == "all" else f"{r.bound:.2f}%"
                ach = "" if _missing(r.value) else f"{r.value:.2f}%"
            else:
                req, ach = money(r.bound, cur), ""
            tab.add_row(r.item, year, req, ach, "yes" if r.binding else "no",
                        _price(ex, r.marginal))
        console.print(tab)
    if not show_all and len(sp):
        console.print("[dim](tables of capacities, stability limits, edge shares and floors show those with a "
                      "price; --all shows every one, --json everything)[/dim]")
    for fam, title, head in (("capacity", "Capacities at their limit", "one unit more"),
                             ("stability", "Growth and shrink limits that bind", "one point more allowed"),
                             ("pathways", "Clinical edge-share bounds that bind", "one point looser"),
                             ("prevention", "Incidence floors that bind", "one point lower")):
        f = view[(view["family"] == fam)]
        if not show_all:
            f = f[f["marginal"].abs().fillna(0) > 1e-6]
        if not len(f):
            continue
        tab = _table(title, [("item", 0), ("year", 0), ("limit", 1), (head, 1)])
        for r in f.itertuples(index=False):
            year = "every year" if _missing(r.year) else str(r.year)
            limit = number(r.bound) if fam == "capacity" else f"{r.bound_type.replace('_', ' ')} {r.bound:.1f}%" \
                if fam != "pathways" else f"{r.bound_type.replace('_', ' ')} {r.bound:.0f}%"
            delta = r.marginal
            if fam in ("pathways", "prevention") and r.bound_type in ("at_least", "floor"):
                delta = -delta
            if fam == "capacity" and r.bound_type == "at_least":
                delta = -delta
            tab.add_row(r.item, year, limit, _price(ex, delta))
        console.print(tab)


def _price(ex, delta) -> str:
    from ...analyses.explain import Words

    if _missing(delta):
        return "-"
    return Words(ex.result).effect(float(delta))


def _print_infeasible(ex, console) -> None:
    from ...analyses.explain import conflict_groups, precise_number as number, price as money

    s = ex.summary
    rel = ex.relaxation
    console.print("\n[bold]What would have to change[/bold]")
    together = rel[rel["scope"] == "together"] if len(rel) else rel
    if len(together):
        console.print("The smallest relaxation (weights: " + ", ".join(
            f"{k} {'off' if v is None else f'{v:g}'}" for k, v in s.get("weights", {}).items()) + "):")
        for w in together["words"]:
            console.print(f"  - {w}")
    else:
        for line in s.get("relaxation_summary", [])[:1]:
            console.print(line)
    alone = rel[rel["scope"] != "together"] if len(rel) else rel
    status = s.get("relaxation_alone", {})
    if status or len(alone):
        console.print("Or, one family alone:")
        for fam, st in status.items():
            rows = alone[alone["scope"] == f"{fam} alone"]
            if len(rows):
                console.print(f"  [bold]{fam}[/bold]: " + "; ".join(rows["words"]))
            elif st == "impossible":
                console.print(f"  [bold]{fam}[/bold]: cannot make a plan possible on its own")
        for w in alone[alone["scope"] == "shift policy alone"]["words"]:
            console.print(f"  [bold]shift policy[/bold]: {w}")
    if len(rel):
        tab = _table("Relaxations", [("scope", 0), ("bound", 0), ("year", 0), ("now", 1), ("change", 1),
                                     ("relative", 1)])
        for r in rel.itertuples(index=False):
            year = "" if _missing(r.year) else str(r.year)
            cur = s.get("currency", "GBP")
            fmt = (lambda v: money(v, cur)) if r.unit == cur else number
            tab.add_row(r.scope, f"{r.family}: {r.item} ({r.bound_type.replace('_', ' ')})", year,
                        fmt(r.bound), f"{'+' if r.change > 0 else '-'}{fmt(abs(r.change))}"
                        + ("" if r.unit == cur else f" {r.unit}"),
                        "-" if _missing(r.relative) else f"{abs(r.relative):.1%}")
        console.print(tab)
    conflict = ex.conflict
    if len(conflict):
        grouped = conflict_groups(conflict)
        src = s.get("conflict_source", "")
        tab = _table(f"Conflicting constraints ({len(conflict)} in all; {src}): together they cannot all hold",
                     [("family", 0), ("constraint", 0), ("relaxable", 0)])
        for r in grouped.itertuples(index=False):
            tab.add_row(r.family, r.words, "yes" if r.relaxable else "no")
        console.print(tab)
