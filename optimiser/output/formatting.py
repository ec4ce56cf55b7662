"""How budgetshift writes numbers, money, names, outcomes and colours for a planner: one place for
the terminal, the HTML reports and the comparison, so the same figure reads the same everywhere.

**The sign rule** (one for every figure): a negative amount always shows its minus sign, in front
of the currency symbol (``-£4.30m``); a positive amount shows a ``+`` only when it is a
*difference* (``signed=True``: ``+£3.41m``, used for "against the first run" and net transfers);
a figure that rounds to zero is never written ``-0`` (``£0``); a missing figure (None, NaN) is ``-``.

Money is scaled to thousands, millions or billions (``£612``, ``£2.40k``, ``£2.40m``, ``£28.06bn``,
two decimals once scaled); a currency without a symbol is named after the figure (``2.40m NOK``).
Plots use the same steps for their axes (:func:`money_scale`: ``£bn``), never plotly's SI
prefixes (``11.2B``, where B would read as billions of what?).

Nothing here imports pandas or plotly: the terminal pays nothing for it.
"""

from __future__ import annotations

import math
import re
import zlib
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import numpy as np

#: currency code -> symbol written before the figure; other currencies are named after it
SYMBOL = {"GBP": "£", "USD": "$", "EUR": "€"}

#: the steps money is scaled by (largest first)
MONEY_STEPS = ((1e9, "bn"), (1e6, "m"), (1e3, "k"))


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return math.isnan(float(v))
    except (TypeError, ValueError):
        return False


def _with_sign(v: float, text: str, signed: bool) -> str:
    """``text`` (the figure without sign) with the sign the rule gives ``v``."""
    if not any(ch in "123456789" for ch in text):  # rounds to zero: no "-0", no "+0"
        return text
    if v < 0:
        return "-" + text
    return ("+" + text) if signed and v > 0 else text


def money(v: Any, currency: str = "GBP", signed: bool = False, precise: bool = False) -> str:
    """A sum of money: ``£28.06bn``, ``-£4.30m``, ``£612``; ``signed`` puts ``+`` on a positive
    difference; ``precise`` keeps pence below £100 (``£0.76``, ``£0.0123``: a price per unit)."""
    if _missing(v):
        return "-"
    v = float(v) + 0.0
    sym = SYMBOL.get(currency, "")
    tail = "" if sym or not currency else f" {currency}"
    a = abs(v)
    for div, suffix in MONEY_STEPS:
        if a >= div or (div > 1e3 and round(a / div * 1e3, 2) >= 1e3):  # £999,999 is £1.00m, not £1,000.00k
            return _with_sign(v, f"{sym}{a / div:,.2f}{suffix}{tail}", signed)
    if not precise or a >= 100:
        body = f"{a:,.0f}"
    elif a >= 1:
        body = f"{a:,.2f}"
    elif a == 0:
        body = "0"
    else:
        body = f"{a:.3g}"
    return _with_sign(v, f"{sym}{body}{tail}", signed)


def number(v: Any, signed: bool = False, precise: bool = False) -> str:
    """A count or measure: whole numbers from 100 up (``26,800``), three significant figures below
    (``37.3``, ``0.052``); ``precise`` gives two decimals from 1 to 100 without trailing zeros
    (``12.35``, ``1.5``). The sign rule of the module docstring."""
    if _missing(v):
        return "-"
    v = float(v) + 0.0
    a = abs(v)
    if a >= 100:
        body = f"{a:,.0f}"
    elif precise and a >= 1:
        body = f"{a:,.2f}".rstrip("0").rstrip(".")
    else:
        body = f"{a:,.3g}"
    return _with_sign(v, body, signed)


def percent(v: Any, digits: int = 1) -> str:
    """A share as a percentage: ``0.0252`` -> ``2.5%``."""
    return "-" if _missing(v) else f"{float(v) + 0.0:.{digits}%}"


def points(v: Any, digits: int = 2) -> str:
    """A difference of two shares in percentage points, always signed: ``0.004`` -> ``+0.40 pp``."""
    return "-" if _missing(v) else f"{float(v) * 100 + 0.0:+.{digits}f} pp"


def money_unit(currency: str, suffix: str = "") -> str:
    """The unit of an axis or column of money: ``£bn``, ``£m``, ``£``; ``NOK bn`` without a symbol."""
    sym = SYMBOL.get(currency)
    if sym:
        return f"{sym}{suffix}"
    return f"{currency} {suffix}".strip()


