"""Running many plans: in this process (warm), in local worker processes, or on Dask distributed.

A sweep, a Pareto frontier, an uncertainty analysis, the runs of a comparison and the
arrangements of pooling are each a list of *points* (a set of overrides, a level, a sample, an
instance) and one *task* that says how to solve a point. This module is the one engine that runs
them, and it runs the points and nothing else; it knows no maths.

* A **task** is a small picklable object (a dataclass of plain data: the instance's raw mapping,
  never an :class:`~optimiser.input.instance.Instance`, whose read-only mappings do not pickle) with a
  ``kind``, a ``fingerprint`` (a hash of everything that decides its answers), ``setup()`` (the
  state a worker keeps between points, e.g. a warm :class:`~optimiser.solving.session.Session`) and
  ``run(state, spec) -> record`` (one point's answer as a flat JSON-ready mapping); optionally
  ``run_many(state, specs)`` (the records of several points in one pass, overlapping them:
  :meth:`~optimiser.solving.session.Session.solve_many`). :class:`SolveEach` (compare, pooling) solves
  whole instances, cold, and gives back whole results.
* **Backends**: ``local`` with ``workers=1`` solves the points one after another in this process,
  warm (each worker state is built once and reused, so HiGHS re-solves from the last basis);
  ``local`` with ``workers=N`` uses a :class:`concurrent.futures.ProcessPoolExecutor` of N
  processes, each warm on the points it is given; ``dask`` submits the points to a Dask
  distributed cluster: a :class:`distributed.LocalCluster` on this machine by default, or the
  cluster whose scheduler is at ``scheduler`` (an address such as ``tcp://10.0.0.5:8786``), or a
  ``distributed.Client`` passed in. The task is sent to each worker once (scattered), the points
  one by one. No home-made queue: the pool and the scheduler decide who solves what.
* **Failures**: a point whose solve raises (a solver error, a lost worker) is tried once more from
  a fresh (cold) worker state; if it fails again it is reported with status ``failed`` and the
  error, and the other points carry on. A lost local worker breaks the process pool, which cannot
  say whose point killed it: the points that were running are tried again each alone in a
  one-process pool (one that kills its worker again is reported failed), the points that were
  only queued go on in a new pool. On
  Dask, retries are Dask's own (``retries=1``; a lost worker's points are rescheduled by the
  scheduler, up to its ``allowed-failures``).
  A run that must stop at the first failure (``failures="raise"``: compare, pooling) is not
  retried: the point's own exception is raised, as a plain solve would raise it.
* **Records** are flat JSON-ready mappings by default. A task with ``json_records = False``
  (compare's and pooling's :class:`SolveEach`: whole :class:`~optimiser.solving.results.Result` objects)
  has its records kept as they come back, and cannot be checkpointed.
* **Checkpoints**: every finished point is appended, as it finishes, to a JSON-lines file
  (first line: a header with the task's kind and fingerprint; then one ``{"key", "record"}`` a
  point). With ``resume=True`` the points already in the file are read back instead of solved
  (failed points are tried again), so an interrupted run continues where it stopped. A checkpoint
  written for another instance or task (another fingerprint) is refused.

Records come back in the order of the points, whatever order they finished in, and are passed
through JSON once, so a record read back from a checkpoint equals the one first computed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import BudgetshiftError
from ..input.loading import load_data
from ..output.files import to_json
from ..solving.results import Result
from ..solving.solve import solve

BACKENDS = ("local", "dask")
FAILED = "failed"
# with workers="auto", worker processes are started only when the points left after the first
# would take at least this long in this process (starting worker processes costs about a second)
AUTO_PARALLEL_SECONDS = 2.0


# ============================================================================ points and records

@dataclass(frozen=True)
class Point:
    """One point of a run: its position, a key that names it in a checkpoint, and its spec
    (what the task needs to solve it: plain, picklable data)."""

    index: int
    key: str
    spec: Mapping[str, Any]


def canonical(value: Any) -> Any:
    """``value`` with every mapping key as text and numpy scalars as Python numbers, so that
    ``json.dumps(..., sort_keys=True)`` is stable (instance files mix int and text keys)."""
    import numpy as np

    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def point_key(spec: Any) -> str:
    return json.dumps(canonical(spec), sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(*parts: Any) -> str:
    """A short stable hash of ``parts`` (instance mappings, options, ...)."""
    text = json.dumps(canonical(list(parts)), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def clean_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as it reads back from JSON (NaN and infinities become None, numpy scalars
    Python numbers), so a resumed run and a fresh one give identical tables."""

    return json.loads(to_json(dict(record)))


