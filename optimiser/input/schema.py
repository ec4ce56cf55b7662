"""The instance file format, version 1, as pydantic models.

This module is the single statement of what an instance file may contain: every field's
type, unit, default and meaning. ``extra="forbid"`` everywhere, so a misspelt key fails
validation instead of being silently ignored. Cross-references (a service named in a
pathway, a year outside the horizon, ...) are checked afterwards in
:mod:`optimiser.input.validation`, which sees the whole file at once.

The reference documentation in ``docs/instance-format.md`` describes these models.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, StrictBool, Tag, field_validator
from pydantic_core import PydanticCustomError

FORMAT_VERSION = 1


# ----------------------------------------------------------------------------- numbers
# Every number of the format is checked here, once: a YAML number (an int or a float) or text
# that is exactly a number ("1e6", which PyYAML reads as text), never true/false (YAML 1.1 reads
# yes/no/on/off as those), never NaN or an infinity. The error types are worded for planners in
# optimiser.input.loading (_EXPECTED_BY_TYPE).

_NUMBER_TEXT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_WHOLE_TEXT = re.compile(r"[-+]?[0-9]+")


def _number(value: Any, *, infinity: bool = False) -> Any:
    kind = type(value)
    if kind is int or (kind is float and value - value == 0):  # the common case: finite (inf - inf is nan)
        return value
    if isinstance(value, bool):
        raise PydanticCustomError("number_bool", "a number, not true/false")
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        text = value.strip()
        value = int(text) if _WHOLE_TEXT.fullmatch(text) else float(text)
    if not isinstance(value, numbers.Real):
        raise PydanticCustomError("number_type", "a number")
    if not math.isfinite(value) and not (infinity and value == math.inf):
        raise PydanticCustomError("number_unbounded" if infinity else "number_not_finite", "a finite number")
    return value


def _number_or_infinity(value: Any) -> Any:
    return _number(value, infinity=True)


#: a finite number (an int is read as a float)
Number = Annotated[float, BeforeValidator(_number)]
#: a finite whole number (a float with no fraction, e.g. 5.0, is read as 5)
Whole = Annotated[int, BeforeValidator(_number)]
NonNegative = Annotated[Number, Field(ge=0)]
Fraction = Annotated[Number, Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1)]


# ----------------------------------------------------------------------------- forms
# A field that may be written in several forms (a number or a mapping, ...) is a union told apart
# by the shape of the value, so that a wrong value is reported against the form it is written in,
# not once per form. The form names appear in pydantic's error paths (never in ours: spaces).

FORMS = {"number": "a number", "mapping": "a mapping", "list": "a list", "text": "text",
         "growth": "a growth rule"}


def _shape(value: Any) -> str:
    if isinstance(value, dict):
        return FORMS["mapping"]
    if isinstance(value, (list, tuple)):
        return FORMS["list"]
    if isinstance(value, str) and not _NUMBER_TEXT.fullmatch(value.strip()):
        return FORMS["text"]
    return FORMS["number"]  # numbers, and what is wrong as a number (true/false, null, ...)


def _name_or_shape(value: Any) -> str:
    """Text is a name, even when it looks like a number."""
    return FORMS["text"] if isinstance(value, str) else _shape(value)


def one_of(expected: str, choose=_shape, **forms: Any) -> Any:
    """A union of ``forms`` (a key of :data:`FORMS` -> type), the form chosen by
    ``choose(value)``; a value of no listed form is reported as not ``expected``."""
    members = tuple(Annotated[tp, Tag(FORMS[form])] for form, tp in forms.items())
    return Annotated[Union[members], Discriminator(choose, custom_error_type="wrong_form",
                                                   custom_error_message=expected)]


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, loaded objects are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Growth(Strict):
    """A yearly series given as a base-year value growing at a constant rate.

    The value in year ``y`` is ``value * (1 + growth) ** (y - base_year)``.
    """

    value: NonNegative = Field(description="value in the base year")
    growth: Number = Field(0.0, gt=-1, description="growth rate per year, e.g. 0.02 for 2%")


def _year_values_form(value: Any) -> str | None:
    if isinstance(value, Growth) or (isinstance(value, dict) and ("value" in value or "growth" in value)):
        return FORMS["growth"]
    shape = _shape(value)
    return shape if shape in (FORMS["number"], FORMS["mapping"]) else None


def _year_values(number: Any) -> Any:
    return one_of("a number, a mapping year -> number, or a growth rule {value, growth}", _year_values_form,
                  number=number, mapping=dict[Whole, number], growth=Growth)


# A yearly series: one number for every year, a mapping year -> number, or a growth rule.
YearValues = _year_values(NonNegative)
# The same where .inf means "no limit" (like leaving the field out).
YearValuesOrInfinity = _year_values(Annotated[float, BeforeValidator(_number_or_infinity), Field(ge=0)])


class TerminalValue(Strict):
    """Value beyond the horizon: the plan's prevention keeps acting after the final planning year.

    The cases its planning-year activity avoids (or adds, where it falls below the baseline) in the
    ``years`` after the final year are counted at the final year's need (population x incidence),
    valued at a cost per case avoided (the effect's ``value_per_case``, or the pathway's average care
    cost per case at final-year unit costs), discounted like costs, and subtracted from the discounted
    cost in the objective (min_cost; with max_outcome, from the cost of the cheapest-of-the-best tie-break). Reported on its own line (summary ``terminal_value``, table
    ``terminal_value``), never mixed into spend."""

    years: Whole = Field(ge=1, le=50, description="further years after the horizon whose prevention benefits count")


class Horizon(Strict):
    base_year: Whole = Field(description="the last year with known (baseline) spend and activity")
    years: Whole = Field(5, ge=1, le=50, description="number of planning years after the base year")
    discount_rate: Number = Field(
        0.035, ge=0, lt=1,
        description="annual discount rate for costs (HM Treasury Green Book: 3.5%)",
    )
    terminal_value: TerminalValue | None = Field(
        None, description="count prevention benefits for N further years after the horizon in the objective "
        "(none = benefits stop at the final planning year)")


class Holder(Strict):
    """A budget holder (a commissioner or organisation) and the services whose spend it pays for."""

    name: Name
    description: str = ""
    sectors: list[Name] = Field(default_factory=list, description="it holds every service in these sectors ...")
    services: list[Name] = Field(
        default_factory=list,
        description="... and these services (a service named here is held here even if another holder "
        "holds its sector)")
    budget: YearValues = Field(description="its budget per planning year, in currency units")


class PooledFund(Strict):
    """A pooled fund (e.g. a Better Care Fund): each member puts a share of its yearly budget in;
    the fund may pay for any member's services."""

    name: Name
    description: str = ""
    contributions: dict[str, Fraction] = Field(
        min_length=1, description="holder -> share of its yearly budget paid into the fund")


