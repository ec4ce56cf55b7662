"""Every number field of the instance schema goes through the one strict check (``schema.Number`` /
``schema.Whole``: no true/false, no NaN, no infinities except where a field says "no limit").

A field written with a bare ``float`` or ``int`` would let ``capacity: true`` read as 1 (issue 12);
this test fails when a new field forgets the strict types, and one case shows the failure it prevents.
"""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel
from pydantic.functional_validators import BeforeValidator

from optimiser.input import schema


def _models():
    return [v for v in vars(schema).values()
            if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == schema.__name__]


def _bare_numbers(annotation, strict: bool = False) -> list[str]:
    """Bare float/int types inside ``annotation`` that no strict-number validator guards."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        guarded = strict or any(isinstance(m, BeforeValidator) and "number" in getattr(m.func, "__name__", "")
                                for m in meta)
        return _bare_numbers(base, guarded)
    if annotation in (float, int):
        return [] if strict else [annotation.__name__]
    if annotation is bool:
        return []
    out = []
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            continue
        out += _bare_numbers(arg, strict)
    return out


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_number_field_is_strict(model):
    for name, field in model.model_fields.items():
        strict = any(isinstance(m, BeforeValidator) and "number" in getattr(m.func, "__name__", "")
                     for m in field.metadata)
        assert not _bare_numbers(field.annotation, strict), (
            f"{model.__name__}.{name}: a bare float/int (use schema.Number, schema.Whole or their aliases)")


def test_a_boolean_step_capacity_is_refused(tmp_path):
    """The case this guards: ``steps.capacity: true`` was read as a ward of 1 bed day."""
    import optimiser
    from optimiser.errors import InstanceError

    with pytest.raises(InstanceError, match=r"steps.capacity: expected a number \(true/false is not a number\)"):
        optimiser.load("instances/tiny/cash_release.yaml",
                       overrides={"services[ward].cost_behaviour.steps.capacity": True})
