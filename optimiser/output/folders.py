"""Output folders: which folder budgetshift may write, replace or clean up, and which it must never touch.

Every folder budgetshift writes (``solve --out``, ``compare --out``, ``sweep``/``pareto``/
``uncertainty``/``pooling --out``) carries a small marker file, :data:`MARKER`
(``.budgetshift-result``): a JSON object naming the kind of output, the version that wrote it and
the entries it wrote. ``--overwrite`` replaces a folder only when it carries a valid marker and
holds nothing else than what the marker lists; anything else (``.``, ``..``, the working folder
or one above it, the home folder, ``/``, the folder of an input file, a folder with files of the
user's, a file, a symbolic link) is refused with a clear message and nothing on disk changes.

:func:`check_target` is called *before* solving, so a bad ``--out`` fails at once (exit 2), and
again just before writing. A folder is written into a hidden sibling ``.NAME.partial-PID-XXXX``
(holding :data:`PARTIAL_MARKER` with the writer's process id) and renamed into place;
:func:`clean_stale` removes such folders left by a killed run, only when they are
budgetshift's and their process is gone.

This module imports nothing heavy, so the CLI can check a target before loading pandas or HiGHS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
from pathlib import Path
from typing import Iterable

from ..errors import BudgetshiftError

MARKER = ".budgetshift-result"
PARTIAL_MARKER = ".budgetshift-partial"
MARKER_FORMAT = 1


class OutputFolderError(BudgetshiftError):
    """An output folder (``--out``) that budgetshift may not write or replace; nothing was changed."""


class OutputWriteError(OutputFolderError, OSError):
    """Writing an output folder failed part-way (a full disk, a folder removed underneath): nothing
    was left behind. Also an OSError, as the failure it reports."""


class NotAResultError(BudgetshiftError):
    """A folder read as a result (``verify``, ``report``) that is not one budgetshift wrote."""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("budgetshift")
    except Exception:  # noqa: BLE001 - a version is a courtesy, not a requirement
        return "unknown"


def marker_document(kind: str, entries: Iterable[str]) -> dict:
    """The marker's JSON: the kind of output, the version, and the files and folders written beside it."""
    return {"budgetshift_output": MARKER_FORMAT, "kind": str(kind), "version": _version(),
            "entries": sorted(str(e) for e in entries)}


