"""A catalogue of bad inputs, each run through the real CLI: every one gives the right exit status,
no traceback, and a message naming the file (or the option), the field (or line, or CSV row and
column) and what was expected.

Each case starts from ``instances/tiny/two_services.yaml`` (written into a fresh folder as
``plan.yaml``) and changes one thing. ``says`` lists fragments the output must contain: the file
or option blamed, where, and the expectation. A few cases are *accepted* inputs kept here because
they once went wrong (a byte-order mark, blank rows at the end of a CSV table, ``.inf`` for an
unlimited capacity). Cases run in-process through click's runner; the last tests run a few of
them through the installed console script, as a planner would.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from optimiser.input import reading
from optimiser.cli.main import EXIT_INVALID, EXIT_OK, EXIT_USAGE, main

from .conftest import ROOT

TINY = ROOT / "instances" / "tiny" / "two_services.yaml"
BASE = TINY.read_text(encoding="utf-8")

# the tiny instance with its services and a population in CSV tables
CSV_PLAN = BASE.replace(
    """services:
  - {name: clinic, sector: prevention, unit_cost: 100, baseline_activity: 100}
  - {name: ward, sector: acute, unit_cost: 1000, baseline_activity: 100}
segments:
  - {name: adults, population: 10000}""",
    """services: {from_csv: services.csv}
segments:
  - {name: adults, population: {from_csv: population.csv}}""")
SERVICES = "name,sector,unit_cost,baseline_activity,capacity.max\nclinic,prevention,100,100,\nward,acute,1000,100,500\n"
POPULATION = "year,value\n2025,10000\n2026,10000\n2027,10000\n"

BOMB = """
lol1: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
lol2: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
lol3: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
lol4: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
lol5: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
lol6: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
lol7: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
lol8: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
lol9: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def sub(old: str, new: str, text: str = BASE) -> str:
    """``text`` with ``old`` (which must be there) replaced by ``new``."""
    assert old in text, old
    return text.replace(old, new, 1)


@dataclass
class Case:
    id: str
    says: tuple[str, ...]                 # fragments of the output: the blamed file/option, where, what
    plan: str | bytes | None = BASE       # plan.yaml's contents (None: no plan.yaml)
    files: dict[str, str | bytes] = field(default_factory=dict)  # more files beside it
    args: tuple[str, ...] = ()            # after the file: --set ..., --time-limit ...
    command: str = "validate"
    code: int = EXIT_INVALID
    limits: dict[str, int] = field(default_factory=dict)  # loading limits lowered for the case


def csv_case(id, says, services=SERVICES, population=POPULATION, **kw) -> Case:
    return Case(id, says, plan=CSV_PLAN, files={"services.csv": services, "population.csv": population}, **kw)


def option_case(command: str, option: str, value: str, expectation: str, *extra: str) -> Case:
    args = ("--vary", "budget.pooled=1e6:2e6:1e6") if command == "sweep" else ()
    return Case(f"{command}{option}={value}", (f"'{option}'", repr(value), expectation), command=command,
                args=(*extra, *args, option, value), code=EXIT_USAGE)


