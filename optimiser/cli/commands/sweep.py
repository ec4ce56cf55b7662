"""``budgetshift sweep FILE --vary PATH=START:STOP:STEP``: one plan per point of a grid of values.

A thin shell over :func:`optimiser.analyses.sweep.sweep`, with the options of every many-plans
command (:mod:`optimiser.cli.many_plans`).
"""

from __future__ import annotations

import click

from ..main import debug_option, handle_errors, scenario_option, set_option
from ..many_plans import MANY_EXIT_HELP, any_failed, output_options, print_points, run_many, run_options


def register(group) -> None:
    @group.command(epilog=MANY_EXIT_HELP)
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--vary", "vary", multiple=True, required=True, metavar="PATH=START:STOP:STEP",
                  help="A field and its values: START:STOP:STEP (STOP included when the steps reach it) or "
                       "V1,V2,... Repeatable: the points are every combination (the first --vary slowest).")
    @set_option
    @scenario_option
    @run_options
    @output_options
    @click.option("--no-explain", is_flag=True, help="Do not look for the smallest relaxation of points with no plan.")
    @debug_option
    @handle_errors
    def sweep(file, vary, overrides, scenarios, workers, backend, scheduler, checkpoint, resume, time_limit, threads,
              out_dir, overwrite, as_json, html, no_explain, debug):
        """Solve FILE at every point of a grid of values (--vary) and tabulate the plans.

        One row per point: the values, status, costs, spend by sector, sector shares, outcomes, the key
        shadow prices and, for a point with no plan, the smallest relaxation that would give one.

        \b
          budgetshift sweep kent.yaml --vary shift_policies[0].increase_pp=0:0.3:0.05 --out out/shift
          budgetshift sweep kent.yaml --vary targets[0].at_most=26700:26900:100 --vary budget.arrangement=siloed,pooled
          budgetshift sweep kent.yaml --vary ... --workers 8                # local processes
          budgetshift sweep kent.yaml --vary ... --backend dask --scheduler tcp://host:8786
        """
        from ...input.loading import load
        from ...analyses.plans import document, write
        from ...analyses.sweep import parse_vary, report_html, sweep as sweep_api

        grid = parse_vary(vary)
        inst = load(file, overrides=list(overrides), scenarios=list(scenarios))

        def compute(**kw):
            return sweep_api(inst, grid, backend=backend, workers=workers, scheduler=scheduler,
                             time_limit=time_limit, threads=threads, explain=not no_explain, **kw)

        run_many(compute, checkpoint=checkpoint, out_dir=out_dir, resume=resume, overwrite=overwrite,
                 as_json=as_json, html=html,
                 write=lambda t, d, page, ow: write(t, d, html=page, overwrite=ow),
                 document=document, report=report_html,
                 show=lambda t: print_points(t, ["point", *grid], f"Sweep of {inst.name}"), failed=any_failed,
                 inputs=[file])
