"""Reading instance files strictly: YAML (size and alias limits, no duplicate keys, no tags, plain
messages for tabs, encodings and control characters) and the CSV tables an instance names with
``{from_csv: file.csv}`` (UTF-8, one value per cell, every problem at its row and column).
Nothing here knows what the fields mean: that is :mod:`optimiser.input.schema` and
:mod:`optimiser.input.validation`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import yaml

from ..errors import MISSING, InstanceError, Problem, describe, format_path


#: the largest instance file read (bytes), checked before parsing. A national instance written
#: wholly in YAML is ~5 MB per million variables; larger tables belong in CSV files.
MAX_YAML_BYTES = 50 * 1024 * 1024
#: the largest CSV table read (bytes)
MAX_CSV_BYTES = 200 * 1024 * 1024
#: the most values that aliases (``*name``) may add to a file beyond those written in it: enough
#: for templates reused many times, far too few for an alias bomb ("billion laughs")
MAX_ALIAS_EXPANSION = 1_000_000
_MERGE_TAG = "tag:yaml.org,2002:merge"
_REQUIRED_SECTIONS = "format_version, name, horizon, budget, sectors, services and segments"

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's C parser: ~10x faster


class _Refused(yaml.YAMLError):
    """Valid YAML that an instance file may not contain; ``problem`` says what and ``mark`` where."""

    def __init__(self, expected: str, found: str, mark=None):
        super().__init__(found)
        self.expected, self.found, self.problem_mark = expected, found, mark


class _StrictLoader(_BaseLoader):
    """The safe loader, but each key once per mapping (a repeated key is recorded, with both lines)
    and no tags beyond plain YAML's (a tag is refused where it is met)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[Any, Any, int]] = []  # (key, mark of the repeat, line of the first)
        self._own_keys: dict[int, int] = {}  # id(mapping node) -> number of its own (not merged) keys

    def flatten_mapping(self, node):
        self._own_keys.setdefault(id(node), sum(1 for k, _ in node.value if k.tag != _MERGE_TAG))
        super().flatten_mapping(node)

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            return super().construct_mapping(node, deep=deep)
        self.flatten_mapping(node)  # keys merged in (<<: *defaults) first, then the mapping's own
        mapping: dict = {}
        keys = []
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            value = self.construct_object(value_node, deep=deep)
            try:
                mapping[key] = value
            except TypeError:
                raise _Refused("a key that is a single value (text or a number)",
                               f"a key that is a {type(key).__name__}", key_node.start_mark) from None
            keys.append(key)
        if len(mapping) < len(keys):  # a key repeated, or merged in (<<) and then given: find which
            first_own = len(node.value) - self._own_keys[id(node)]
            lines: dict = {}
            for (key_node, _), key in list(zip(node.value, keys))[first_own:]:
                if key in lines:
                    self.duplicates.append((key, key_node.start_mark, lines[key]))
                else:
                    lines[key] = key_node.start_mark.line + 1
        return mapping

    def _refuse_tag(self, node):
        tag = node.tag
        shown = "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag
        raise _Refused("plain values (numbers, text, true/false, lists and mappings; no YAML tags)",
                       f"a value tagged {shown}", node.start_mark)


# the tags plain YAML gives values without a tag written are kept (null, bool, int, float, str, seq,
# map, merge; a date is a timestamp, which no field accepts); !!binary, !!set, !!omap, !!pairs,
# !!python/... and !custom tags are refused where they are met
for _tag in ("binary", "set", "omap", "pairs"):
    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _StrictLoader._refuse_tag)
_StrictLoader.add_constructor(None, _StrictLoader._refuse_tag)


class _AliasLoader(_StrictLoader):
    """The strict loader for a file with anchors: it also notes every alias met (a node met a
    second time), so that what the aliases add can be counted without walking the tree."""

    def __init__(self, stream):
        super().__init__(stream)
        self.aliased: list = []

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects:
            self.aliased.append(node)
        return super().construct_object(node, deep=deep)


