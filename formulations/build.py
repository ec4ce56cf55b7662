"""Build the budget-shift linear programme from a validated instance, step by step.

Every step is one function with its maths in its docstring; :data:`STEPS` lists them in order,
read off the registry of constraint families (:data:`formulations.families.FAMILIES`: a family's
blocks, units, relaxation, explanation, verifier checks, docs and tests in one record), and
:func:`build` logs the time each took (``lp.step_seconds``; ``build_steps_seconds`` in a result's
``stats``), so anyone can see where build time goes.
"""

from __future__ import annotations

import logging
import time

from .families import STEPS  # the build order is the registry's order (formulations.families)
from .lp import LinearProgram

log = logging.getLogger(__name__)


def build(inst) -> LinearProgram:
    """The programme for ``inst``; ``lp.step_seconds`` records each step's time."""
    lp = LinearProgram(name=inst.name)
    timings = {}
    for label, step in STEPS:
        t0 = time.perf_counter()
        step(lp, inst)
        timings[label] = time.perf_counter() - t0
        log.debug("build step %-32s %.4fs", label, timings[label])
    lp.step_seconds = timings
    return lp