class Budget(Strict):
    pooled: YearValues | None = Field(
        None, description="pooled budget per planning year, in currency units (e.g. GBP); "
        "omit when holders are given (the pool is then the sum of their budgets)"
    )
    holders: list[Holder] = Field(
        default_factory=list, description="budget holders; each service must be held by exactly one")
    pooled_funds: list[PooledFund] = Field(
        default_factory=list, description="partial pooling: funds that named holders pay a share into")
    arrangement: Literal["pooled", "partial", "siloed"] = Field(
        "pooled", description="pooled: one budget across all holders; siloed: each holder's spend "
        "within its own budget; partial: each holder within what it keeps plus what it draws from "
        "its pooled fund")


class Sector(Strict):
    name: Name
    description: str = ""


class Capacity(Strict):
    min: YearValues = Field(0.0, description="lowest activity per year, in the service's units")
    max: YearValuesOrInfinity | None = Field(
        None, description="highest activity per year; none (or .inf) = no limit")


class Opening(Strict):
    """A new service or site: it exists only once opened (at most once, not before a year)."""

    earliest_year: Whole | None = Field(None, description="first year it may open; none = first planning year")
    opening_cost: NonNegative = Field(0.0, description="one-off cost in the year it opens")
    running_cost: YearValues = Field(0.0, description="fixed cost each year it is open")