def _check_aliases(aliased: list) -> None:
    """Refuse an alias inside its own anchor's value, or aliases that add more than
    :data:`MAX_ALIAS_EXPANSION` values to the file, before anything walks the tree they make.
    Each alias adds the expanded size of the node it repeats; sizes are computed once per node."""
    size: dict[int, int] = {}
    added = 0
    for target in aliased:
        stack: list[tuple[Any, bool]] = [(target, False)]
        open_: set[int] = set()
        while stack:
            node, done = stack.pop()
            key = id(node)
            if done:
                open_.discard(key)
                size[key] = 1 + sum(size[id(c)] for c in _children(node))
                continue
            if key in size:
                continue
            open_.add(key)
            stack.append((node, True))
            for child in _children(node):
                if id(child) in open_:
                    raise _Refused("an alias (*name) outside the value its anchor (&name) names",
                                   "an alias inside its own anchor's value (a recursive structure)",
                                   child.start_mark)
                if id(child) not in size:
                    stack.append((child, False))
        added += size[id(target)]
        if added > MAX_ALIAS_EXPANSION:
            raise _Refused(f"aliases (*name) that repeat at most {MAX_ALIAS_EXPANSION:,} values in all",
                           f"aliases that repeat more than {MAX_ALIAS_EXPANSION:,} values (an alias bomb?)",
                           target.start_mark)


