"""``budgetshift report``: a self-contained HTML report with plots of written results."""

from __future__ import annotations

import click

from ..main import EXIT_CODES_HELP, handle_errors, debug_option


def register(group) -> None:
    @group.command(epilog=EXIT_CODES_HELP)
    @click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True), metavar="RESULT_DIR_OR_FILES...")
    @click.option("--html", "html", required=True, type=click.Path(dir_okay=False),
                  help="The HTML file to write (self-contained: it opens without network access).")
    @click.option("--title", help="Title of the report (default: from the runs).")
    @debug_option
    @handle_errors
    def report(sources, html, title, debug):
        """Write an HTML report with plots of RESULT_DIR_OR_FILES: result folders (solve --out), a
        comparison folder (compare --out), or instance files (solved first). Several sources are
        shown side by side."""
        from ...analyses.report_sources import write_report

        src = sources[0] if len(sources) == 1 else list(sources)
        path = write_report(src, html, title=title)
        size = path.stat().st_size / 1024
        click.echo(f"wrote {path} ({size:,.0f} KB)", err=True)