def money_scale(values: Iterable[Any], currency: str = "GBP") -> tuple[float, str]:
    """A divisor and unit for plotting money, from the largest magnitude among ``values``:
    ``(1e9, "£bn")`` for billions, ``(1e6, "£m")``, ``(1e3, "£k")``, ``(1.0, "£")``."""
    top = 0.0
    for v in values:
        if not _missing(v):
            try:
                top = max(top, abs(float(v)))
            except (TypeError, ValueError):
                continue
    for div, suffix in MONEY_STEPS:
        if top >= div:
            return div, money_unit(currency, suffix)
    return 1.0, money_unit(currency)


# ============================================================================ names in planner words

#: words written in capitals (or their own way) when a snake_case name is put into words
ACRONYMS = {"nhs": "NHS", "icb": "ICB", "ics": "ICS", "gp": "GP", "ae": "A&E", "cvd": "CVD", "copd": "COPD",
            "qalys": "QALYs", "qaly": "QALY", "uk": "UK", "mh": "MH", "chc": "CHC"}


def words(name: Any) -> str:
    """A snake_case name in planner words: ``"emergency_admission"`` -> ``"Emergency admission"``,
    ``"nhs_icb"`` -> ``"NHS ICB"``, ``"ae_attendance"`` -> ``"A&E attendance"``. Text that is
    not one identifier (has spaces already) is left as it is."""
    text = str(name)
    if not re.fullmatch(r"[A-Za-z0-9_\-]+", text):
        return text
    parts = [p for p in re.split(r"[_\-]+", text) if p]
    if not parts:
        return text
    out = [ACRONYMS.get(p.lower(), p.lower() if p.islower() else p) for p in parts]
    first = out[0]
    if first == parts[0].lower():
        out[0] = first[:1].upper() + first[1:]
    return " ".join(out)


# ============================================================================ outcomes

class OutcomeView:
    """How one outcome is shown to a planner: its name in words and the sign of its figures.

    An outcome that is better when higher and whose figures are all at or below zero is a *loss*
    written as a negative change (Kent's ``qalys``: "QALY change against not having the event,
    negative: QALYs lost"). It is shown as that loss, positive: ``QALYs lost``, each figure times
    -1, an ``at least`` target becoming an ``at most`` one. Every other outcome keeps its sign and
    is named in words with its unit (``Emergency admissions (admissions)``). The tables (CSV, JSON,
    Excel) keep the model's own signs; only what is shown changes.
    """

    def __init__(self, name: str, unit: str = "", direction: str = "lower_is_better",
                 values: Iterable[Any] = ()):
        self.name = str(name)
        self.unit = str(unit or "") if not _missing(unit) else ""
        self.direction = str(direction or "lower_is_better")
        finite = [float(v) for v in values if not _missing(v)]
        self.as_loss = (self.direction == "higher_is_better" and bool(finite)
                        and all(v <= 0 for v in finite) and any(v < 0 for v in finite))
        self.factor = -1.0 if self.as_loss else 1.0

    @property
    def label(self) -> str:
        """The outcome's heading: ``QALYs lost``, ``Emergency admissions (admissions)``."""
        if self.as_loss:
            return f"{self.unit or words(self.name)} lost"
        said = words(self.name).lower()
        unit = f" ({self.unit})" if self.unit and not said.endswith(self.unit.lower()) else ""
        return f"{words(self.name)}{unit}"

    @property
    def better(self) -> str:
        """Which way is better, in words, for the figures as shown."""
        higher = (self.direction == "higher_is_better") != self.as_loss
        return "higher is better" if higher else "lower is better"

    @property
    def note(self) -> str:
        """One line saying how the figures relate to the model's (empty when they are the same)."""
        if not self.as_loss:
            return ""
        return (f"{self.label} = minus the outcome {self.name!r} (a change in {self.unit or 'units'}, negative "
                "when lost; higher is better): shown as the loss, positive, so lower is better")

    def value(self, v: Any) -> Any:
        """A figure of the outcome as shown."""
        return v if _missing(v) else float(v) * self.factor + 0.0

    def targets(self, at_least: Any, at_most: Any) -> tuple[Any, Any]:
        """(at least, at most) as shown: a loss swaps the sides."""
        if self.as_loss:
            return self.value(at_most), self.value(at_least)
        return at_least, at_most


