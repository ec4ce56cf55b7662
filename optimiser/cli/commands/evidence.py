"""``budgetshift evidence``: the evidence library's presets, with their citations."""

from __future__ import annotations

import sys

import click
from rich.console import Console
from ...output.terminal import PlannerConsole
from rich.markup import escape
from rich.table import Table

from ..main import EXIT_OK, EXIT_USAGE, handle_errors, debug_option


def _pct(value: float) -> str:
    return f"{value * 100:.3g}%"


def print_presets(table, console: Console) -> None:
    t = Table(title="Evidence library (use as  preset: <preset>/<measure>  on a prevention effect)",
              title_justify="left")
    for c, justify in (("preset/measure", "left"), ("reduction", "right"), ("measure", "left"),
                       ("citation", "left")):
        t.add_column(c, justify=justify, overflow="fold")
    for r in table.to_dict("records"):
        flags = (" [yellow](verify)[/yellow]" if r["verify"] else "") + (" [dim](approx.)[/dim]" if r["approximate"] else "")
        t.add_row(escape(r["reference"]), _pct(r["reduction"]), escape(r["measured"]) + flags,
                  escape(r["citation_short"]))
    console.print(t)
    console.print("[dim](verify): check the primary source before relying on it; (approx.): the mapping to "
                  "the model is approximate. `budgetshift evidence ID` shows one preset in full.[/dim]")


def print_preset(preset, measure_id: str | None, console: Console) -> None:
    c = preset.citation
    console.print(f"[bold]{escape(preset.id)}[/bold]: {escape(preset.title)}")
    for label, text in (("programme", preset.programme), ("population", preset.population),
                        ("setting", preset.setting), ("design", preset.design)):
        console.print(f"  [bold]{label}:[/bold] {escape(text)}")
    console.print(f"  [bold]citation:[/bold] {escape(c.text())}")
    if c.doi:
        console.print(f"  [bold]doi:[/bold] {escape(c.doi)}")
    if c.verify:
        console.print("  [yellow]verify: check the primary source before relying on it[/yellow]")
    if c.note:
        console.print(f"  [bold]note:[/bold] {escape(c.note)}")
    for s in preset.see_also:
        console.print(f"  [bold]see also:[/bold] {escape(s)}")
    for m in preset.measures:
        if measure_id and m.id != measure_id:
            continue
        console.print()
        console.print(f"  [bold]{escape(preset.id)}/{escape(m.id)}[/bold]: {_pct(m.reduction)} "
                      f"(reduction: {m.reduction:g})")
        console.print(f"    [bold]measured:[/bold] {escape(m.measured)}")
        console.print(f"    [bold]attach to:[/bold] {escape(m.attach_to)}")
        flag = " (approximate)" if m.approximate and not m.mapping.lower().startswith("approximate") else ""
        console.print(f"    [bold]mapping{flag}:[/bold] {escape(m.mapping)}")
        if m.verify or (m.verify is None and c.verify):
            console.print("    [yellow]verify: check the primary source before relying on it[/yellow]")
        if m.note:
            console.print(f"    [bold]note:[/bold] {escape(m.note)}")


def register(group) -> None:
    @group.command()
    @click.argument("preset_id", required=False, metavar="[ID]")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout instead of tables.")
    @debug_option
    @handle_errors
    def evidence(preset_id, as_json, debug):
        """List the evidence library's presets (published prevention effects with their citations),
        or show preset ID (``<preset>`` or ``<preset>/<measure>``) in full with its mapping to the model.

        Use one in an instance file as ``preset: <preset>/<measure>`` on a prevention effect, with
        ``full_effect_at`` (see docs/evidence.md). Exit status 0; 2 for an unknown ID.
        """
        from ...input import evidence as api
        from ...output.files import records, to_json

        if preset_id is None:
            table = api.presets()
            if as_json:
                click.echo(to_json(records(table)))
            else:
                print_presets(table, PlannerConsole(highlight=False, width=160))
            sys.exit(EXIT_OK)
        lib = api.library()
        pid, _, mid = preset_id.partition("/")
        preset = lib.preset(pid)
        if preset is None or (mid and preset.measure(mid) is None):
            click.echo(f"error: no evidence preset {preset_id!r}; known: {', '.join(lib.references())}", err=True)
            sys.exit(EXIT_USAGE)
        if as_json:
            doc = preset.model_dump()
            if mid:
                doc["measures"] = [m for m in doc["measures"] if m["id"] == mid]
            click.echo(to_json(doc))
        else:
            print_preset(preset, mid or None, PlannerConsole(highlight=False, width=120))
        sys.exit(EXIT_OK)
