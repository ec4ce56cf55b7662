"""The instance file format, version 1, as pydantic models.

This module is the single statement of what an instance file may contain: every field's
type, unit, default and meaning. ``extra="forbid"`` everywhere, so a misspelt key fails
validation instead of being silently ignored. Cross-references (a service named in a
pathway, a year outside the horizon, ...) are checked afterwards in
:mod:`optimiser.validation`, which sees the whole file at once.

The reference documentation in ``docs/instance-format.md`` describes these models.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

FORMAT_VERSION = 1

NonNegative = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Base for every section: unknown keys are errors, loaded objects are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Growth(Strict):
    """A yearly series given as a base-year value growing at a constant rate.

    The value in year ``y`` is ``value * (1 + growth) ** (y - base_year)``.
    """

    value: NonNegative = Field(description="value in the base year")
    growth: float = Field(0.0, gt=-1, description="growth rate per year, e.g. 0.02 for 2%")


# A yearly series: one number for every year, a mapping year -> number, or a growth rule.
YearValues = Union[NonNegative, dict[int, NonNegative], Growth]


class Horizon(Strict):
    base_year: int = Field(description="the last year with known (baseline) spend and activity")
    years: int = Field(5, ge=1, le=50, description="number of planning years after the base year")
    discount_rate: float = Field(
        0.035, ge=0, lt=1,
        description="annual discount rate for costs (HM Treasury Green Book: 3.5%)",
    )


class Budget(Strict):
    pooled: YearValues = Field(
        description="pooled budget per planning year, in currency units (e.g. GBP)"
    )


class Sector(Strict):
    name: Name
    description: str = ""


class Capacity(Strict):
    min: YearValues = Field(0.0, description="lowest activity per year, in the service's units")
    max: YearValues | None = Field(None, description="highest activity per year; none = no limit")


class Opening(Strict):
    """A new service or site: it exists only once opened (at most once, not before a year)."""

    earliest_year: int | None = Field(None, description="first year it may open; none = first planning year")
    opening_cost: NonNegative = Field(0.0, description="one-off cost in the year it opens")
    running_cost: YearValues = Field(0.0, description="fixed cost each year it is open")


class Teams(Strict):
    """Activity delivered by whole teams: activity <= teams x activity_per_team."""

    activity_per_team: Annotated[float, Field(gt=0)] = Field(description="units of activity one team delivers a year")
    cost_per_team: YearValues = Field(0.0, description="yearly cost of one team (on top of the unit cost)")
    max_teams: Annotated[int, Field(ge=0)] | None = Field(None, description="most teams in any year")


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


class Segment(Strict):
    name: Name
    description: str = ""
    population: YearValues = Field(description="people in the segment per year")


class Node(Strict):
    name: Name
    kind: Literal["source", "care", "sink"]
    description: str = ""
    incidence: NonNegative | dict[str, NonNegative] | None = Field(
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
    share: Fraction | tuple[Fraction, Fraction] = Field(
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
    lag: int = Field(1, ge=0, description="years between the service's activity and the effect")
    driver: Literal["activity", "spend"] = Field(
        "activity", description="whether the response curve is read against activity or spend"
    )
    response: list[tuple[NonNegative, Fraction]] = Field(
        min_length=2,
        description="piecewise-linear curve [[x, reduction], ...] from x = 0: the fractional "
        "reduction in incidence at driver level x; concave (diminishing returns) curves stay linear, "
        "other (e.g. S-shaped) curves are modelled exactly with binary variables",
    )
    response_model: Literal["auto", "exact"] = Field(
        "auto", description="auto: concave curves as a linear relaxation (exact unless more patients "
        "pay), others exactly; exact: always exactly, with binary variables")
    floor: Fraction = Field(
        0.0, description="incidence never falls below this fraction of its baseline level"
    )


class ShareShift(Strict):
    """A sector group's share of spend rises by ``increase_pp`` points by the final year."""

    kind: Literal["share"]
    name: Name
    sectors: list[Name] = Field(min_length=1)
    increase_pp: float = Field(
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
    weight: float = Field(1.0, description="outcome units per patient")
    segments: list[Name] | None = Field(None, description="segments counted; none = all")


class Outcome(Strict):
    name: Name
    unit: str = ""
    description: str = ""
    direction: Literal["lower_is_better", "higher_is_better"] = "lower_is_better"
    terms: list[OutcomeTerm] = Field(min_length=1)


class Target(Strict):
    outcome: Name
    year: int | None = None
    years: list[int] | Literal["all"] | None = None
    at_most: float | None = None
    at_least: float | None = None
    description: str = ""


class Objective(Strict):
    mode: Literal["min_cost", "max_outcome"] = "min_cost"
    weights: dict[str, float] | None = Field(
        None,
        description="max_outcome: weight per outcome; the objective is the sum of weight x "
        "(discounted) yearly value, with lower-is-better outcomes counted negatively",
    )
    discount_outcomes: StrictBool = True


class Limits(Strict):
    max_openings_per_year: Annotated[int, Field(ge=0)] | None = Field(
        None, description="most new services or sites (with 'opening') that may open in one year")


class InstanceFile(Strict):
    format_version: Literal[1]
    name: Name
    description: str = ""
    currency: str = "GBP"
    horizon: Horizon
    budget: Budget
    sectors: list[Union[Name, Sector]] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    segments: list[Segment] = Field(min_length=1)
    pathways: list[Pathway] = Field(default_factory=list)
    prevention_effects: list[PreventionEffect] = Field(default_factory=list)
    shift_policies: list[ShiftPolicy] = Field(default_factory=list)
    outcomes: list[Outcome] = Field(default_factory=list)
    targets: list[Target] = Field(default_factory=list)
    objective: Objective = Field(default_factory=Objective)
    limits: Limits = Field(default_factory=Limits)

    @field_validator("sectors")
    @classmethod
    def _sectors_as_objects(cls, v: list) -> list:
        return [Sector(name=s) if isinstance(s, str) else s for s in v]
