"""``budgetshift pareto FILE --outcome NAME``: the cost–outcome frontier (epsilon-constraint).

A thin shell over :func:`optimiser.analyses.pareto.pareto`; options as for ``sweep``.
"""

from __future__ import annotations

import click

from ..main import handle_errors, debug_option, scenario_option, set_option
from ..many_plans import MANY_EXIT_HELP, any_failed, print_points, output_options, run_many, run_options


def register(group) -> None:
    @group.command(epilog=MANY_EXIT_HELP)
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--outcome", required=True, metavar="NAME", help="The outcome traded against cost.")
    @click.option("--points", type=click.IntRange(min=2), default=11, show_default=True,
                  help="Points on the frontier, from the cheapest plan to the best achievable outcome.")
    @set_option
    @scenario_option
    @run_options
    @output_options
    @debug_option
    @handle_errors
    def pareto(file, outcome, points, overrides, scenarios, workers, backend, scheduler, checkpoint, resume,
               time_limit, threads, out_dir, overwrite, as_json, html, debug):
        """The least discounted cost at each level of an outcome, from the cheapest plan to the best
        achievable one (the outcome measured as its total over the planning years).

        One row per point: the level, the outcome reached, the costs, spend by sector (over the
        horizon and per year), sector shares, the marginal cost from the previous point and the
        frontier's slope there (the level's shadow price).

        \b
          budgetshift pareto kent.yaml --outcome emergency_admissions --points 11 --out out/frontier
        """
        from ...input.loading import load
        from ...analyses.pareto import pareto as pareto_api, plan_table, report_html
        from ...analyses.plans import document, write

        inst = load(file, overrides=list(overrides), scenarios=list(scenarios))

        def compute(**kw):
            return pareto_api(inst, outcome, points=points, backend=backend, workers=workers, scheduler=scheduler,
                              time_limit=time_limit, threads=threads, **kw)

        def show(t):
            unit = t.attrs.get("outcome_unit") or "unit"
            print_points(t, ["point", "outcome_total", "marginal_cost"],
                         f"Cost against {outcome} (total over the years; marginal cost per {unit})")

        run_many(compute, checkpoint=checkpoint, out_dir=out_dir, resume=resume, overwrite=overwrite,
                 as_json=as_json, html=html,
                 write=lambda t, d, page, ow: write(t, d, tables={"plans": plan_table(t)}, html=page, overwrite=ow),
                 document=lambda t: document(t, {"plans": plan_table(t)}, name="frontier"),
                 report=report_html, show=show, failed=any_failed, inputs=[file])
