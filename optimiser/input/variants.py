"""Variants of a loaded instance: the same file with more ``--set`` overrides, or with more of its
scenarios applied. A variant is a new :class:`~optimiser.input.instance.Instance`, loaded and
checked again as a whole from the instance's own raw mapping; the instance given is left as it
was. :meth:`Instance.with_overrides <optimiser.input.instance.Instance.with_overrides>` is
:func:`with_overrides`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Mapping

from ..errors import InstanceError
from .loading import load_data
from .paths import parse_overrides
from .scenarios import applied, definitions, select


def _base_dir(instance) -> Path | None:
    """The folder an instance's CSV references are relative to (None for an instance built in Python)."""
    return Path(instance.source).parent if instance.source and not instance.source.startswith("<") else None


def with_overrides(instance, overrides: Mapping[str, Any] | list[str]):
    """A new, re-validated instance with ``overrides`` applied on top of ``instance``'s own."""
    if isinstance(overrides, (list, tuple)):
        overrides = parse_overrides(overrides)
    merged = {**instance.overrides, **overrides}
    # raw's CSV tables were read when this instance was loaded; load_data copies what it changes
    inst = load_data(dict(instance.raw), file=instance.source, base_dir=_base_dir(instance), overrides=overrides,
                     csv_resolved=True)
    # keep what was recorded about how this instance was made (e.g. the scenarios applied)
    return inst.with_record(overrides=merged, extra={**dict(instance.extra or {}), **dict(inst.extra or {})})


def with_scenarios(instance, names: list[str] | tuple[str, ...]):
    """A new instance: ``instance`` with the scenarios ``names`` (defined in its file) applied on top
    of the ones it already has. Its own ``--set`` overrides keep priority over them, and two
    scenarios setting one field is an error, as when loading."""
    defined = definitions(instance)
    already = applied(instance)
    new = [n for n in names if n not in already]
    selection, problems = select(defined, already + new, instance.source)
    if problems:
        raise InstanceError(problems)
    extra = dict(instance.extra or {})
    set_overrides = dict(extra.get("set_overrides", {}))
    fresh = {p: v for n in new for p, v in defined[n].overrides.items()}
    # the raw mapping already holds the earlier scenarios and the --set values: apply the new
    # scenarios, then the --set values again so that they keep their priority
    inst = load_data(copy.deepcopy(dict(instance.raw)), file=instance.source, base_dir=_base_dir(instance),
                     overrides={**fresh, **set_overrides})
    extra.update(scenarios=tuple(selection.names), scenario_overrides=dict(selection.overrides),
                 set_overrides=set_overrides, scenario_definitions=defined)
    return inst.with_record(extra=extra, overrides={**selection.overrides, **set_overrides})