def _children(node) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _yaml_problem(path: Path, text: str, exc: yaml.YAMLError) -> Problem:
    """One parse error as a problem: where, and what was found in a planner's words."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
    if isinstance(exc, _Refused):
        return Problem(str(path), where, exc.expected, exc.found)
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: where, as a line and column
        before = text[: exc.position]
        where = f"line {before.count(chr(10)) + 1}, column {len(before) - before.rfind(chr(10))}"
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return Problem(str(path), where, "text without control characters", f"the character {char!r}")
    problem = str(getattr(exc, "problem", None) or exc).strip()
    if mark is not None:
        lines = text.splitlines()
        line = lines[mark.line] if mark.line < len(lines) else ""
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent or line[mark.column: mark.column + 1] == "\t":
            return Problem(str(path), where, "spaces for indentation (tabs are not allowed in YAML "
                           "indentation)", "a tab")
    context = str(getattr(exc, "context", None) or "").strip()
    expected = "valid YAML" + (f" ({context})" if context else "")
    missing = re.match(r"(?:did|could) not find expected (.+)", problem)
    if missing:  # libyaml's words for a missing comma, colon or closing bracket
        return Problem(str(path), where, f"{expected}: {missing.group(1)} here", "something else")
    other = re.match(r"expected (.+), but found (.+)", problem)
    if other:
        return Problem(str(path), where, f"{expected}: {other.group(1)} here (is the indentation right?)",
                       other.group(2))
    if "undefined alias" in problem:
        return Problem(str(path), where, "an alias (*name) after its anchor (&name)", "an alias with no anchor")
    for word in ("but ", "found "):
        if problem.startswith(word):
            problem = problem[len(word):]
    return Problem(str(path), where, expected, problem)


def parse_yaml(text: str, file: str = "<text>") -> Any:
    """The value of one YAML document, read strictly: no tags, each key once per mapping, aliases
    expanding the file by at most :data:`MAX_ALIAS_EXPANSION` values. ``None`` for an empty
    document. Raises :class:`~optimiser.errors.InstanceError` naming ``file`` and the line."""
    loader = _AliasLoader(text) if "&" in text else _StrictLoader(text)  # aliases need anchors
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            data = loader.construct_document(node)
            if getattr(loader, "aliased", None):
                _check_aliases(loader.aliased)
        except yaml.YAMLError as exc:
            raise InstanceError([_yaml_problem(Path(file), text, exc)]) from None
        if loader.duplicates:
            raise InstanceError([
                Problem(file, f"line {mark.line + 1}, column {mark.column + 1}", "each key once in a mapping",
                        f"{key!r} again (first on line {first})")
                for key, mark, first in loader.duplicates])
        return data
    finally:
        loader.dispose()


def _not_utf8(path: Path, raw: bytes, exc: UnicodeDecodeError, csv_table: bool) -> Problem:
    """Where a file stops being UTF-8, in the words of someone who saved it from Excel."""
    line = raw[: exc.start].count(b"\n") + 1
    byte = raw[exc.start: exc.start + 1].hex()
    found = f"byte 0x{byte}, which is not UTF-8 (the file is perhaps Latin-1 or Windows-1252)"
    if not csv_table:
        return Problem(str(path), f"line {line}", "text saved as UTF-8", found)
    # the column: the cells before the byte on its row, read leniently
    start = raw.rfind(b"\n", 0, exc.start) + 1
    before = raw[start: exc.start].decode("utf-8", errors="replace")
    column = len(next(csv.reader([before + "x"]), [""]))
    header = next(csv.reader([raw.split(b"\n", 1)[0].decode("utf-8", errors="replace").lstrip("\ufeff")]), [])
    name = header[column - 1].strip() if line > 1 and column <= len(header) else str(column)
    return Problem(str(path), f"row {line}, column {name}", "text saved as UTF-8 (in Excel: Save As "
                   "'CSV UTF-8')", found)


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n:,} bytes"


def read_text(path: Path, what: str, limit: int, table: bool = False, problems: list | None = None) -> str:
    """A UTF-8 text file (a byte-order mark is dropped), refused before reading when larger than
    ``limit`` bytes. Text that is not UTF-8 is an error, or, given ``problems``, a problem added
    to them, the text then read with the bad bytes replaced (so that the rest can be checked)."""
    try:
        size = path.stat().st_size
        if size > limit:
            hint = "" if table else " (large tables belong in CSV files: see docs/instance-format.md)"
            raise InstanceError([Problem(str(path), "(file)", f"a file of at most {_size(limit)}{hint}",
                                         _size(size))])
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InstanceError([Problem(str(path), "(file)", what, "no such file")]) from None
    except IsADirectoryError:
        raise InstanceError([Problem(str(path), "(file)", what, "a folder")]) from None
    except OSError as exc:
        raise InstanceError([Problem(str(path), "(file)", f"{what} that can be read",
                                     exc.strerror or str(exc))]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if problems is None:
            raise InstanceError([_not_utf8(path, raw, exc, table)]) from None
        problems.append(_not_utf8(path, raw, exc, table))
        return raw.decode("utf-8-sig", errors="replace")


def read_yaml(path: Path) -> Any:
    """The instance file's contents (see :func:`parse_yaml`); an empty file is an error."""
    text = read_text(path, "an instance file", MAX_YAML_BYTES)
    data = parse_yaml(text, str(path))
    if data is None:
        raise InstanceError([Problem(str(path), "(file)", f"a mapping with {_REQUIRED_SECTIONS}",
                                     "an empty file" if not text.strip() else "no values (only comments)")])
    return data


def _parse_cell(text: str) -> Any:
    """A CSV cell read the way YAML would read it (numbers become numbers, lists lists)."""
    if text == "":
        return MISSING
    try:  # the common case, a number, without the YAML machinery
        value = float(text)
        return int(value) if value.is_integer() and text.lstrip("+-").isdigit() else value
    except ValueError:
        pass
    if text[0] not in "[{'\"" and text not in ("true", "false", "True", "False", "null", "~"):
        return text
    flat = _flat_collection(text)
    if flat is not None:
        return flat
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return text


# keys YAML reads as themselves: a letter first (not a YAML 1.1 word such as yes/no/on/null), or a
# plain decimal year; anything else goes through YAML
_PLAIN_KEY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_+\- ]*|[1-9][0-9]*|[0-9]+[A-Za-z0-9_+\-]*[-+][A-Za-z0-9_+\-]*)$")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}