def _cleaned(task, record):
    """A point's record as the run keeps it: through JSON once, unless the task's records are
    objects (``json_records = False``)."""
    return clean_record(record) if getattr(task, "json_records", True) else record


def failed_record(error: str, attempts: int) -> dict[str, Any]:
    return {"status": FAILED, "message": error, "attempts": attempts}


# ============================================================================ worker side

# Worker states, kept between points: for each task (by fingerprint) a list of idle states. A
# point takes an idle state (or sets one up), and gives it back when it is done, so a state is
# never used by two threads at once and is reused whichever thread runs the next point (Dask's
# worker threads come and go).
_STATES: dict[str, list] = {}
_STATES_LOCK = threading.Lock()
_KEEP_TASKS = 3  # a long-lived worker serves many runs: keep the states of the last few tasks
_TASK = None  # the task of a local worker process (set by its initializer)


def _take_state(task, fresh: bool = False):
    with _STATES_LOCK:
        idle = _STATES.pop(task.fingerprint, [])
        _STATES[task.fingerprint] = idle  # most recently used last
        for old in list(_STATES)[:-_KEEP_TASKS]:
            _STATES.pop(old, None)
        state = idle.pop() if idle and not fresh else None
    return state if state is not None else task.setup()


def _give_back(task, state) -> None:
    with _STATES_LOCK:
        _STATES.setdefault(task.fingerprint, []).append(state)


def run_point(task, spec: Mapping[str, Any], fresh: bool = False) -> dict[str, Any]:
    """Solve one point in this process with a (cached, warm) state of ``task``; ``fresh`` sets up
    a new state (a cold start). A point that raises drops its state, so a retry starts cold."""
    state = _take_state(task, fresh=fresh)
    record = _cleaned(task, task.run(state, spec))  # on an exception the state is not given back
    _give_back(task, state)
    return record


def _init_worker(task) -> None:
    global _TASK
    _TASK = task


def _run_in_worker(spec: Mapping[str, Any], fresh: bool) -> dict[str, Any]:
    return run_point(_TASK, spec, fresh=fresh)


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) < 2000 else text[:2000] + " ..."


# ============================================================================ checkpoint

class Checkpoint:
    """The JSON-lines file of finished points (see the module docstring)."""

    def __init__(self, path: str | Path, kind: str, task_fingerprint: str, resume: bool = False):
        self.path = Path(path)
        self.kind = kind
        self.fingerprint = task_fingerprint
        self.done: dict[str, dict[str, Any]] = {}
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and not resume:
            raise BudgetshiftError(f"the checkpoint {self.path} already exists: resume from it (--resume, or "
                                   "resume=True) or remove it to start again")
        if exists:
            self._read()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")
        if not exists:
            self._write({"budgetshift_checkpoint": 1, "kind": kind, "fingerprint": task_fingerprint})

    def _read(self) -> None:
        with self.path.open(encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        try:
            head = json.loads(lines[0])
        except (IndexError, ValueError):
            head = {}
        if head.get("kind") != self.kind or head.get("fingerprint") != self.fingerprint:
            raise BudgetshiftError(
                f"the checkpoint {self.path} belongs to another run ({head.get('kind', 'unknown kind')} "
                f"{head.get('fingerprint', '?')}; this {self.kind} is {self.fingerprint}): the instance, its "
                "overrides or the options differ. Remove it or choose another checkpoint file")
        for line in lines[1:]:
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interruption
            if isinstance(item, dict) and "key" in item and isinstance(item.get("record"), dict):
                if item["record"].get("status") == FAILED:
                    self.done.pop(item["key"], None)
                else:
                    self.done[item["key"]] = item["record"]

    def _write(self, doc: Mapping[str, Any]) -> None:
        self._fh.write(json.dumps(doc, separators=(",", ":"), allow_nan=False) + "\n")
        self._fh.flush()

    def append(self, key: str, record: Mapping[str, Any]) -> None:
        self._write({"key": key, "record": record})

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError:  # pragma: no cover
            pass


class _NoCheckpoint:
    done: dict = {}

    def append(self, key, record):
        pass

    def close(self):
        pass


# ============================================================================ progress

class _NoProgress:
    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class _Progress(_NoProgress):
    """A rich progress bar on stderr with the time elapsed and an estimate of the time left."""

    def __init__(self, total: int, done: int, label: str):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("left"), TimeRemainingColumn(), console=Console(stderr=True),
                                 transient=True)
        self.task = self.progress.add_task(label, total=total, completed=done)
        self.progress.start()

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task, n)

    def close(self) -> None:
        self.progress.stop()