CASES = [
    # ------------------------------------------------------------------ the file itself
    Case("missing-file", ("nope.yaml", "(file)", "no such file"), plan=None, args=()),
    Case("empty-file", ("plan.yaml", "expected a mapping with format_version", "an empty file"), plan=""),
    Case("only-comments", ("plan.yaml", "expected a mapping with format_version", "only comments"),
         plan="# nothing yet\n"),
    Case("tab-indentation", ("plan.yaml", "line 5, column 1", "tabs are not allowed in YAML indentation"),
         plan=sub("horizon: {base_year: 2025, years: 2, discount_rate: 0.0}",
                  "horizon:\n\tbase_year: 2025")),
    Case("unclosed-bracket", ("plan.yaml", "line 9", "valid YAML"),
         plan=sub("baseline_activity: 100}\n  - {name: ward", "baseline_activity: 100\n  - {name: ward")),
    Case("top-level-list", ("plan.yaml", "(top level)", "a mapping of sections", "a list of 2"), plan="- a\n- b\n"),
    Case("top-level-text", ("plan.yaml", "(top level)", "a mapping of sections", "'just text'"), plan="just text\n"),
    Case("two-documents", ("plan.yaml", "line 2", "a single document"), plan="a: 1\n---\nb: 2\n"),
    Case("duplicate-top-level-key", ("plan.yaml", "line 4, column 1", "each key once in a mapping",
                                     "'name' again (first on line 3)"),
         plan=sub("name: two services, one target\n", "name: two services, one target\nname: other\n")),
    Case("duplicate-key-in-flow-mapping", ("plan.yaml", "line 8", "each key once", "'unit_cost' again"),
         plan=sub("unit_cost: 100,", "unit_cost: 100, unit_cost: 200,")),
    Case("duplicate-year-key", ("plan.yaml", "line 5", "each key once", "2026 again"),
         plan=sub("budget: {pooled: 1000000}", "budget: {pooled: {2026: 1, 2027: 2, 2026: 3}}")),
    Case("binary-tag", ("plan.yaml", "line 3", "no YAML tags", "!!binary"),
         plan=sub("name: two services, one target", "name: !!binary aGVsbG8=")),
    Case("python-object-tag", ("plan.yaml", "line 3", "no YAML tags", "!!python/object/apply:os.system"),
         plan=sub("name: two services, one target", "name: !!python/object/apply:os.system [echo hi]")),
    Case("custom-tag", ("plan.yaml", "line 3", "no YAML tags", "!secret"),
         plan=sub("name: two services, one target", "name: !secret abc")),
    Case("set-tag", ("plan.yaml", "no YAML tags", "!!set"),
         plan=sub("sectors: [prevention, acute]", "sectors: !!set {prevention, acute}")),
    Case("alias-bomb-under-unused-key", ("plan.yaml", "aliases", "an alias bomb"), plan=BASE + BOMB),
    Case("recursive-alias", ("plan.yaml", "line", "a recursive structure"), plan=BASE + "loop: &x [1, *x]\n"),
    Case("latin-1-yaml", ("plan.yaml", "line 3", "UTF-8", "0xe9"),
         plan=sub("name: two services, one target", "name: caf\xe9").encode("latin-1")),
    Case("nul-character", ("plan.yaml", "line 3, column 8", "text without control characters", "'\\x00'"), plan=sub("name: two", "name: t\x00wo")),
    Case("too-deep", ("plan.yaml", "line 1", "valid YAML", "nesting depth"), plan="a: " + "[" * 2000 + "]" * 2000),
    Case("file-over-the-size-limit", ("plan.yaml", "(file)", "a file of at most 1,000 bytes", "CSV files"),
         plan=BASE + "#" * 1000 + "\n", limits={"MAX_YAML_BYTES": 1000}),
    Case("utf-8-bom-is-read", ("valid",), plan=b"\xef\xbb\xbf" + BASE.encode(), code=EXIT_OK),
    Case("anchors-for-a-template-are-read", ("valid",), code=EXIT_OK,
         plan=sub("  - {name: ward, sector: acute, unit_cost: 1000, baseline_activity: 100}",
                  "  - &ward {name: ward, sector: acute, unit_cost: 1000, baseline_activity: 100}\n"
                  "  - {<<: *ward, name: ward2}")),

    # ------------------------------------------------------------------ strict numbers
    Case("unit-cost-true", ("plan.yaml", "services[0] (clinic).unit_cost", "a number (true/false is not a number)",
                            "True"), plan=sub("unit_cost: 100,", "unit_cost: true,")),
    Case("population-yes", ("plan.yaml", "segments[0] (adults).population", "true/false is not a number"),
         plan=sub("population: 10000", "population: yes")),
    Case("target-nan", ("plan.yaml", "targets[0].at_most", "a finite number (not NaN or an infinity)", "nan"),
         plan=sub("at_most: 150", "at_most: .nan")),
    Case("budget-infinite", ("plan.yaml", "budget.pooled", "a finite number"),
         plan=sub("budget: {pooled: 1000000}", "budget: {pooled: .inf}")),
    Case("year-value-nan", ("plan.yaml", "budget.pooled[2027]", "a finite number"),
         plan=sub("budget: {pooled: 1000000}", "budget: {pooled: {2026: 1000000, 2027: .nan}}")),
    Case("growth-nan", ("plan.yaml", "services[0] (clinic).unit_cost.growth", "a finite number"),
         plan=sub("unit_cost: 100,", "unit_cost: {value: 100, growth: .nan},")),
    Case("capacity-max-nan", ("plan.yaml", "services[0] (clinic).capacity.max", "or .inf for no limit", "nan"),
         plan=sub("unit_cost: 100,", "unit_cost: 100, capacity: {max: .nan},")),
    Case("capacity-max-inf-means-no-limit", ("valid",), code=EXIT_OK,
         plan=sub("unit_cost: 100,", "unit_cost: 100, capacity: {max: .inf},")),
    Case("number-as-exponent-text-is-read", ("valid",), code=EXIT_OK,
         plan=sub("budget: {pooled: 1000000}", "budget: {pooled: 1e6}")),
    Case("share-nan", ("plan.yaml", "pathways[0] (crisis).edges[0].share[1]", "a finite number"),
         plan=sub("share: [0.2, 0.6]", "share: [0.2, .nan]")),
    Case("share-above-one", ("plan.yaml", "pathways[0] (crisis).edges[2].share", "a value <= 1", "1.5"),
         plan=sub("{from: clinic_visit, to: home, share: 1}", "{from: clinic_visit, to: home, share: 1.5}")),
    Case("share-text", ("plan.yaml", "edges[0].share", "a number from 0 to 1, or [min, max]", "'most'"),
         plan=sub("share: [0.2, 0.6]", "share: most")),
    Case("years-not-whole", ("plan.yaml", "horizon.years", "a whole number", "2.5"),
         plan=sub("years: 2,", "years: 2.5,")),
    Case("base-year-bool", ("plan.yaml", "horizon.base_year", "true/false is not a number"),
         plan=sub("base_year: 2025", "base_year: true")),
    Case("discount-rate-text", ("plan.yaml", "horizon.discount_rate", "a number", "'low'"),
         plan=sub("discount_rate: 0.0", "discount_rate: low")),
    Case("discount-rate-one", ("plan.yaml", "horizon.discount_rate", "a value < 1"),
         plan=sub("discount_rate: 0.0", "discount_rate: 1")),
    Case("years-zero", ("plan.yaml", "horizon.years", "a value >= 1"), plan=sub("years: 2,", "years: 0,")),
    Case("format-version-2", ("plan.yaml", "format_version", "one of 1"),
         plan=sub("format_version: 1", "format_version: 2")),
    Case("format-version-true", ("plan.yaml", "format_version", "true/false is not a number"),
         plan=sub("format_version: 1", "format_version: true")),
    Case("negative-cost", ("plan.yaml", "services[1] (ward).unit_cost", "a value >= 0", "-1000"),
         plan=sub("unit_cost: 1000,", "unit_cost: -1000,")),
    Case("negative-incidence", ("plan.yaml", "nodes[0].incidence", "a value >= 0"),
         plan=sub("incidence: 0.02", "incidence: -0.02")),
    Case("incidence-bool-by-segment", ("plan.yaml", "nodes[0].incidence.adults", "true/false is not a number"),
         plan=sub("incidence: 0.02", "incidence: {adults: on}")),
    Case("growth-minus-one", ("plan.yaml", "unit_cost.growth", "a value > -1"),
         plan=sub("unit_cost: 100,", "unit_cost: {value: 100, growth: -1},")),
    Case("unit-cost-list", ("plan.yaml", "services[0] (clinic).unit_cost",
                            "a number, a mapping year -> number, or a growth rule", "a list of 2"),
         plan=sub("unit_cost: 100,", "unit_cost: [100, 110],")),
    Case("huge-number-overflows", ("plan.yaml", "budget.pooled", "a finite number", "inf"),
         plan=sub("budget: {pooled: 1000000}", "budget: {pooled: 1.0e400}")),
    Case("objective-weight-nan", ("plan.yaml", "objective.weights.admissions", "a finite number"),
         plan=BASE + "objective: {mode: max_outcome, weights: {admissions: .nan}}\n"),
    Case("year-key-bool", ("plan.yaml", "budget.pooled", "keys that are a number (true/false is not a number)"),
         plan=sub("budget: {pooled: 1000000}", "budget: {pooled: {yes: 1}}")),

    # ------------------------------------------------------------------ structure and cross-references
    Case("missing-required-field", ("plan.yaml", "services[1] (ward).unit_cost", "this field (it is required)"),
         plan=sub("unit_cost: 1000, ", "")),
    Case("missing-section", ("plan.yaml", "segments", "this field (it is required)"),
         plan=sub("segments:\n  - {name: adults, population: 10000}\n", "")),
    Case("misspelt-key", ("plan.yaml", "services[0] (clinic).unit_cots", "a field the format knows"),
         plan=sub("unit_cost: 100,", "unit_cots: 100,")),
    Case("wrong-nesting", ("plan.yaml", "horizon.pooled", "a field the format knows"),
         plan=sub("discount_rate: 0.0}", "discount_rate: 0.0, pooled: 5}")),
    Case("services-as-mapping", ("plan.yaml", "services", "a list"),
         plan=sub("services:\n  - {name: clinic", "services:\n  clinic: {name: clinic").replace(
             "  - {name: ward", "  ward: {name: ward")),
    Case("no-services", ("plan.yaml", "services", "at least 1 item"),
         plan=sub("services:\n  - {name: clinic, sector: prevention, unit_cost: 100, baseline_activity: 100}\n"
                  "  - {name: ward, sector: acute, unit_cost: 1000, baseline_activity: 100}\n", "services: []\n")),
    Case("empty-name", ("plan.yaml", "services[0].name", "non-empty text"),
         plan=sub("{name: clinic,", "{name: '',")),
    Case("name-not-text", ("plan.yaml", "segments[0].name", "text", "5"), plan=sub("name: adults", "name: 5")),
    Case("duplicate-service", ("plan.yaml", "services", "unique names", "'clinic' 2 times"),
         plan=sub("{name: ward, sector: acute", "{name: clinic, sector: acute")),
    Case("unknown-sector", ("plan.yaml", "services[1] (ward).sector", "one of the sectors", "'hospital'"),
         plan=sub("sector: acute", "sector: hospital")),
    Case("unknown-service-in-node", ("plan.yaml", "nodes[2] (admission).service", "a service defined under",
                                     "'hospital'"), plan=sub("service: ward}", "service: hospital}")),
    Case("unknown-outcome-in-target", ("plan.yaml", "targets[0] (readmissions).outcome", "an outcome defined under 'outcomes'", "'readmissions'"),
         plan=sub("{outcome: admissions,", "{outcome: readmissions,")),
    Case("shares-do-not-sum", ("plan.yaml", "pathways[0] (crisis).edges (out of need)", "can sum to 1",
                               "mins sum to 1.2"), plan=sub("share: [0.4, 0.8]", "share: [1.0, 1.0]")),
    Case("unreachable-node", ("plan.yaml", "pathways[0] (crisis).nodes (orphan)", "reachable from a source",
                              "'orphan' cannot be reached"),
         plan=sub("      - {name: home, kind: sink}", "      - {name: home, kind: sink}\n"
                  "      - {name: orphan, kind: care, service: ward}\n", ) .replace(
             "      - {from: admission, to: home, share: 1}",
             "      - {from: admission, to: home, share: 1}\n      - {from: orphan, to: home, share: 1}")),
    Case("edge-to-unknown-node", ("plan.yaml", "edges[3] (admission -> hospice).to", "a node of pathway 'crisis'"),
         plan=sub("{from: admission, to: home, share: 1}", "{from: admission, to: hospice, share: 1}")),
    Case("node-kind", ("plan.yaml", "nodes[3].kind", "one of 'source', 'care' or 'sink'"),
         plan=sub("{name: home, kind: sink}", "{name: home, kind: exit}")),
    Case("target-year-outside-horizon", ("plan.yaml", "targets[0]", "2030"),
         plan=sub("years: all, at_most: 150", "year: 2030, at_most: 150")),
    Case("shift-policy-without-kind", ("plan.yaml", "shift_policies[0]", "a 'kind' field"),
         plan=BASE + "shift_policies:\n  - {name: up, sectors: [prevention], increase_pp: 2}\n"),

    # ------------------------------------------------------------------ CSV tables
    csv_case("csv-read", ("valid",), code=EXIT_OK),
    csv_case("csv-latin-1", ("services.csv", "row 3, column sector", "UTF-8", "0xe9"),
             services=SERVICES.replace("acute", "acut\xe9").encode("latin-1")),
    csv_case("csv-bom-is-read", ("valid",), services=b"\xef\xbb\xbf" + SERVICES.encode(), code=EXIT_OK),
    csv_case("csv-bom-in-year-value-table-is-read", ("valid",), population=b"\xef\xbb\xbf" + POPULATION.encode(),
             code=EXIT_OK),
    csv_case("csv-blank-rows-at-the-end-are-skipped", ("valid",), services=SERVICES + ",,,,\n\n", code=EXIT_OK),
    csv_case("csv-empty-cell-in-year-value-table", ("population.csv", "row 3, column value", "an empty cell"),
             population=POPULATION.replace("2026,10000", "2026,")),
    csv_case("csv-empty-required-cell", ("services.csv", "row 3, column unit_cost", "services[1] (ward).unit_cost",
                                         "this field (it is required)", "an empty cell"),
             services=SERVICES.replace("ward,acute,1000,", "ward,acute,,")),
    csv_case("csv-duplicate-year", ("population.csv", "row 5, column year", "each year in one row only",
                                    "2026 again (also row 3)"), population=POPULATION + "2026,5\n"),
    csv_case("csv-duplicate-name", ("services.csv", "row 4, column name", "each name in one row only",
                                    "'ward' again (also row 3)"), services=SERVICES + "ward,acute,900,100,500\n"),
    csv_case("csv-too-many-cells", ("services.csv", "row 2, column 6", "5 cells, one per column", "6 cells"),
             services=SERVICES.replace("clinic,prevention,100,100,", "clinic,prevention,100,100,,x")),
    csv_case("csv-too-few-cells", ("services.csv", "row 3, column capacity.max", "5 cells", "4 cells"),
             services=SERVICES.replace("ward,acute,1000,100,500", "ward,acute,1000,100")),
    csv_case("csv-empty-file", ("services.csv", "row 1", "a header row naming the columns", "an empty file"),
             services=""),
    csv_case("csv-header-only", ("services.csv", "the table (services)", "at least 1 item"),
             services=SERVICES.splitlines()[0] + "\n"),
    csv_case("csv-duplicate-column", ("services.csv", "row 1, column 3", "each column name once",
                                      "'sector' again (also column 2)"),
             services=SERVICES.replace("name,sector,unit_cost", "name,sector,sector", 1)),
    csv_case("csv-column-and-its-part", ("services.csv", "row 1, column 6", "columns that fill different fields",
                                         "'capacity'"),
             services=SERVICES.replace("capacity.max\n", "capacity.max,capacity\n").replace(",\n", ",,\n").replace(
                 "500\n", "500,\n")),
    csv_case("csv-empty-column-name", ("services.csv", "row 1, column 5", "a column name", "an empty cell"),
             services=SERVICES.replace("capacity.max", "")),
    csv_case("csv-bool-cell", ("services.csv", "row 3, column unit_cost", "true/false is not a number"),
             services=SERVICES.replace("ward,acute,1000", "ward,acute,true")),
    csv_case("csv-nan-cell", ("population.csv", "row 3, column value", "segments[0] (adults).population[2026]",
                              "a finite number"), population=POPULATION.replace("2026,10000", "2026,nan")),
    csv_case("csv-negative-cell", ("services.csv", "row 2, column unit_cost", "a value >= 0", "-100"),
             services=SERVICES.replace("clinic,prevention,100", "clinic,prevention,-100")),
    csv_case("csv-unknown-column", ("services.csv", "row 2, column colour", "a field the format knows"),
             services=SERVICES.replace("capacity.max\n", "capacity.max,colour\n").replace("100,\n", "100,,red\n")
             .replace("500\n", "500,blue\n")),
    csv_case("csv-unknown-sector-cell", ("services.csv", "row 3, column sector", "one of the sectors", "'hospital'"),
             services=SERVICES.replace("ward,acute", "ward,hospital")),
    csv_case("csv-missing-year-row", ("population.csv", "the table", "a value for every year", "2027"),
             population=POPULATION.replace("2027,10000\n", "")),
    Case("csv-missing-file", ("plan.yaml", "services.from_csv", "an existing CSV file", "no such file"),
         plan=CSV_PLAN, files={"population.csv": POPULATION}),
    Case("csv-reference-not-text", ("plan.yaml", "services.from_csv", "the name of a CSV file", "5"),
         plan=sub("services: {from_csv: services.csv}", "services: {from_csv: 5}", CSV_PLAN),
         files={"population.csv": POPULATION}),
    csv_case("csv-over-the-size-limit", ("services.csv", "a file of at most 50 bytes"),
             limits={"MAX_CSV_BYTES": 50}),

    # ------------------------------------------------------------------ --set and --scenario
    Case("set-empty-path", ("--set", "=5", "nothing before '='"), args=("--set", "=5")),
    Case("set-unbalanced-bracket", ("--set", "services[0.unit_cost=5", "a field path such as", "unclosed '['"),
         args=("--set", "services[0.unit_cost=5")),
    Case("set-unknown-index", ("--set", "services[9].unit_cost", "an item of services", "no item '9'"),
         args=("--set", "services[9].unit_cost=5")),
    Case("set-unknown-field", ("--set", "nosuch.x", "a path to an existing field", "no field 'nosuch'"),
         args=("--set", "nosuch.x=5")),
    Case("set-without-equals", ("--set", "'horizon.years'", "PATH=VALUE"), args=("--set", "horizon.years")),
    Case("set-empty-step", ("--set", "services..unit_cost", "an empty step"), args=("--set", "services..unit_cost=5")),
    Case("set-through-a-value", ("--set", "horizon.years.x", "a single value"), args=("--set", "horizon.years.x=5")),
    Case("set-wrong-value-blames-set", ("--set: services[0] (clinic).unit_cost", "true/false is not a number"),
         args=("--set", "services[clinic].unit_cost=true")),
    Case("set-nan-blames-set", ("--set: targets[0].at_most", "a finite number"), args=("--set", "targets[0].at_most=.nan")),
    Case("set-twice", ("--set", "horizon.years", "each field set once", "set twice"),
         args=("--set", "horizon.years=3", "--set", "horizon.years=4")),
    Case("set-binary-tag", ("--set", "services[0].unit_cost", "no YAML tags", "!!binary"),
         args=("--set", "services[0].unit_cost=!!binary aGk=")),
    Case("unknown-scenario", ("plan.yaml", "--scenario", "a scenario defined in the file", "'nope'"),
         args=("--scenario", "nope")),
    Case("unknown-scenario-lists-the-known", ("plan.yaml", "--scenario", "one of the scenarios defined in the file: "
                                              "cheap", "'dear'"),
         plan=BASE + "scenarios:\n  cheap: {overrides: {budget.pooled: 900000}}\n", args=("--scenario", "dear")),
    Case("scenario-bad-path", ("plan.yaml", "scenarios.cheap.overrides[budget[pooled]", "a field path such as",
                               "unclosed '['"),
         plan=BASE + "scenarios:\n  cheap: {overrides: {'budget[pooled': 900000}}\n"),
    Case("scenario-wrong-value-blames-scenario", ("plan.yaml: scenarios.cheap", "budget.pooled",
                                                  "true/false is not a number"),
         plan=BASE + "scenarios:\n  cheap: {overrides: {budget.pooled: yes}}\n", args=("--scenario", "cheap")),

    # ------------------------------------------------------------------ option values (usage errors)
    option_case("solve", "--time-limit", "nan", "a number of seconds > 0"),
    option_case("solve", "--time-limit", "inf", "a number of seconds > 0"),
    option_case("solve", "--time-limit", "-1", "a number of seconds > 0"),
    option_case("solve", "--time-limit", "0", "a number of seconds > 0"),
    option_case("solve", "--time-limit", "soon", "is not a number"),
    option_case("solve", "--mip-gap", "1", "a relative gap from 0"),
    option_case("solve", "--mip-gap", "nan", "a relative gap from 0"),
    option_case("solve", "--mip-gap", "-0.1", "a relative gap from 0"),
    option_case("solve", "--threads", "0", "a number of threads >= 1"),
    option_case("explain", "--time-limit", "nan", "a number of seconds > 0"),
    option_case("explain", "--threads", "0", "a number of threads >= 1"),
    option_case("compare", "--time-limit", "inf", "a number of seconds > 0"),
    option_case("sweep", "--time-limit", "-5", "a number of seconds > 0"),
    option_case("sweep", "--threads", "0", "a number of threads >= 1"),
    option_case("pareto", "--time-limit", "nan", "a number of seconds > 0", "--outcome", "admissions"),
    option_case("pooling", "--mip-gap", "2", "a relative gap from 0"),
    option_case("pooling", "--time-limit", "nan", "a number of seconds > 0"),
    option_case("uncertainty", "--time-limit", "inf", "a number of seconds > 0"),
    Case("sweep-vary-nan", ("--vary budget.pooled", "finite numbers", "'nan:1:1'"), command="sweep",
         args=("--vary", "budget.pooled=nan:1:1")),
    Case("sweep-vary-bad-path", ("--vary", "budget.pooled[", "unclosed '['"), command="sweep",
         args=("--vary", "budget.pooled[=1:2:1")),
]