class Teams(Strict):
    """Activity delivered by whole teams: activity <= teams x activity_per_team."""

    activity_per_team: Annotated[Number, Field(gt=0)] = Field(description="units of activity one team delivers a year")
    cost_per_team: YearValues = Field(0.0, description="yearly cost of one team (on top of the unit cost)")
    max_teams: Annotated[Whole, Field(ge=0)] | None = Field(None, description="most teams in any year")


class Steps(Strict):
    """Semi-fixed cost in whole steps (a ward, a team): each step carries ``capacity`` units of
    activity a year and costs ``cost`` a year; a step's cost stops only ``closure_lag`` years after
    the year it is no longer needed (mixed-integer under a block contract)."""

    capacity: Annotated[Number, Field(gt=0)] = Field(
        description="units of activity one step carries a year, e.g. 1000 bed days for a ward")
    cost: YearValues = Field(description="cost of one step a year, in currency units (staff, estate)")
    closure_lag: Annotated[Whole, Field(ge=0)] = Field(
        1, description="years a step is still paid for after the first year it is no longer needed")
    baseline_steps: Annotated[Whole, Field(ge=0)] | None = Field(
        None, description="steps in the base year; none = baseline activity / capacity, rounded up")


class CostBehaviour(Strict):
    """How the provider's cost of a service behaves when its activity changes (what the system
    really saves): variable + semi-fixed steps + fixed."""

    variable_cost: YearValues = Field(0.0, description="cost per unit of activity, in currency units")
    steps: Steps | None = Field(None, description="semi-fixed cost in whole steps; none = no steps")
    fixed_cost: YearValues = Field(
        0.0, description="cost per year that does not change with activity; never released within the plan "
        "(a service is not closed outright by the model)")


class Contract(Strict):
    """How the commissioner pays for a service (what the commissioner's budget really saves)."""

    form: Literal["activity", "block", "capitation"] = Field(
        description="activity: a price per unit, avoided activity releases price x activity at once; block: a "
        "yearly block value that falls only when a step of capacity is closed and its cost stops (the block "
        "is renegotiated by the step's cost); capitation: per head of population covered, whatever the activity")
    price: YearValues | None = Field(None, description="activity only: price per unit, in currency units; none = the unit "
                                    "cost")
    block_value: YearValues | None = Field(
        None, description="block only: block value per year at the base-year steps; none = unit cost x baseline "
        "activity")
    per_head: YearValues | None = Field(None, description="capitation only: currency per head per year")
    segments: list[Name] | None = Field(None, description="capitation only: segments covered; none = all")


class Transition(Strict):
    """One-off costs of changing a service (recruitment, training, set-up)."""

    setup_cost: YearValues = Field(
        description="one-off cost per unit of activity growth over the year before, in currency units")
class Attribution(Strict):
    """How a service's spend that pathway patients do not account for (all of it, for a service no
    pathway uses or paid by a block or capitation contract) is attributed to population segments: by stated shares, or in proportion to the
    segments' population each year. Give exactly one of ``shares`` or ``by_population``."""

    shares: dict[str, Fraction] | None = Field(
        None, description="segment -> fraction of the spend, the fractions summing to 1")
    by_population: list[Name] | Literal["all"] | None = Field(
        None, description="these segments ('all': every segment), each in proportion to its population "
        "in the year")


