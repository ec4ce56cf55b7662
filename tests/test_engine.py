"""The one execution engine (optimiser.analyses.execution) and the one way to change a loaded HiGHS model
(formulations.loaded), checked on programmes small enough to solve by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from formulations.loaded import Loaded, Numbers
from formulations.lp import new_highs
from optimiser.analyses import execution

INF = np.inf


def two_columns(cost=(1.0, 2.0), row=(4.0, INF), coefs=(1.0, 1.0), sense="min") -> Numbers:
    """x, y in [0, 3] x [0, 10]; one row lo <= a x + b y <= hi."""
    a = sp.csc_matrix(np.array([list(coefs)]))
    return Numbers(np.array(cost, dtype=float), np.array([0.0, 0.0]), np.array([3.0, 10.0]),
                   np.array([row[0]]), np.array([row[1]]), a, np.zeros(2, dtype=np.int32), sense)


def solved(model: Loaded) -> list[float]:
    """[objective, x, y] after a (warm) solve."""
    model.h.run()
    return [model.h.getInfo().objective_function_value, *model.h.getSolution().col_value]


def test_change_to_pushes_only_what_differs_and_re_solves():
    base = two_columns()
    model = Loaded.load(new_highs(), base)
    # min x + 2y, x + y >= 4, x <= 3: x = 3, y = 1, cost 5
    assert solved(model) == pytest.approx([5.0, 3.0, 1.0])
    # the row to >= 6: x = 3, y = 3, cost 9; one row bound pushed, nothing else
    changes = model.change_to(base.with_row_bounds([0], 6.0, INF))
    assert changes == {"costs": 0, "column_bounds": 0, "row_bounds": 1, "coefficients": 0}
    assert solved(model) == pytest.approx([9.0, 3.0, 3.0])
    # costs 3x + y: y = 6 alone, cost 6
    changes = model.change_to(model.numbers.with_objective(np.array([3.0, 1.0]), "min"))
    assert changes["costs"] == 2
    assert solved(model) == pytest.approx([6.0, 0.0, 6.0])
    # the row x + 2y >= 6 (same pattern, one coefficient): y = 3, cost 3
    new = Numbers(**{**model.numbers.__dict__, "matrix": sp.csc_matrix(np.array([[1.0, 2.0]]))})
    assert model.change_to(new)["coefficients"] == 1
    assert solved(model) == pytest.approx([3.0, 0.0, 3.0])
    # maximise x + y: both at their upper bounds, 13
    model.change_to(model.numbers.with_objective(np.array([1.0, 1.0]), "max"))
    assert solved(model) == pytest.approx([13.0, 3.0, 10.0])


def test_a_held_objective_keeps_the_optimum_while_another_is_minimised_then_goes():
    base = two_columns(cost=(1.0, 1.0))
    model = Loaded.load(new_highs(), base)
    best = solved(model)[0]
    assert best == pytest.approx(4.0)  # min x + y with x + y >= 4: every split of 4 is optimal
    model.hold(base.cost, "min", best + 1e-9)
    model.change_to(base.with_objective(np.array([-1.0, 0.0]), "min"))  # then the most x among them
    assert model.h.getNumRow() == 2
    assert solved(model)[1:] == pytest.approx([3.0, 1.0])
    model.drop_held()
    model.change_to(base)
    assert model.h.getNumRow() == 1
    assert solved(model)[0] == pytest.approx(4.0)


def test_coefficients_set_one_by_one_forbid_a_later_matrix_comparison():
    model = Loaded.load(new_highs(), two_columns())
    model.set_coefficients([0], [1], [2.0])  # x + 2y >= 4 at min x + 2y: cost 4 whichever split
    assert solved(model)[0] == pytest.approx(4.0)
    with pytest.raises(RuntimeError):
        model.change_to(two_columns())


class Squares:
    """A task whose point 2 always fails."""

    kind = "squares"
    fingerprint = "squares-1"

    def setup(self):
        return None

    def run(self, state, spec):
        if spec["n"] == 2:
            raise ValueError("two")
        return {"square": spec["n"] ** 2}


class Objects(Squares):
    json_records = False

    def run(self, state, spec):
        return {spec["n"]}  # a set: not JSON


def points(n=3):
    return [execution.Point(i, str(i + 1), {"n": i + 1}) for i in range(n)]


def test_a_failing_point_is_retried_once_then_recorded_and_the_others_go_on():
    records, stats = execution.run(Squares(), points())
    assert records[0] == {"square": 1} and records[2] == {"square": 9}
    assert records[1]["status"] == execution.FAILED and "ValueError: two" in records[1]["message"]
    assert (stats.solved, stats.failed, stats.retried) == (2, 1, 1)


def test_failures_raise_stops_at_the_points_own_error():
    with pytest.raises(ValueError, match="two"):
        execution.run(Squares(), points(), failures="raise")


def test_object_records_are_kept_as_they_come_and_not_checkpointed(tmp_path):
    records, _ = execution.run(Objects(), [p for p in points() if p.spec["n"] != 2])
    assert records == [{1}, {3}]
    with pytest.raises(ValueError, match="not checkpointed"):
        execution.run(Objects(), points(1), checkpoint=tmp_path / "c.jsonl")


def test_auto_workers_keep_quick_points_in_this_process():
    records, stats = execution.run(Squares(), points(1) + [execution.Point(1, "3", {"n": 3})], workers="auto")
    assert records == [{"square": 1}, {"square": 9}]
    assert stats.workers == 1 and stats.backend == "local (in-process, warm)"