def _flat_collection(text: str) -> Any:
    """``[1, 2.5]`` or ``{a: 1, b-2: 0.5}`` (numbers only, plain keys) read without YAML, or None
    when the cell is anything else (then YAML reads it). The common cells of large CSV tables are
    these, and YAML's Python constructor is slow."""
    if len(text) < 2 or (text[0], text[-1]) not in (("[", "]"), ("{", "}")) or any(
            ch in text for ch in "'\"#&*!|>%@`[{" if ch not in text[0]) or text.count(text[0]) != 1:
        return None
    inner = text[1:-1].strip()
    if not inner:
        return [] if text[0] == "[" else {}
    parts = [x.strip() for x in inner.split(",")]
    try:
        if text[0] == "[":
            return [_number(x) for x in parts]
        out = {}
        for item in parts:
            key, sep, value = item.partition(": ")
            key = key.strip()
            if not sep or not _PLAIN_KEY.match(key) or key.lower() in _YAML_WORDS or _DATE_LIKE.match(key) \
                    or key in out:
                return None
            out[int(key) if key.isdigit() else key] = _number(value.strip())
        return out
    except ValueError:
        return None


_DECIMAL = re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|0|[1-9][0-9]*)$")  # as YAML reads them, no exponent
_DATE_LIKE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")


def _number(text: str) -> float | int:
    if not _DECIMAL.match(text):
        raise ValueError(text)
    return float(text) if "." in text else int(text)


@dataclass
class CsvTable:
    """Where the values of one ``{from_csv: ...}`` table came from, so that a problem found in
    them later (by the schema or the cross-reference checks) names the CSV file, row and column."""

    loc: tuple[str, ...]              # where the table sits in the instance, as path steps
    file: str                         # the CSV file, as a planner finds it
    columns: list[tuple[str, ...]]    # column names, split at dots (``unit_cost.value``)
    header: list[str]                 # column names as written
    rows: list[int]                   # the file row of each record (the header is row 1)
    by_key: dict[str, int] | None = None  # a year/key,value table: key (as text) -> row
    broken: bool = False              # the file could not be read whole (reported): what it gave is incomplete
    flawed: bool = False              # the table has problems of its own (reported), e.g. a year twice

    def where(self, rest: list[str]) -> tuple[str, bool] | None:
        """The row and column of the value at ``rest`` (path steps below the table), and whether
        a column was found; None when ``rest`` names no row."""
        if not rest:
            return "the table", False
        if self.by_key is not None:
            row = self.by_key.get(rest[0])
            return (f"row {row}, column value", True) if row is not None else None
        if not rest[0].lstrip("-").isdigit() or not -len(self.rows) <= int(rest[0]) < len(self.rows):
            return None
        row = self.rows[int(rest[0])]
        below = tuple(rest[1:])
        for col, name in zip(self.columns, self.header):
            if below and below[: len(col)] == col:
                return f"row {row}, column {name}", True
        return f"row {row}", False


def read_csv_table(path: Path, shown: str | None = None) -> tuple[list[dict[str, Any]], CsvTable, list[Problem]]:
    """The rows of a CSV table as mappings, where each came from, and every problem in the file.

    UTF-8 with or without a byte-order mark (as Excel saves 'CSV UTF-8'); the first row names the
    columns; a column named ``a.b`` fills field ``b`` of mapping ``a`` (e.g. ``unit_cost.value``,
    ``capacity.max``). An empty cell leaves its field out (its default applies; a required field
    is then reported missing at that cell); a row of empty cells is skipped. Every problem names
    the file, the row (the header is row 1, as in a spreadsheet) and the column."""
    shown = shown or str(path)
    problems: list[Problem] = []
    text = read_text(path, "a CSV file", MAX_CSV_BYTES, table=True, problems=problems)
    table = CsvTable(loc=(), file=shown, columns=[], header=[], rows=[])
    reader = csv.reader(io.StringIO(text, newline=""))
    out: list[dict[str, Any]] = []
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            return [], table, [Problem(shown, "row 1", "a header row naming the columns",
                                       "an empty file" if not text.strip() else "an empty row")]
        table.header = [h.strip() for h in header]
        table.columns = [tuple(part.strip() for part in h.split(".")) for h in table.header]
        header_problems, skipped = _header_problems(shown, table)
        problems += header_problems
        width = len(table.header)
        row_no = 1
        seen: dict[tuple, int] = {}
        for row in reader:
            row_no, start = reader.line_num, row_no + 1
            if not "".join(row).strip():
                continue  # a blank row (spreadsheets often end with some)
            cells = tuple(cell.strip() for cell in row)
            if cells in seen:
                problems.append(Problem(shown, f"row {start}", "each row once", f"the same cells as row {seen[cells]}"))
                continue
            seen[cells] = start
            if len(row) != width:
                column = table.header[len(row)] if len(row) < width else str(width + 1)
                problems.append(Problem(shown, f"row {start}, column {column}", f"{width} cells, one per column "
                                        f"({', '.join(table.header)})", f"{len(row)} cells"))
                row = (row + [""] * width)[:width]  # read on, so that the rest can be checked
            rec: dict[str, Any] = {}
            for i, (key, cell) in enumerate(zip(table.columns, cells)):
                if i in skipped:
                    continue
                value = _parse_cell(cell)
                if value is MISSING:
                    continue
                node = rec
                for step in key[:-1]:
                    node = node.setdefault(step, {})
                node[key[-1]] = value
            out.append(rec)
            table.rows.append(start)
    except csv.Error as exc:
        problems.append(Problem(shown, f"row {reader.line_num}", "a well-formed CSV row", str(exc)))
    return out, table, problems