class Service(Strict):
    name: Name
    sector: Name = Field(description="name of one of the sectors")
    description: str = ""
    unit: str = Field("unit of activity", description="what one unit of activity is, e.g. 'bed day'")
    unit_cost: YearValues = Field(description="cost of one unit of activity; base year required")
    baseline_activity: NonNegative = Field(description="activity delivered in the base year")
    non_pathway_activity: YearValues = Field(
        0.0,
        description="activity each planning year for demand not modelled by any pathway "
        "(fixed; it costs money and counts towards capacity)",
    )
    capacity: Capacity = Field(default_factory=Capacity)
    max_growth: NonNegative | None = Field(
        None, description="largest rise in activity from one year to the next, as a fraction"
    )
    max_shrink: Fraction | None = Field(
        None, description="largest fall in activity from one year to the next, as a fraction"
    )
    opening: Opening | None = Field(
        None, description="a new service or site that must be opened before it delivers (mixed-integer)")
    minimum_scale: NonNegative | None = Field(
        None, description="each year, activity is either zero or at least this (mixed-integer)")
    teams: Teams | None = Field(None, description="activity in whole teams (mixed-integer)")
    place: Name | None = Field(
        None, description="the place (locality) the service belongs to; none = shared by all places")
    cost_behaviour: CostBehaviour | None = Field(
        None, description="the provider's cost split into variable, semi-fixed steps and fixed; none = every unit "
        "costs the unit cost")
    contract: Contract | None = Field(
        None, description="how the commissioner pays; none = unit cost x activity (an activity contract at the "
        "unit cost)")
    transition: Transition | None = Field(None, description="one-off set-up costs of growth")
    attribution: Attribution | None = Field(
        None, description="attribute the spend not used by pathway patients to segments (so ring fences and "
        "spend per head count it); none = that spend is attributable to no segment")


class Segment(Strict):
    name: Name
    description: str = ""
    population: YearValues = Field(description="people in the segment per year")
    place: Name | None = Field(None, description="the place (locality) whose population this is")


class Node(Strict):
    name: Name
    kind: Literal["source", "care", "sink"]
    description: str = ""
    incidence: one_of("a number, or a mapping segment -> number", number=NonNegative,
                      mapping=dict[str, NonNegative]) | None = Field(
        None,
        description="source nodes only: new patients per head of population per year, "
        "one number for every segment or a mapping segment -> rate",
    )
    service: Name | None = Field(None, description="care nodes only: the service delivering it")
    units_per_patient: NonNegative | None = Field(
        None, description="care nodes only: units of the service's activity per patient (default 1)"
    )


