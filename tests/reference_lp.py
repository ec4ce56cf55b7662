"""Building blocks of the independent reference formulation (tests/reference_mip.py): reading
yearly series, share bounds and response curves from the RAW instance mapping, and a plain
row-by-row container of rows and columns (solved in tests/reference_mip.py with
``scipy.optimize.milp``). They share no
code with ``optimiser`` or ``formulations``.

The reference model itself lives in tests/reference_mip.py: one formulation for LP and MIP
instances alike (an instance without integer features is a pure LP there).
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix


# ----------------------------------------------------------------------------- helpers

def year_values(spec, years, base_year):
    """Expand a YearValues field (number / {year: value} / {value, growth}) over ``years``."""
    out = {}
    if spec is None:
        return None
    if isinstance(spec, dict) and "value" in spec:
        v = float(spec["value"])
        g = float(spec.get("growth", 0.0))
        for y in years:
            out[y] = v * (1.0 + g) ** (y - base_year)
    elif isinstance(spec, dict):
        by_year = {int(k): float(v) for k, v in spec.items()}
        for y in years:
            out[y] = by_year[y]
    else:
        for y in years:
            out[y] = float(spec)
    return out


def share_bounds(share):
    if isinstance(share, (list, tuple)):
        return float(share[0]), float(share[1])
    return float(share), float(share)


def curve_value(points, x):
    """Piecewise-linear interpolation of [[x, y], ...], flat beyond the last point."""
    if x >= points[-1][0]:
        return float(points[-1][1])
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 <= x <= x1:
            return float(y0) + (float(y1) - float(y0)) * (x - float(x0)) / (float(x1) - float(x0))
    return float(points[0][1])


class LP:
    """Collects named variables and rows as plain dicts (the solve is in tests/reference_mip.py)."""

    def __init__(self):
        self.index = {}      # key -> column
        self.lower = []
        self.upper = []
        self.cost = []
        self.ub_rows = []    # (coeffs dict col->value, rhs): sum <= rhs
        self.eq_rows = []    # (coeffs dict col->value, rhs): sum == rhs

    def var(self, key, lb=0.0, ub=None):
        assert key not in self.index, key
        self.index[key] = len(self.lower)
        self.lower.append(lb)
        self.upper.append(ub)
        self.cost.append(0.0)
        return self.index[key]

    def col(self, key):
        return self.index[key]

    @staticmethod
    def _clean(coeffs):
        return {c: v for c, v in coeffs.items() if v != 0.0}

    def le(self, coeffs, rhs):
        self.ub_rows.append((self._clean(coeffs), float(rhs)))

    def ge(self, coeffs, rhs):
        self.ub_rows.append(({c: -v for c, v in self._clean(coeffs).items()}, -float(rhs)))

    def eq(self, coeffs, rhs):
        self.eq_rows.append((self._clean(coeffs), float(rhs)))

    def _matrix(self, rows):
        r, c, v, b = [], [], [], []
        for i, (coeffs, rhs) in enumerate(rows):
            for col, val in coeffs.items():
                r.append(i)
                c.append(col)
                v.append(val)
            b.append(rhs)
        if not rows:
            return None, None
        a = coo_matrix((v, (r, c)), shape=(len(rows), len(self.lower))).tocsr()
        return a, np.array(b)


def add_to(coeffs, col, value):
    coeffs[col] = coeffs.get(col, 0.0) + value
