"""The building blocks of every HTML page budgetshift writes (the plan and comparison report, and
the sweep, Pareto, pooling and uncertainty reports): one style sheet, one plotly template, one
table, one figure, one page. Figures are written with :mod:`optimiser.output.formatting`'s numbers and
colours, so a sector has one colour and money one look in every page.

A page needs no network: plotly's JavaScript is inlined once in its head.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from .formatting import RUN_COLOURS, percent, points

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 1.5rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.5rem; border-bottom: 2px solid #ddd; }
h3 { margin-top: 1.8rem; } p.meta { color: #555; margin-top: 0; }
nav ul { columns: 2; } figure { margin: 1rem 0 2rem; } figcaption { color: #555; font-size: .9rem; }
div.table { overflow-x: auto; max-width: 100%; margin: .5rem 0 1.5rem; }
table.bs { border-collapse: collapse; font-size: .85rem; white-space: nowrap; }
table.bs th, table.bs td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: right; }
table.bs th { background: #f4f4f4; position: sticky; top: 0; }
table.bs td.key, table.bs th.key { text-align: left; }
table.bs td.text { text-align: left; white-space: normal; min-width: 20rem; }
.status-optimal { color: #1a7f37; font-weight: 600; } .status-other { color: #b42318; font-weight: 600; }
.diff-pos { color: #1a4f9f; } .diff-neg { color: #b54708; } .note { color: #555; }
"""

#: the height of a figure when it sets none (pixels)
DEFAULT_HEIGHT = 440


def template():
    """The plotly template of every figure (a small one: plotly's default would be repeated in
    every figure of the page). Runs take :data:`~optimiser.output.formatting.RUN_COLOURS` in order."""
    import plotly.graph_objects as go

    return go.layout.Template(layout=dict(
        font=dict(family="system-ui, Segoe UI, Roboto, Helvetica, Arial, sans-serif", size=12),
        colorway=RUN_COLOURS, plot_bgcolor="#fafafa", paper_bgcolor="white",
        xaxis=dict(gridcolor="#e5e5e5", zeroline=False, automargin=True),
        yaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#bbb", automargin=True),
        margin=dict(l=80, r=40, t=70, b=60), legend=dict(orientation="h", y=-0.18),
        title=dict(x=0.0, xanchor="left", y=0.98, yanchor="top")))


# ----------------------------------------------------------------------------- tables

def cell(value: Any, header: str = "") -> tuple[str, str]:
    """Text and CSS class of one table cell. The header says how to read a number: ``Δ...``
    is a difference (signed, coloured), ``Δ%`` a percentage difference, ``(fraction)`` a share,
    ``Year`` a year; other numbers are whole from 1,000 up and four significant figures below."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–", ""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return ("yes" if value else "no"), ""
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            v = float(value) + 0.0  # no "-0"
        except (TypeError, ValueError):
            return html.escape(str(value)), ""
        if math.isnan(v):
            return "–", ""
        diff = header.startswith("Δ")
        cls = ("diff-pos" if v > 0 else "diff-neg" if v < 0 else "") if diff else ""
        if header.startswith("Δ%"):
            return f"{v:+.2f}%", cls
        if "(fraction)" in header:
            return (points(v) if diff else percent(v, 2)), cls
        if header.startswith("Year") or header == "year":
            return f"{v:.0f}", cls
        if v.is_integer() or abs(v) >= 1000:
            text = f"{abs(v):,.0f}"
        else:
            text = f"{abs(v):,.4g}"
        if text.strip("0.,") == "":
            return text, cls
        return ("-" if v < 0 else "+" if diff and v > 0 else "") + text, cls
    text = str(value)
    return html.escape(text), ("text" if len(text) > 40 else "")


def table(df, keys: int = 1, max_rows: int = 400, columns: Sequence[str] | None = None) -> str:
    """A data frame as an HTML table that scrolls sideways when wider than the page; the first
    ``keys`` columns are row labels (left-aligned). Only the first ``max_rows`` rows are shown."""
    if df is None or not len(df):
        return '<p class="note">(no rows)</p>'
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    out = ['<div class="table"><table class="bs"><thead><tr>']
    out += [f'<th class="{"key" if j < keys else ""}">{html.escape(str(c))}</th>' for j, c in enumerate(cols)]
    out.append("</tr></thead><tbody>")
    for row in df[cols].head(max_rows).itertuples(index=False, name=None):
        out.append("<tr>")
        for j, (c, v) in enumerate(zip(cols, row)):
            text, cls = cell(v, str(c))
            if j < keys:
                cls = (cls + " key").strip()
            if str(c) in ("Status", "status"):
                cls = "status-optimal" if v == "optimal" else "status-other"
            out.append(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    if len(df) > max_rows:
        out.append(f'<p class="note">first {max_rows} of {len(df)} rows (all are in the CSV/Excel export)</p>')
    return "".join(out)


# ----------------------------------------------------------------------------- figures and pages

def figure(fig_id: str, caption: str, fig) -> str:
    """One plotly figure with its caption, in the house template."""
    fig.update_layout(template=template())
    height = int(fig.layout.height or DEFAULT_HEIGHT)
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"plot-{fig_id}", default_height=f"{height}px",
                      default_width="100%", config={"displaylogo": False, "responsive": True})
    return (f'<figure class="bs-plot" data-plot="plot-{html.escape(fig_id)}">{div}'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def document(title: str, body: Sequence[str]) -> str:
    """A whole self-contained HTML document: the style sheet, plotly's JavaScript inlined once,
    then ``body`` (HTML fragments, in order)."""
    import plotly
    from plotly.offline import get_plotlyjs

    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{html.escape(title)}"
            f"</title><style>{CSS}</style><script type=\"text/javascript\">/* plotly.js {plotly.__version__} "
            f"(inlined: the page needs no network) */\n{get_plotlyjs()}</script></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def page(title: str, meta_lines: Sequence[str], figures: Sequence[tuple[str, Any]],
         tables: Sequence[tuple[str, str]]) -> str:
    """The page of a many-plans report: a title, lines about the run, the figures (caption,
    plotly figure) and the tables (heading, HTML from :func:`table`)."""
    body = [f"<h1>{html.escape(title)}</h1>",
            '<p class="meta">' + "<br>".join(html.escape(m) for m in meta_lines) + "</p>"]
    body += [figure(str(k), caption, fig) for k, (caption, fig) in enumerate(figures)]
    body += [f"<h2>{html.escape(heading)}</h2>{table_html}" for heading, table_html in tables]
    return document(title, body)


__all__ = ["CSS", "cell", "document", "figure", "page", "table", "template"]


def write_page(text: str, path: str | Path) -> Path:
    """Write an HTML page to ``path`` atomically (a temporary file beside it, renamed over it), with
    the permissions a new file gets under the process's umask. Returns the absolute path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path.resolve()