def _progress(enabled: bool, total: int, done: int, label: str):
    if enabled and sys.stderr.isatty():
        return _Progress(total, done, label)
    return _NoProgress()


# ============================================================================ the run

@dataclass
class RunStats:
    backend: str
    workers: int
    points: int
    solved: int = 0
    resumed: int = 0
    failed: int = 0
    retried: int = 0
    seconds: float = 0.0
    scheduler: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "workers": self.workers, "points": self.points, "solved": self.solved,
                "resumed": self.resumed, "failed": self.failed, "retried": self.retried,
                "seconds": round(self.seconds, 3), "scheduler": self.scheduler}


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def run(task, points: Sequence[Point], *, backend: str = "local", workers: int | str | None = None,
        scheduler: str | None = None, client=None, checkpoint: str | Path | None = None, resume: bool = False,
        progress: bool = False, label: str = "solving", failures: str = "record") -> tuple[list, RunStats]:
    """Solve ``points`` with ``task``; the records in the order of ``points`` and what it took.

    ``backend``: ``"local"`` (``workers`` 1 or None: this process, warm; N > 1: N worker
    processes; ``"auto"``: the first point here, and the rest in one process per core when they
    would take at least :data:`AUTO_PARALLEL_SECONDS` here) or ``"dask"`` (``client``, else a
    cluster at ``scheduler``, else a LocalCluster of ``workers`` processes, one per core by
    default). ``checkpoint``: the JSON-lines file finished points are appended to; ``resume``
    reads the points already there instead of solving them. ``failures``: ``"record"`` (a point
    that fails twice is a failed record) or ``"raise"`` (the first exception of a point is raised).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if failures not in ("record", "raise"):
        raise ValueError(f"failures must be 'record' or 'raise', not {failures!r}")
    auto = workers == "auto"
    if auto:
        workers = None if backend == "dask" else available_cores()
    if workers is not None and int(workers) < 1:
        raise ValueError("workers must be at least 1")
    if checkpoint and not getattr(task, "json_records", True):
        raise ValueError(f"a {task.kind} run keeps whole results, which are not checkpointed")
    strict = failures == "raise"
    keys = [p.key for p in points]
    if len(set(keys)) != len(keys):
        raise ValueError("two points of one run have the same key (the same values twice)")
    t0 = time.perf_counter()
    store = Checkpoint(checkpoint, task.kind, task.fingerprint, resume=resume) if checkpoint else _NoCheckpoint()
    records: dict[str, dict[str, Any]] = {}
    try:
        for p in points:
            if p.key in store.done:
                records[p.key] = store.done[p.key]
        todo = [p for p in points if p.key not in records]
        n_workers = int(workers) if workers else (1 if backend == "local" else available_cores())
        stats = RunStats(backend=backend if backend == "dask" or n_workers == 1 else "local processes",
                         workers=n_workers, points=len(points), resumed=len(records))
        if backend == "local" and n_workers == 1:
            stats.backend = "local (in-process, warm)"
        bar = _progress(progress, len(points), len(records), label)

        def finish(point: Point, record: dict[str, Any]) -> None:
            records[point.key] = record
            store.append(point.key, record)
            if isinstance(record, Mapping) and record.get("status") == FAILED:
                stats.failed += 1
            else:
                stats.solved += 1
            bar.advance()

        try:
            if auto and backend == "local" and n_workers > 1 and len(todo) > 1:
                # the first point here, timed: worker processes only when the rest repay starting them
                t_first = time.perf_counter()
                _run_here(task, todo[:1], finish, stats, strict)
                todo = todo[1:]
                if (time.perf_counter() - t_first) * len(todo) < AUTO_PARALLEL_SECONDS:
                    n_workers = 1
                else:
                    n_workers = min(n_workers, len(todo))
                stats.workers = n_workers
                stats.backend = "local (in-process, warm)" if n_workers == 1 else "local processes"
            if todo:
                if backend == "dask":
                    stats.scheduler = _run_dask(task, todo, finish, stats, workers=workers, scheduler=scheduler,
                                                client=client, strict=strict)
                elif n_workers == 1 or len(todo) == 1:
                    _run_here(task, todo, finish, stats, strict)
                else:
                    _run_processes(task, todo, finish, stats, n_workers, strict)
        finally:
            bar.close()
    finally:
        store.close()
    stats.seconds = time.perf_counter() - t0
    return [records[p.key] for p in points], stats


def _run_here(task, todo: Sequence[Point], finish: Callable, stats: RunStats, strict: bool = False) -> None:
    todo = list(todo)
    run_many = getattr(task, "run_many", None)
    if run_many is not None and len(todo) > 1:
        # a task that can overlap its points (Session.solve_many) solves them in one pass; a point
        # that raises ends the pass: it is tried once more from a fresh state (its second attempt),
        # and the points after it go one by one below
        state = _take_state(task)
        answers = run_many(state, [p.spec for p in todo])
        done, error = 0, None
        try:
            while done < len(todo):
                try:
                    record = next(answers)
                except StopIteration:
                    break
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # noqa: BLE001 - retried once, cold, then reported
                    if strict:
                        raise
                    error = exc
                    break
                finish(todo[done], _cleaned(task, record))
                done += 1
        finally:
            answers.close()
        if error is None:
            _give_back(task, state)
            return
        finish(todo[done], _second_attempt(task, todo[done], stats))
        todo = todo[done + 1:]
    for p in todo:
        try:
            record = run_point(task, p.spec)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # noqa: BLE001 - retried once, cold, then reported
            if strict:
                raise
            record = _second_attempt(task, p, stats)
        finish(p, record)


def _second_attempt(task, p: Point, stats: RunStats) -> dict[str, Any]:
    """A point whose first attempt raised, tried once more from a fresh (cold) state; its record,
    or a failed record after two attempts."""
    stats.retried += 1
    try:
        return run_point(task, p.spec, fresh=True)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001
        return failed_record(_error_text(exc), 2)


def _pool(task, n: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # a fresh interpreter per worker (not fork): the parent may hold HiGHS threads
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["optimiser.analyses.execution", "optimiser.solving.session", "formulations.build"])
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker, initargs=(task,))


def _run_processes(task, todo: Sequence[Point], finish: Callable, stats: RunStats, n: int,
                   strict: bool = False) -> None:
    """Solve ``todo`` in a pool of ``n`` processes. A point that raises is tried once more (cold).
    A lost worker breaks the whole pool, and the pool cannot say whose point killed it: the points
    that were running then are *suspects* and are tried again each alone in a one-process pool
    (a suspect that kills its worker again, alone, is reported failed); the points that were only
    queued go back to a new pool without counting a try. ``strict``: the first exception (a lost
    worker included) is raised."""
    pending = list(todo)
    errors: dict = {}  # exceptions raised by each point so far, and broken pools it was held by
    while pending:
        suspects, pending = _pool_pass(task, pending, min(n, len(pending)), errors, finish, stats, strict)
        for p in suspects:
            _run_alone(task, p, errors, finish, stats)


def _pool_pass(task, pending: Sequence[Point], n: int, errors: dict, finish: Callable, stats: RunStats,
               strict: bool = False):
    """One pool: run ``pending`` until done or the pool breaks; returns (suspects, requeued)."""
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    pool = _pool(task, n)
    futures = {pool.submit(_run_in_worker, p.spec, errors.get(p.key, 0) > 0): p for p in pending}
    running: set = set()
    broken = False
    try:
        while futures and not broken:
            # which points are running (or handed to a worker) is noted before each wait, so that
            # the suspects of a break are known
            running = {f for f in futures if f.running()}
            done, _ = wait(list(futures), timeout=0.05, return_when=FIRST_COMPLETED)
            for fut in done:
                p = futures.pop(fut)
                try:
                    finish(p, fut.result())
                except BrokenProcessPool:
                    if strict:
                        raise
                    broken = True
                    futures[fut] = p  # classified below with the others still held
                    break
                except Exception as exc:  # noqa: BLE001 - retried once, then reported
                    if strict:
                        raise
                    errors[p.key] = errors.get(p.key, 0) + 1
                    if errors[p.key] >= 2:
                        finish(p, failed_record(_error_text(exc), errors[p.key]))
                    else:
                        stats.retried += 1
                        futures[pool.submit(_run_in_worker, p.spec, True)] = p
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=not broken, cancel_futures=True)
    if not broken:
        return [], []
    held = list(futures.items())
    for _, p in held:
        errors[("broken", p.key)] = errors.get(("broken", p.key), 0) + 1
    # running when the pool broke, or held by two broken pools: tried alone; if nothing is known
    # to have been running, every point held is
    suspects = [p for f, p in held if f in running or errors[("broken", p.key)] >= 2] or [p for _, p in held]
    requeued = [p for f, p in held if p not in suspects]
    stats.retried += len(suspects)
    return suspects, requeued


def _run_alone(task, p: Point, errors: dict, finish: Callable, stats: RunStats) -> None:
    from concurrent.futures.process import BrokenProcessPool

    while True:
        pool = _pool(task, 1)
        try:
            record = pool.submit(_run_in_worker, p.spec, True).result()
        except BrokenProcessPool as exc:
            finish(p, failed_record("the worker process was lost, twice (the second time running this point "
                                    f"alone): {_error_text(exc)}", errors.get(p.key, 0) + 2))
            return
        except Exception as exc:  # noqa: BLE001
            errors[p.key] = errors.get(p.key, 0) + 1
            if errors[p.key] >= 2:
                finish(p, failed_record(_error_text(exc), errors[p.key] + 1))
                return
            stats.retried += 1
            continue
        finally:
            pool.shutdown(wait=True)
        finish(p, record)
        return


def _run_dask(task, todo: Sequence[Point], finish: Callable, stats: RunStats, *, workers: int | None,
              scheduler: str | None, client, strict: bool = False) -> str:
    try:
        import dask
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise BudgetshiftError("the dask backend needs dask[distributed] (pip install 'dask[distributed]')") from exc
    own_client = own_cluster = None
    if client is None:
        if scheduler:
            try:
                client = own_client = Client(scheduler, timeout="30s")
            except OSError as exc:
                raise BudgetshiftError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        else:
            n = int(workers) if workers else available_cores()
            with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                # the dashboard (if any) on a free port: 8787 may be another cluster's
                own_cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                           dashboard_address=":0")
            client = own_client = Client(own_cluster)
            client.wait_for_workers(n, timeout=120)
    address = client.scheduler.address if getattr(client, "scheduler", None) is not None else str(scheduler)
    try:
        stats.workers = len(client.scheduler_info().get("workers", {})) or stats.workers
        [remote] = client.scatter([task], broadcast=True, hash=False)
        futures = {}
        for p in todo:
            fut = client.submit(run_point, remote, p.spec, key=f"{task.kind}-{task.fingerprint}-{p.index}-"
                                f"{hashlib.sha1(p.key.encode()).hexdigest()[:10]}-{time.monotonic_ns()}",
                                retries=0 if strict else 1, pure=False)
            futures[fut] = p
        try:
            for fut in as_completed(list(futures)):
                p = futures.pop(fut)
                try:
                    record = fut.result()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # noqa: BLE001 - Dask has already retried it
                    if strict:
                        raise
                    record = failed_record(_error_text(exc), 2)
                finish(p, record)
        finally:
            if futures:
                client.cancel(list(futures))
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
    return address


# ============================================================================ helpers for tasks

def instance_payload(inst) -> dict[str, Any]:
    """What a worker needs to rebuild ``inst`` (an Instance's read-only mappings do not pickle):
    its final raw mapping (scenarios and overrides already applied), its source, the overrides
    and what was recorded about how it was made (``extra``: the scenarios applied, ...)."""
    import copy

    extra = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in dict(inst.extra or {}).items()}
    return {"raw": copy.deepcopy(dict(inst.raw)), "source": inst.source, "overrides": dict(inst.overrides),
            "extra": extra}


def rebuild(payload: Mapping[str, Any]):
    """The instance of :func:`instance_payload` (validated again, as every variant is)."""
    import copy

    inst = load_data(copy.deepcopy(payload["raw"]), file=payload["source"])
    return inst.with_record(overrides=payload["overrides"], extra=payload.get("extra") or None)


def portable(result):
    """``result`` without its programme and instance (what a worker process sends back; the
    scenarios applied are kept in its summary)."""

    summary = dict(result.summary)
    inst = result.instance
    if "scenarios" not in summary and inst is not None:
        summary["scenarios"] = list((inst.extra or {}).get("scenarios", ()))
    return Result(status=result.status, objective=result.objective, has_plan=result.has_plan, summary=summary,
                  tables=dict(result.tables), stats=dict(result.stats), instance=None, lp=None)


class SolveEach:
    """The task of solving several instances, each once and cold (:func:`optimiser.solving.solve`): the
    runs of a comparison (different files and scenarios) and the arrangements of pooling. A
    point's spec is ``{"run": i}``, the i-th instance; its record is the whole
    :class:`~optimiser.solving.results.Result` (``json_records = False``), with its programme and
    instance when ``keep_model`` and the point is solved in this process, else
    :func:`portable`. Sent to a worker, the task carries the instances as payloads."""

    kind = "plans"
    json_records = False

    def __init__(self, instances: Sequence[Any], options: Mapping[str, Any] | None = None,
                 keep_model: bool = False):
        self.instances: list | None = list(instances)
        self.payloads: list | None = None
        self.options = dict(options or {})
        self.keep_model = keep_model
        self.fingerprint = fingerprint(self.kind, [dict(i.raw) for i in self.instances], self.options)

    def __getstate__(self) -> dict:
        payloads = self.payloads or [instance_payload(i) for i in self.instances]
        return {"payloads": payloads, "options": self.options, "keep_model": False,
                "fingerprint": self.fingerprint, "instances": None}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def points(self) -> list[Point]:
        return [Point(i, str(i), {"run": i}) for i in range(len(self.instances or self.payloads))]

    def setup(self):
        return None  # nothing is kept between points: each is another instance, solved cold

    def run(self, state, spec: Mapping[str, Any]):
        i = int(spec["run"])
        inst = self.instances[i] if self.instances is not None else rebuild(self.payloads[i])
        result = solve(inst, **self.options)
        return result if self.keep_model else portable(result)


__all__ = ["AUTO_PARALLEL_SECONDS", "BACKENDS", "Checkpoint", "FAILED", "Point", "RunStats", "SolveEach",
           "available_cores", "canonical", "fingerprint", "instance_payload", "point_key", "portable", "rebuild", "run",
           "run_point"]