def _header_problems(shown: str, table: CsvTable) -> tuple[list[Problem], set[int]]:
    """Problems of the header row, and the columns (from 0) to leave out because of them."""
    problems = []
    skipped: set[int] = set()
    seen: dict[tuple, int] = {}
    for i, (name, col) in enumerate(zip(table.header, table.columns), start=1):
        if not name or not all(col):
            problems.append(Problem(shown, f"row 1, column {i}", "a column name (a field name, or "
                                    "field.subfield)", repr(name) if name else "an empty cell"))
            skipped.add(i - 1)
            continue
        if col in seen:
            problems.append(Problem(shown, f"row 1, column {i}", "each column name once",
                                    f"{name!r} again (also column {seen[col]})"))
            skipped.add(i - 1)
            continue
        # 'capacity' and 'capacity.max': one is a part of the other
        clash = next(((other, j) for other, j in seen.items()
                      if other[: min(len(other), len(col))] == col[: min(len(other), len(col))]), None)
        if clash is not None:
            other, j = clash
            short = other if len(other) < len(col) else col
            problems.append(Problem(shown, f"row 1, column {i}", "columns that fill different fields",
                                    f"{'.'.join(col)!r} and column {j} {'.'.join(other)!r} both fill "
                                    f"{'.'.join(short)!r}"))
            skipped.add(i - 1)
            continue
        seen[col] = i
    return problems, skipped


