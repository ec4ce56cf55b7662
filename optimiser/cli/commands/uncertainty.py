"""``budgetshift uncertainty FILE --samples N --seed S``: plans under sampled inputs, and how the
central plan fares across them.

A thin shell over :func:`optimiser.analyses.uncertainty.uncertainty` (the distributions come from the
file's ``uncertainty`` section); options as for ``sweep``.
"""

from __future__ import annotations

import click

from ..main import handle_errors, debug_option, scenario_option, set_option
from ..many_plans import MANY_EXIT_HELP, any_failed, fmt, output_options, run_many, run_options


def show(table) -> None:
    from ...output.terminal import PlannerConsole
    from rich.markup import escape
    from rich.table import Table

    from ...analyses.uncertainty import central_summary, quantiles

    cur = table.attrs.get("currency", "GBP")
    console = PlannerConsole(highlight=False, width=200)
    a = table.attrs
    console.print(f"{a.get('samples')} samples of {a.get('instance')} (seed {a.get('seed')}): "
                  + ", ".join(f"{v} {k}" for k, v in table["status"].value_counts(sort=False).items()))
    q = quantiles(table)
    t = Table(title="Distribution over the samples (optimal plan of each sample; central plan held fixed)",
              title_justify="left")
    for c in q.columns:
        t.add_column(c, justify="left" if c == "quantity" else "right")
    for r in q.to_dict("records"):
        money = "cost" in r["quantity"] or "regret" in r["quantity"]
        t.add_row(escape(r["quantity"]), str(r["samples"]), *[fmt(r[c], money, cur) for c in q.columns[2:]])
    console.print(t)
    cs = central_summary(table)
    if len(cs):
        t = Table(title=f"The central plan ({a.get('central')}) across the samples", title_justify="left")
        for c in ("check", "missed", "share of samples", "mean excess when missed", "largest", "unit"):
            t.add_column(c, justify="left" if c in ("check", "unit") else "right")
        for r in cs.to_dict("records"):
            t.add_row(escape(r["check"]), str(r["missed"]), f"{r['missed_share']:.1%}",
                      fmt(r["mean_when_missed"]), fmt(r["max"]), escape(str(r["unit"])))
        console.print(t)
    elif a.get("central_plan_status") not in (None, "optimal"):
        console.print(f"the central plan is {a.get('central_plan_status')}: nothing to hold fixed")
    run = a.get("run", {})
    console.print(f"[dim]solved on {run.get('backend')} with {run.get('workers')} worker(s) in {run.get('seconds')} s "
                  f"({run.get('resumed')} from the checkpoint, {run.get('failed')} failed); every sample is in the "
                  "--out tables or --json[/dim]")


def register(group) -> None:
    @group.command(epilog=MANY_EXIT_HELP)
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--samples", type=click.IntRange(min=1), default=100, show_default=True, help="Samples to draw.")
    @click.option("--seed", type=int, default=0, show_default=True, help="Random seed (the same seed, the same table).")
    @click.option("--central", type=click.Choice(["file", "mean"]), default="file", show_default=True,
                  help="The central plan: the optimal plan with the file's own values, or with every uncertain "
                       "field at its distribution's mean.")
    @click.option("--no-central", is_flag=True, help="Do not check the central plan against the samples.")
    @set_option
    @scenario_option
    @run_options
    @output_options
    @debug_option
    @handle_errors
    def uncertainty(file, samples, seed, central, no_central, overrides, scenarios, workers, backend, scheduler,
                    checkpoint, resume, time_limit, threads, out_dir, overwrite, as_json, html, debug):
        """Solve samples of the uncertain fields of FILE (its 'uncertainty' section) and report the
        distribution of cost and outcomes, and how often the central plan misses each target.

        \b
          budgetshift uncertainty kent.yaml --samples 500 --seed 1 --workers 4 --out out/unc
        """
        from ...input.loading import load
        from ...analyses.plans import document, write
        from ...analyses.uncertainty import central_summary, quantiles, report_html, uncertainty as uncertainty_api

        inst = load(file, overrides=list(overrides), scenarios=list(scenarios))

        def compute(**kw):
            return uncertainty_api(inst, samples=samples, seed=seed, central=central, check_central=not no_central,
                                   backend=backend, workers=workers, scheduler=scheduler, time_limit=time_limit,
                                   threads=threads, **kw)

        def extra(t):
            return {"quantiles": quantiles(t), "central": central_summary(t)}

        run_many(compute, checkpoint=checkpoint, out_dir=out_dir, resume=resume, overwrite=overwrite,
                 as_json=as_json, html=html,
                 write=lambda t, d, page, ow: write(t, d, tables=extra(t), html=page, overwrite=ow),
                 document=lambda t: document(t, extra(t), name="samples"),
                 report=report_html, show=show, failed=any_failed, inputs=[file])
