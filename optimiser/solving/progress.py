"""HiGHS's progress during a long solve, on one line of a terminal: elapsed time, best plan's
objective, the bound and the gap (a mixed-integer solve), or simplex iterations (a linear one).

    with progress.shown(sys.stderr.isatty() and not as_json):
        result = solve(inst)

Only the CLI turns it on, and only when stderr is a terminal (never with ``--json``, never when
piped); a solve shorter than :data:`DELAY` seconds prints nothing. The numbers come from
highspy's callbacks (the simplex, interior-point and MIP "interrupt" callbacks, which HiGHS calls
as it works); the handler only compares a clock most of the time, and never changes what HiGHS
does, so the plan is the same. The line is cleared when the solve ends.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
import time
from typing import Callable, TextIO

DELAY = 2.0  # seconds before the first line: quick solves print nothing
INTERVAL = 1.0  # seconds between updates

_ACTIVE: "SolveProgress | None" = None
_LOCK = threading.Lock()


def _num(v: float | None) -> str | None:
    if v is None or not isinstance(v, (int, float)) or math.isnan(v) or math.isinf(v) or abs(v) >= 1e50:
        return None
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:.6g}"


def _elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def format_progress(elapsed: float, *, objective: float | None = None, bound: float | None = None,
                    gap: float | None = None, nodes: int | None = None, iterations: int | None = None) -> str:
    """One progress line, e.g. ``HiGHS 1:05  best plan 12,345,678  bound 12,300,000  gap 0.37%
    nodes 1,204``; a value HiGHS does not know yet (infinite, NaN) is left out."""
    parts = [f"HiGHS {_elapsed(elapsed)}"]
    obj = _num(objective)
    parts.append(f"best plan {obj}" if obj is not None else ("no plan yet" if bound is not None else ""))
    b = _num(bound)
    if b is not None:
        parts.append(f"bound {b}")
    if gap is not None and isinstance(gap, (int, float)) and math.isfinite(gap) and 0 <= gap < 1e6 and obj is not None:
        parts.append(f"gap {gap * 100:.2f}%")
    if nodes is not None and nodes >= 0:
        parts.append(f"nodes {nodes:,}")
    if iterations is not None and iterations > 0:
        parts.append(f"iterations {iterations:,}")
    return "  ".join(p for p in parts if p)


class SolveProgress:
    """Writes :func:`format_progress` lines over one another on ``stream`` while HiGHS solves."""

    def __init__(self, stream: TextIO | None = None, *, delay: float = DELAY, interval: float = INTERVAL,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.delay, self.interval, self.clock = delay, interval, clock
        self.start = clock()
        self._next = self.start + delay
        self._width = 0
        self.lines = 0

    # ------------------------------------------------------------------ HiGHS callbacks
    def _on_event(self, event) -> None:
        now = self.clock()
        if now < self._next:  # the common case: one clock reading per callback
            return
        self._next = now + self.interval
        d = event.data_out
        mip = event.callback_type == _mip_type()
        self.show(now - self.start,
                  objective=getattr(d, "mip_primal_bound", None) if mip else None,
                  bound=getattr(d, "mip_dual_bound", None) if mip else None,
                  gap=getattr(d, "mip_gap", None) if mip else None,
                  nodes=int(getattr(d, "mip_node_count", -1)) if mip else None,
                  iterations=None if mip else int(getattr(d, "simplex_iteration_count", 0) or 0)
                  + max(int(getattr(d, "ipm_iteration_count", 0) or 0), 0))

    def show(self, elapsed: float, **values) -> None:
        line = format_progress(elapsed, **values)
        pad = max(self._width - len(line), 0)
        try:
            self.stream.write("\r" + line + " " * pad)
            self.stream.flush()
        except (OSError, ValueError):  # a terminal that went away: progress is a courtesy
            return
        self._width = len(line)
        self.lines += 1

    def clear(self) -> None:
        if self._width:
            try:
                self.stream.write("\r" + " " * self._width + "\r")
                self.stream.flush()
            except (OSError, ValueError):
                pass
            self._width = 0

    # ------------------------------------------------------------------ attaching to a Highs
    def attach(self, h) -> list:
        """Subscribe to ``h``'s callbacks; the elapsed time counts from now (the solve's start)."""
        self.start = self.clock()
        self._next = self.start + self.delay
        subscribed = []
        for name in ("cbSimplexInterrupt", "cbIpmInterrupt", "cbMipInterrupt"):
            event = getattr(h, name, None)
            if event is None:
                continue
            try:
                event.subscribe(self._on_event)
            except Exception:  # noqa: BLE001 - an older highspy without this callback: no progress
                continue
            subscribed.append(event)
        return subscribed

    @staticmethod
    def detach(subscribed: list, handler) -> None:
        for event in subscribed:
            try:
                event.unsubscribe(handler)
            except Exception:  # noqa: BLE001
                pass


def _mip_type():
    import highspy

    return highspy.cb.HighsCallbackType.kCallbackMipInterrupt


@contextlib.contextmanager
def shown(enabled: bool, stream: TextIO | None = None, **options):
    """Show HiGHS's progress for the solves inside the block (when ``enabled``); ``options`` go to
    :class:`SolveProgress` (``delay``, ``interval``, ``clock``)."""
    global _ACTIVE
    if not enabled:
        yield None
        return
    progress = SolveProgress(stream, **options)
    with _LOCK:
        previous, _ACTIVE = _ACTIVE, progress
    try:
        yield progress
    finally:
        with _LOCK:
            _ACTIVE = previous
        progress.clear()


@contextlib.contextmanager
def watching(h):
    """Around ``h.run()``: report its progress if a :func:`shown` block is active (else nothing)."""
    progress = _ACTIVE
    if progress is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    subscribed = progress.attach(h)
    try:
        yield
    finally:
        progress.detach(subscribed, progress._on_event)
        progress.clear()


def wanted(as_json: bool, solver_log: bool = False, stream: TextIO | None = None) -> bool:
    """Whether to show progress: on a terminal only, never with --json or HiGHS's own log."""
    stream = stream if stream is not None else sys.stderr
    if as_json or solver_log:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