class Edge(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_: Name = Field(alias="from")
    to: Name
    share: one_of("a number from 0 to 1, or [min, max]", number=Fraction,
                  list=tuple[Fraction, Fraction]) = Field(
        description="share of the from-node's patients taking this edge: a fixed number or [min, max]"
    )
    description: str = ""


class Pathway(Strict):
    name: Name
    description: str = ""
    segments: list[Name] | None = Field(None, description="segments on this pathway; none = all")
    nodes: list[Node] = Field(min_length=1)
    edges: list[Edge] = Field(min_length=1)


class PreventionEffect(Strict):
    name: Name
    description: str = ""
    service: Name = Field(description="the service whose activity (or spend) drives the effect")
    pathway: Name
    sources: list[Name] = Field(min_length=1, description="source nodes whose incidence it lowers")
    segments: list[Name] | None = Field(None, description="segments affected; none = all on the pathway")
    lag: Whole = Field(1, ge=0, description="years between the service's activity and the effect")
    driver: Literal["activity", "spend"] = Field(
        "activity", description="whether the response curve is read against activity or spend"
    )
    response: list[tuple[NonNegative, Fraction]] = Field(
        min_length=2,
        description="piecewise-linear curve [[x, reduction], ...] from x = 0: the fractional "
        "reduction in incidence at driver level x; concave (diminishing returns) curves stay linear, "
        "other (e.g. S-shaped) curves are modelled exactly with binary variables; with `preset` and no "
        "response, made from the preset as [[0, 0], [full_effect_at, reduction]]",
    )
    response_model: Literal["auto", "exact"] = Field(
        "auto", description="auto: concave curves as a linear relaxation (exact unless more patients "
        "pay), others exactly; exact: always exactly, with binary variables")
    floor: Fraction = Field(
        0.0, description="incidence never falls below this fraction of its baseline level"
    )
    preset: str | None = Field(
        None, description="evidence library preset '<id>/<measure>' this effect comes from; its citation is "
        "shown in the results (see docs/evidence.md; `budgetshift evidence` lists them)")
    full_effect_at: NonNegative | None = Field(
        None, description="with `preset` and no `response`: the driver level (activity, or spend with "
        "driver: spend) at which the published reduction is reached in full; the curve rises linearly "
        "from [0, 0] to it and is flat beyond")
    reduction: Fraction | None = Field(
        None, description="with `preset` and no `response`: the reduction reached at `full_effect_at`, "
        "overriding the published figure (none = the published figure)")
    ramp: list[Fraction] | None = Field(
        None, min_length=1, description="lasting effects: fraction of one year's full effect reached in each of "
        "the first years it acts (from `lag` years after the activity), rising to 1, e.g. [0.5, 1.0]; "
        "none = [1] (the full effect at once)")
    persistence: Fraction | None = Field(
        None, description="lasting effects: fraction of the effect kept each further year after the ramp "
        "(geometric decay); none = 1 with `duration`, else 0 (the effect of one year's activity lasts "
        "only the ramp years: the one-year pulse when there is no ramp)")
    duration: Annotated[Whole, Field(ge=1)] | None = Field(
        None, description="lasting effects: years (from the first year it acts, ramp included) after which the "
        "effect of one year's activity stops; none = no end (with persistence > 0)")
    value_per_case: NonNegative | None = Field(
        None, description="with horizon.terminal_value: currency per case avoided beyond the horizon at its "
        "sources; none = the pathway's average care cost per case at final-year unit costs")


class ShareShift(Strict):
    """A sector group's share of spend rises by ``increase_pp`` points by the final year."""

    kind: Literal["share"]
    name: Name
    sectors: list[Name] = Field(min_length=1)
    increase_pp: Number = Field(
        description="percentage points over the base-year share, reached by the final year"
    )
    trajectory: Literal["linear", "final_year"] = Field(
        "linear", description="linear: rises in equal steps every year; final_year: only the last"
    )


class TransferShift(Strict):
    """At least ``amount`` moves from one sector to another by the final year."""

    kind: Literal["transfer"]
    name: Name
    from_sector: Name
    to_sector: Name
    amount: NonNegative = Field(description="currency units moved by the final year")
    trajectory: Literal["linear", "final_year"] = "linear"


ShiftPolicy = Annotated[Union[ShareShift, TransferShift], Field(discriminator="kind")]


class OutcomeTerm(Strict):
    pathway: Name
    node: Name | None = Field(
        None, description="count patients through this node (arriving at care and sink nodes; "
        "leaving, i.e. need after prevention, at source nodes) ...")
    edge: tuple[Name, Name] | None = Field(None, description="... or patients on this edge [from, to]")
    weight: Number = Field(1.0, description="outcome units per patient")
    segments: list[Name] | None = Field(None, description="segments counted; none = all")


class Outcome(Strict):
    name: Name
    unit: str = ""
    description: str = ""
    direction: Literal["lower_is_better", "higher_is_better"] = "lower_is_better"
    terms: list[OutcomeTerm] = Field(min_length=1)


class Target(Strict):
    outcome: Name
    year: Whole | None = None
    years: list[Whole] | Literal["all"] | None = None
    at_most: Number | None = None
    at_least: Number | None = None
    description: str = ""


class Objective(Strict):
    mode: Literal["min_cost", "max_outcome"] = "min_cost"
    weights: dict[str, Number] | None = Field(
        None,
        description="max_outcome: weight per outcome; the objective is the sum of weight x "
        "(discounted) yearly value, with lower-is-better outcomes counted negatively",
    )
    discount_outcomes: StrictBool = True


class Place(Strict):
    """A place (locality) sharing the budget: its people are the segments, its own services the
    services, that name it."""

    name: Name
    description: str = ""


class SpendScope(Strict):
    """Spend attributable to a group of people: every service listed (or located in a listed place)
    counts whole; every other service counts for the activity the group's pathway patients use
    (unit cost x units per patient x patients of the group's segments through its care nodes)."""

    segments: list[Name] = Field(default_factory=list, description="segments whose pathway use counts")
    places: list[Name] = Field(
        default_factory=list, description="places: their segments' pathway use and their own services count")
    services: list[Name] = Field(default_factory=list, description="services whose whole spend counts")
    sectors: list[Name] | None = Field(
        None, description="count pathway use only of services in these sectors; none = every sector")


class RingFence(SpendScope):
    """A ring-fenced budget: spend attributable to a segment group or place, per year, at least
    and/or at most a stated amount."""

    name: Name
    description: str = ""
    at_least: YearValues | None = Field(None, description="spend per year at least this")
    at_most: YearValues | None = Field(None, description="spend per year at most this")
    years: list[Whole] | Literal["all"] = Field("all", description="years it applies to")


class Capitation(SpendScope):
    """A capitated amount per head: spend attributable to the segments' care at most
    per_head x their population, each year (per place, with by_place)."""

    name: Name
    description: str = ""
    per_head: YearValues = Field(description="currency per head of the segments' population per year")
    by_place: StrictBool = Field(
        False, description="apply separately to each place's share of the segments (segments with that "
        "place; services located there)")
    years: list[Whole] | Literal["all"] = "all"


class Equity(Strict):
    """Equity across places: a measure per head must not differ across places by more than a
    ratio (highest <= max_ratio x lowest) or a gap (highest - lowest <= max_gap)."""

    name: Name
    description: str = ""
    measure: Literal["spend_per_head", "outcome_rate"] = Field(
        description="spend_per_head: attributable spend of the place / its population; outcome_rate: "
        "an outcome of the place's segments per 1,000 of its population")
    outcome: Name | None = Field(None, description="outcome_rate only: the outcome")
    places: list[Name] | None = Field(None, description="places compared; none = all")
    max_ratio: Annotated[Number, Field(ge=1)] | None = None
    max_gap: NonNegative | None = None
    years: list[Whole] | Literal["all"] = "all"


class Limits(Strict):
    max_openings_per_year: Annotated[Whole, Field(ge=0)] | None = Field(
        None, description="most new services or sites (with 'opening') that may open in one year")


class TransformationFund(Strict):
    """A time-limited transformation (bridging) fund outside the recurrent budget: it may pay for
    transition (set-up) costs only, never for recurrent spend."""

    name: Name = "transformation fund"
    description: str = ""
    per_year: YearValues | None = Field(None, description="most it pays out in a year; none = no yearly limit")
    total: NonNegative | None = Field(None, description="most it pays out over the plan; none = no total limit")
    years: list[Whole] | Literal["all"] = Field("all", description="planning years it is available")


class InstanceFile(Strict):
    format_version: Annotated[Literal[1], BeforeValidator(_number)]
    name: Name
    description: str = ""
    currency: str = "GBP"
    horizon: Horizon
    budget: Budget
    sectors: list[one_of("a sector name, or a mapping {name, description}", _name_or_shape, text=Name,
                         mapping=Sector)] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    segments: list[Segment] = Field(min_length=1)
    pathways: list[Pathway] = Field(default_factory=list)
    prevention_effects: list[PreventionEffect] = Field(default_factory=list)
    shift_policies: list[ShiftPolicy] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    objective: Objective = Field(default_factory=Objective)
    limits: Limits = Field(default_factory=Limits)
    places: list[Place] = Field(default_factory=list, description="places (localities) sharing the budget")
    ring_fences: list[RingFence] = Field(default_factory=list)
    capitation: list[Capitation] = Field(default_factory=list)
    equity: list[Equity] = Field(default_factory=list)
    transformation_fund: TransformationFund | None = Field(
        None, description="a time-limited fund for transition costs, outside the recurrent budget")

    @field_validator("sectors")
    @classmethod
    def _sectors_as_objects(cls, v: list) -> list:
        return [Sector(name=s) if isinstance(s, str) else s for s in v]
