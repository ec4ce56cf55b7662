"""The mathematics of budgetshift: one module per block of the model, one function per
constraint family (its maths in its docstring), assembled in order by :func:`build.build`.

The model is stated once as labelled sparse blocks (:mod:`formulations.lp`) and emitted either
straight into HiGHS or as a Pyomo model (:mod:`formulations.pyomo_model`).
"""

from .build import STEPS, build
from .lp import LinearProgram

__all__ = ["STEPS", "build", "LinearProgram"]