def outcome_views(frame) -> dict[str, OutcomeView]:
    """An :class:`OutcomeView` per outcome of an ``outcomes`` table (columns outcome, unit,
    direction, value, at_least, at_most; direction optional)."""
    views = {}
    if frame is None or not len(frame):
        return views
    cols = set(frame.columns)
    for name, g in frame.groupby("outcome", sort=False):
        values = list(g["value"])
        for c in ("at_least", "at_most"):
            if c in cols:
                values += list(g[c])
        views[str(name)] = OutcomeView(
            name, g["unit"].iloc[0] if "unit" in cols else "",
            g["direction"].iloc[0] if "direction" in cols else "lower_is_better", values)
    return views


def present_outcomes(tidy, views: dict[str, OutcomeView]):
    """A comparison's tidy outcomes (outcome, year, quantity, unit, value, difference,
    difference_pct) as a planner reads them: each outcome named by its view in ``views`` (from
    :func:`outcome_views` of the runs' outcomes tables: ``QALYs lost``), a loss's figures and
    differences times -1 and its targets' sides swapped. A copy: the table itself (and its CSV)
    keeps the model's signs."""
    if tidy is None or not len(tidy):
        return tidy
    out = tidy.copy()
    factor = out["outcome"].map(lambda o: views[str(o)].factor if str(o) in views else 1.0).astype(float)
    for c in ("value", "difference", "difference_pct"):
        if c in out:
            out[c] = out[c].astype(float) * factor + 0.0
    loss = (factor < 0).to_numpy()
    swap = {"target (at most)": "target (at least)", "target (at least)": "target (at most)"}
    if "quantity" in out:
        out.loc[loss, "quantity"] = out.loc[loss, "quantity"].map(lambda q: swap.get(q, q))
    out["outcome"] = out["outcome"].map(lambda o: views[str(o)].label if str(o) in views else words(o))
    if "unit" in out and loss.any():
        out["unit"] = out["unit"].astype(object)
        out.loc[loss, "unit"] = ""
    return out


# ============================================================================ colours

#: one colour per sector, the same in every report and plot; other sectors get a colour from
#: :data:`EXTRA` by their name (not by their order), so two reports agree on them too
SECTOR_COLOURS = {"prevention": "#2ca02c", "primary_community": "#1f77b4", "community": "#1f77b4",
                  "primary": "#17becf", "acute": "#d62728", "social_care": "#9467bd",
                  "mental_health": "#ff7f0e"}
EXTRA = ["#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5",
         "#c49c94"]
#: runs of a comparison, points of a sweep: in order, first run first
RUN_COLOURS = ["#1f3b73", "#e07b39", "#3a9d8f", "#b5446e", "#7a6c5d", "#6b8e23", "#8e7cc3", "#c9a227",
               "#4f81bd", "#9e480e"]
#: source and sink (outcome) nodes of a pathway
KIND_COLOURS = {"source": "#7f7f7f", "sink": "#6b6b47"}
#: targets drawn beside an outcome
TARGET_COLOURS = {"at_most": "#b42318", "at_least": "#1a7f37"}


def sector_colour(sector: Any) -> str:
    """The colour of a sector, fixed by its name."""
    s = str(sector)
    return SECTOR_COLOURS.get(s) or EXTRA[zlib.crc32(s.encode()) % len(EXTRA)]


def run_colour(i: int) -> str:
    """The colour of the ``i``-th run (0: the first, the one the others are compared with)."""
    return RUN_COLOURS[i % len(RUN_COLOURS)]


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def differences(values, first) -> tuple[np.ndarray, np.ndarray]:
    """``values - first`` and the same in per cent of ``|first|`` (NaN where ``first`` is 0 or
    missing). A difference within 1e-9 of the values' size is rounding in the solver: it is 0."""
    import numpy as np
    import pandas as pd

    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    f = pd.to_numeric(pd.Series(first), errors="coerce").to_numpy(dtype=float)
    d = v - f
    with np.errstate(invalid="ignore"):
        d = np.where(np.abs(d) <= 1e-9 * np.maximum(np.abs(v), np.abs(f)), 0.0, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(np.abs(f) > 0, 100.0 * d / np.abs(f), np.nan)
    return d, pct