def _entries(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (relative, ``/``-separated; folders end in ``/``),
    the marker itself left out."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out += [prefix + d + "/" for d in dirnames]
        out += [prefix + f for f in filenames if prefix or f not in (MARKER, PARTIAL_MARKER)]
    return sorted(out)


def write_marker(folder: str | Path, kind: str) -> None:
    """Write the marker into ``folder``, listing every file and folder already in it."""
    folder = Path(folder)
    (folder / MARKER).write_text(json.dumps(marker_document(kind, _entries(folder)), indent=2) + "\n",
                                 encoding="utf-8")


def read_marker(folder: str | Path) -> dict | None:
    """The marker of ``folder`` when it is a valid one budgetshift wrote, else None."""
    path = Path(folder) / MARKER
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("budgetshift_output") != MARKER_FORMAT:
        return None
    if not isinstance(doc.get("kind"), str) or not isinstance(doc.get("entries"), list):
        return None
    if not all(isinstance(e, str) for e in doc["entries"]):
        return None
    return doc


def _is_within(inner: Path, outer: Path) -> bool:
    """Whether ``inner`` is ``outer`` or lies inside it (both resolved)."""
    return inner == outer or outer in inner.parents


def _protected(resolved: Path, inputs: Iterable[str | Path]) -> str | None:
    """Why ``resolved`` must never be replaced, or None."""
    if resolved == Path(resolved.anchor):
        return "it is the root folder"
    try:
        home = Path.home().resolve()
    except (RuntimeError, OSError):
        home = None
    if home is not None and _is_within(home, resolved):
        return "it is your home folder" if home == resolved else "it holds your home folder"
    cwd = Path.cwd().resolve()
    if _is_within(cwd, resolved):
        return "it is the current folder" if cwd == resolved else "it holds the current folder"
    for f in inputs:
        try:
            p = Path(f).resolve()
        except (OSError, RuntimeError):
            continue
        if _is_within(p, resolved):
            return f"it holds the input file {f}"
    return None


def check_target(directory: str | Path, overwrite: bool = False, inputs: Iterable[str | Path] = (),
                 option: str = "--out") -> Path:
    """Check that ``directory`` may be written (before any work is done); its resolved path.

    Allowed: a folder that does not exist yet (its nearest existing parent a writable folder), an
    empty folder, or, with ``overwrite``, a folder budgetshift wrote (a valid marker, and nothing
    in it but the entries the marker lists). Anything else raises :class:`OutputFolderError`,
    and nothing on disk is changed. ``inputs`` are the files the run reads: a folder holding one is
    never replaced.
    """
    raw = Path(directory)
    given = str(directory)
    if raw.is_symlink():
        raise OutputFolderError(f"{option} {given} is a symbolic link; budgetshift writes only real folders: "
                                "choose another folder")
    resolved = Path(os.path.abspath(raw)).resolve()
    if resolved.exists() and not resolved.is_dir():
        raise OutputFolderError(f"{option} {given} is a file, not a folder: choose another folder")
    if resolved.is_dir():
        try:
            entries = sorted(p.name for p in resolved.iterdir())
        except OSError as exc:
            raise OutputFolderError(f"{option} {given} cannot be read ({exc.strerror or exc}): choose another "
                                    "folder") from None
        why = _protected(resolved, inputs)
        if why is not None:
            raise OutputFolderError(f"{option} {given} ({resolved}) cannot be used: {why}. budgetshift writes "
                                    "into a new or empty folder, or replaces a folder it wrote itself; choose "
                                    "another folder, e.g. out/NAME")
        if entries:
            if not overwrite:
                raise OutputFolderError(f"{given} ({resolved}) already exists and is not empty; choose another "
                                        "folder or pass --overwrite (which replaces only a folder budgetshift "
                                        "wrote)")
            marker = read_marker(resolved)
            if marker is None:
                raise OutputFolderError(
                    f"--overwrite refused: {given} ({resolved}) was not written by budgetshift (it has no valid "
                    f"{MARKER} marker file), so it is left untouched. Choose another folder, or remove it "
                    "yourself if you are sure")
            listed = set(marker["entries"])
            foreign = [e for e in _entries(resolved) if e not in listed]
            if foreign:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise OutputFolderError(
                    f"--overwrite refused: {given} ({resolved}) holds {len(foreign)} file(s) budgetshift did not "
                    f"write ({shown}), so it is left untouched. Move them out, or choose another folder")
        parent = resolved.parent
    else:
        parent = resolved.parent
    # the nearest existing ancestor must be a folder we can create entries in
    probe = parent
    while not probe.exists():
        if probe.is_symlink():  # a dangling link on the way
            raise OutputFolderError(f"{option} {given}: {probe} is a broken symbolic link: choose another folder")
        probe = probe.parent
    if not probe.is_dir():
        raise OutputFolderError(f"{option} {given}: {probe} is a file, not a folder: choose another folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{option} {given}: cannot write into {probe} (permission denied): choose a "
                                "folder you can write to")
    return resolved


# ============================================================================ partial folders

_PARTIAL = re.compile(r"^\.(?P<name>.+)\.(?P<what>partial|old)-(?P<pid>\d+)(-.*)?$")


def partial_prefix(target: Path) -> str:
    return f".{target.name}.partial-{os.getpid()}-"


def mark_partial(folder: Path) -> None:
    """Note in a partial folder which process writes it (so a later run can tell a stale one)."""
    doc = {"budgetshift_partial": 1, "pid": os.getpid(), "host": socket.gethostname()}
    (folder / PARTIAL_MARKER).write_text(json.dumps(doc) + "\n", encoding="utf-8")


def unmark_partial(folder: Path) -> None:
    (folder / PARTIAL_MARKER).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return True
    return True


def clean_stale(target: Path) -> list[Path]:
    """Remove the hidden partial (and half-replaced ``.old-``) folders of ``target`` left by killed
    runs; only folders named as budgetshift names them, carrying budgetshift's own marker (a
    partial marker, or a result marker for an old copy), whose process (on this host) is gone.
    Returns the folders removed."""
    removed = []
    try:
        siblings = list(target.parent.iterdir())
    except OSError:
        return removed
    host = socket.gethostname()
    for p in siblings:
        m = _PARTIAL.match(p.name)
        if not m or m.group("name") != target.name or p.is_symlink() or not p.is_dir():
            continue
        pid = int(m.group("pid"))
        if m.group("what") == "partial":
            try:
                doc = json.loads((p / PARTIAL_MARKER).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(doc, dict) or doc.get("budgetshift_partial") != 1 or doc.get("pid") != pid \
                    or doc.get("host") != host:
                continue
        elif read_marker(p) is None:
            continue
        if _alive(pid):
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


__all__ = ["MARKER", "NotAResultError", "OutputFolderError", "check_target", "clean_stale", "marker_document",
           "read_marker", "write_marker"]