def _run(case: Case, folder: Path, monkeypatch) -> tuple[int, str]:
    for name, limit in case.limits.items():
        monkeypatch.setattr(reading, name, limit)
    plan = folder / ("plan.yaml" if case.plan is not None else "nope.yaml")
    if case.plan is not None:
        plan.write_bytes(case.plan if isinstance(case.plan, bytes) else case.plan.encode("utf-8"))
    for name, content in case.files.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    result = CliRunner().invoke(main, [case.command, str(plan), *case.args])
    return result.exit_code, result.output


def test_the_catalogue_is_large_enough():
    assert len(CASES) >= 70
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch):
    code, out = _run(case, tmp_path, monkeypatch)
    assert "Traceback" not in out and "internal error" not in out, out
    assert code == case.code, out
    for fragment in case.says:
        assert fragment in out, f"{fragment!r} not in:\n{out}"
    if code == EXIT_INVALID:  # a problem list: every problem says what was expected and what was found
        problems = [line for line in out.splitlines() if line.startswith("  - ")]
        assert problems and all("expected" in p and "; found" in p for p in problems), out


def test_an_alias_bomb_fails_at_once(tmp_path):
    """A "billion laughs" file (10^9 values once expanded) is refused in well under a second of
    work, instead of growing to gigabytes."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(BASE + BOMB, encoding="utf-8")
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["validate", str(plan)])
    assert result.exit_code == EXIT_INVALID and "alias bomb" in result.output
    assert time.perf_counter() - start < 5


def test_a_template_reused_by_aliases_is_read(tmp_path):
    """Anchors and merge keys used as templates load to the same instance as the file written out."""
    out = tmp_path / "plan.yaml"
    out.write_text(sub("  - {name: ward, sector: acute, unit_cost: 1000, baseline_activity: 100}",
                       "  - &ward {name: ward, sector: acute, unit_cost: 1000, baseline_activity: 100}"), encoding="utf-8")
    import optimiser

    a, b = optimiser.load(out), optimiser.load(TINY)
    assert a.raw == b.raw


# ------------------------------------------------------------------------ through the console script

SCRIPT = [sys.executable, "-m", "optimiser"]


@pytest.mark.parametrize("id", ["alias-bomb-under-unused-key"] + [  # a process each: one in the quick suite
    pytest.param(i, marks=pytest.mark.slow)
    for i in ["csv-latin-1", "set-empty-path", "solve--time-limit=nan", "unit-cost-true"]])
def test_bad_input_through_the_console_script(id, tmp_path):
    """The same cases as a planner runs them: a separate process, its exit status and stderr."""
    case = next(c for c in CASES if c.id == id)
    plan = tmp_path / "plan.yaml"
    plan.write_bytes(case.plan if isinstance(case.plan, bytes) else case.plan.encode("utf-8"))
    for name, content in case.files.items():
        (tmp_path / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    proc = subprocess.run([*SCRIPT, case.command, str(plan), *case.args], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == case.code, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in case.says:
        assert fragment in proc.stderr, f"{fragment!r} not in:\n{proc.stderr}"