def read_csv_records(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV table as mappings (see :func:`read_csv_table`); raises
    :class:`~optimiser.errors.InstanceError` listing every problem in the file."""
    records, _, problems = read_csv_table(Path(path))
    if problems:
        raise InstanceError(problems)
    return records


def _key_value_table(records: list[dict], table: CsvTable) -> tuple[dict, list[Problem]]:
    """A ``year,value`` (or ``key,value``) table as a mapping: every cell filled, each key once."""
    k = "year" if "year" in table.header else "key"
    problems = []
    out: dict = {}
    first: dict = {}
    table.by_key = {}
    for rec, row in zip(records, table.rows):
        for col in (k, "value"):
            if col not in rec:
                problems.append(Problem(table.file, f"row {row}, column {col}", "a value in every cell of a "
                                        f"{k},value table", "an empty cell"))
        if k not in rec or "value" not in rec:
            continue
        key = rec[k]
        try:
            hash(key)
        except TypeError:
            problems.append(Problem(table.file, f"row {row}, column {k}", f"a single value as the {k}",
                                    describe(key)))
            continue
        if key in first:
            problems.append(Problem(table.file, f"row {row}, column {k}", f"each {k} in one row only",
                                    f"{key!r} again (also row {first[key]})"))
            continue
        first[key] = row
        table.by_key[str(key)] = row
        out[key] = rec["value"]
    return out, problems


def _duplicate_rows(records: list[dict], table: CsvTable) -> list[Problem]:
    """Two rows with one name: an item given twice (identical rows are found as the file is read)."""
    problems = []
    names: dict = {}
    for rec, row in zip(records, table.rows):
        name = rec.get("name")
        if isinstance(name, str):
            if name in names:
                problems.append(Problem(table.file, f"row {row}, column name", "each name in one row only",
                                        f"{name!r} again (also row {names[name]})"))
                continue
            names[name] = row
    return problems


def resolve_csv_references(data: Any, base_dir: Path, file: str, loc: tuple = (),
                           tables: list[CsvTable] | None = None) -> tuple[Any, list[Problem]]:
    """Replace every ``{from_csv: name.csv}`` with the CSV's rows (a list of mappings).

    A CSV with exactly the columns ``year,value`` (or ``key,value``) becomes a mapping instead,
    so yearly series can live in CSV too. Each table read is appended to ``tables`` (where its
    values came from).
    """
    problems: list[Problem] = []
    if isinstance(data, dict):
        if set(data) == {"from_csv"}:
            ref = data["from_csv"]
            missing = CsvTable(tuple(str(step) for step in loc), file, [], [], [], broken=True)
            if not isinstance(ref, str) or not ref.strip():
                problems.append(Problem(file, format_path(loc) + ".from_csv", "the name of a CSV file "
                                        "(relative to the instance file)", describe(ref)))
                if tables is not None:
                    tables.append(missing)
                return [], problems
            path = base_dir / ref
            if not path.is_file():
                problems.append(Problem(file, format_path(loc) + ".from_csv", "an existing CSV file "
                                        "(relative to the instance file)", f"{ref!r}: no such file"))
                if tables is not None:
                    tables.append(missing)
                return [], problems
            try:
                records, table, csv_problems = read_csv_table(path)
            except InstanceError as exc:  # the file could not be read at all
                records, table, csv_problems = [], CsvTable((), str(path), [], [], []), exc.problems
            table.loc = tuple(str(step) for step in loc)
            table.broken = bool(csv_problems)
            if tables is not None:
                tables.append(table)
            problems += csv_problems
            if set(table.header) in ({"year", "value"}, {"key", "value"}):
                records, table_problems = _key_value_table(records, table)
            else:
                table_problems = _duplicate_rows(records, table)
            table.flawed = bool(csv_problems or table_problems)
            return records, problems + table_problems
        out = {}
        for key, value in data.items():
            out[key], p = resolve_csv_references(value, base_dir, file, loc + (key,), tables)
            problems += p
        return out, problems
    if isinstance(data, list):
        out_list = []
        for i, value in enumerate(data):
            v, p = resolve_csv_references(value, base_dir, file, loc + (i,), tables)
            out_list.append(v)
            problems += p
        return out_list, problems
    return data, problems


def parse_value(raw: str, source: str, path: str) -> Any:
    """One value given as text (``--set path=VALUE``, a scenario, ``--vary``) read as YAML, strictly:
    no tags, each key once; text that is not YAML is the text itself."""
    loader = _StrictLoader(raw)
    try:
        value = loader.get_single_data()
    except _Refused as exc:
        raise InstanceError([Problem(source, path, exc.expected, exc.found)]) from None
    except yaml.YAMLError:
        return raw  # not YAML: the text itself (e.g. a description with a colon)
    finally:
        loader.dispose()
    if loader.duplicates:
        key, _, _ = loader.duplicates[0]
        raise InstanceError([Problem(source, path, "each key once in a mapping", f"{key!r} twice")])
    return value


def raw_names(data: Any, section: str) -> set[str]:
    """Names declared in a list section of the raw file, valid or not (so that one broken service
    does not also produce 'unknown service' errors wherever it is referred to)."""
    items = data.get(section) if isinstance(data, dict) else None
    names = set()
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.add(item["name"])
            elif isinstance(item, str):
                names.add(item)
    return names
