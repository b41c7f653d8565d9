"""CSV files ↔ records, always through the records service, so an import obeys every rule a form does.

Reading takes what spreadsheets write: UTF-8 with or without a BOM, GB18030 (Chinese Excel's
"CSV"), UTF-16 ("Unicode text"), separated by commas, semicolons or tabs. A column header is a
field's API name or its label in any locale, compared without case or spaces. A blank cell means
"not given", for every type, so defaults apply as on a form left empty. Columns Trellis fills
itself (`id`, `created_at`, formulas, roll-ups …) are read but not imported, so an export can be
imported again as it is.

Imports write `BATCH` rows per service call. `all-or-nothing` must be one call (one transaction),
so it takes at most `MAX_BATCH` rows; `skip-bad-rows` batches freely. Exports walk the keyset
cursor page by page. Neither direction holds a whole file in memory beyond one call.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, TextIO

from trellis.metadata.model import ObjectDef, localized
from trellis.metadata.names import SETTABLE_SYSTEM_FIELDS
from trellis.metadata.suggestions import closest
from trellis.runtime.access import SYSTEM_FIELDS, AccessPolicy, Actor, Scope
from trellis.runtime.errors import FieldProblem, InvalidInput, NotFound, RuntimeProblem
from trellis.runtime.query.listing import MAX_PAGE, PageRequest
from trellis.runtime.records.service import MAX_BATCH, BulkMode, RecordsService
from trellis.runtime.values.coercion import to_json

BATCH = 1_000
DELIMITERS = (",", ";", "\t")  # on a tie the first wins: a one-column file is comma-separated
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with BOM"), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
_WITHOUT_BOM = (("utf-8", "UTF-8"), ("gb18030", "GB18030"))

#: Standard columns have no `x-label`; these are their headers in an export with labels.
SYSTEM_LABELS: Mapping[str, Mapping[str, str]] = {
    "id": {"*": "ID"},
    "owner_id": {"en": "Owner", "zh-CN": "负责人"},
    "created_by": {"en": "Created by", "zh-CN": "创建人"},
    "created_at": {"en": "Created at", "zh-CN": "创建时间"},
    "updated_at": {"en": "Updated at", "zh-CN": "修改时间"},
    "version": {"en": "Version", "zh-CN": "版本"},
    "deleted_at": {"en": "Deleted at", "zh-CN": "删除时间"},
}
#: Standard columns an export writes around the object's own fields (deleted rows are not exported).
EXPORT_FIRST = ("id",)
EXPORT_LAST = ("owner_id", "created_by", "created_at", "updated_at", "version")


# -- reading a file ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvFile:
    """A CSV file as read once up front: its encoding, separator, header and number of rows."""

    path: Path
    encoding: str  # the codec
    encoding_name: str  # for people
    delimiter: str
    headers: tuple[str, ...]
    rows: int  # data rows; blank ones are not counted

    @property
    def description(self) -> str:
        """'UTF-8 with BOM, semicolon-separated': how the file was read, said back to the user."""
        return f"{self.encoding_name}, {_DELIMITER_NAMES[self.delimiter]}-separated"

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """(line the row starts on, its cells) for each non-blank row after the header."""
        with self.path.open(encoding=self.encoding, newline="") as handle:
            yield from islice(_rows(handle, self.delimiter, self.path), 1, None)


def read_csv(path: Path) -> CsvFile:
    """Open `path` the way a spreadsheet wrote it; InvalidInput when it is no readable CSV."""
    try:
        with path.open("rb") as handle:
            start = handle.read(4)
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror or error}") from None
    codecs_to_try = next(([(codec, name)] for bom, codec, name in _BOMS if start.startswith(bom)), _WITHOUT_BOM)
    for codec, name in codecs_to_try:
        try:
            return _scan(path, codec, name)
        except UnicodeDecodeError:
            continue
    tried = " nor ".join(name for _, name in codecs_to_try)
    raise InvalidInput(f"{path.name} is not {tried} text; save it from the spreadsheet as 'CSV UTF-8'")


def _scan(path: Path, codec: str, name: str) -> CsvFile:
    """One pass over the whole file: decodes every byte (so a wrong guess fails here, before
    anything is imported), finds the header and counts the rows for the progress bar."""
    with path.open(encoding=codec, newline="") as handle:
        delimiter = sniff_delimiter(handle.readline())
        handle.seek(0)
        rows = _rows(handle, delimiter, path)
        first = next(rows, None)
        if first is None:
            raise InvalidInput(f"{path.name} is empty: expected a header row with field names, then rows")
        count = sum(1 for _ in rows)
    return CsvFile(path, codec, name, delimiter, tuple(c.strip().lstrip("\ufeff") for c in first[1]), count)


def sniff_delimiter(first_line: str) -> str:
    """The separator of a file, from its header line: whichever of , ; tab occurs most."""
    return max(DELIMITERS, key=first_line.count) if any(d in first_line for d in DELIMITERS) else ","


def _rows(handle: TextIO, delimiter: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(handle, delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                yield line, cells
            line = reader.line_num + 1  # a quoted cell may span lines: count physical lines
    except csv.Error as error:
        raise InvalidInput(f"{path.name} is not a readable CSV file",
                           [FieldProblem(f"line {line}", str(error))]) from None


# -- what a header means -------------------------------------------------------------------------

def _key(text: str) -> str:
    return "".join(text.split()).casefold()


def column_name(position: int) -> str:
    """'column 3 (C)': the number people count and the letter a spreadsheet shows (0-based in)."""
    letters, n = "", position + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"column {position + 1} ({letters})"


class FieldNames:
    """What a column header means for one object: a field's API name, else its label in any
    locale ('客户名称', 'Name'), ignoring case and spaces. API names win over labels."""

    def __init__(self, obj: ObjectDef):
        self.obj = obj
        self.labels: dict[str, Mapping[str, str]] = {**SYSTEM_LABELS, **{f.name: f.label for f in obj.fields.values()}}
        self._names = {_key(name): name for name in self.labels}
        self._by_label: dict[str, set[str]] = {}
        self._spellings: dict[str, tuple[str, str]] = {}  # key → (as written in metadata, field)
        for name, labels in self.labels.items():
            for text in labels.values():
                self._by_label.setdefault(_key(text), set()).add(name)
                self._spellings.setdefault(_key(text), (text, name))
        self._spellings.update({key: (name, name) for key, name in self._names.items()})

    def resolve(self, header: str) -> str:
        """The field `header` names; LookupError saying why none (with the closest spelling)."""
        key = _key(header)
        if key in self._names:
            return self._names[key]
        found = self._by_label.get(key, set())
        if len(found) == 1:
            return next(iter(found))
        if found:
            raise LookupError(f"is the label of several fields ({', '.join(sorted(found))}); use the API name")
        raise LookupError(f"{self.obj.name} has no field with this name or label{self._suggestion(key)}")

    def _suggestion(self, key: str) -> str:
        close = closest(key, self._spellings)
        if close is None:
            return f" (fields: {', '.join(self.obj.fields)})"
        text, name = self._spellings[close]
        return f"; did you mean '{text}'" + (f" ({name})" if text != name else "") + "?"

    def header(self, name: str, locale: str | None) -> str:
        """The header an export writes for `name`: its label in `locale` when asked for and when
        it reads back as the same field, else the API name."""
        if locale is None:
            return name
        text = localized(self.labels.get(name, {}), locale, name)
        try:
            return text if self.resolve(text) == name else name
        except LookupError:
            return name


@dataclass(frozen=True)
class Column:
    """A column of the file; `field` None means it is read but not imported (Trellis fills it)."""

    position: int
    header: str
    field: str | None


def map_columns(headers: Sequence[str], obj: ObjectDef, policy: AccessPolicy) -> list[Column]:
    """Columns of the file → fields, or InvalidInput listing every header problem at once."""
    names = FieldNames(obj)
    columns: list[Column] = []
    problems: list[FieldProblem] = []
    taken: dict[str, str] = {}
    for position, header in enumerate(headers):
        if not header:
            continue  # a column without a header: its cells must stay blank (checked per row)
        where = f"{column_name(position)} '{header}'"
        try:
            name = names.resolve(header)
        except LookupError as error:
            problems.append(FieldProblem(where, str(error)))
            continue
        if name in taken:
            problems.append(FieldProblem(where, f"means {obj.name}.{name}, as {taken[name]} does already"))
            continue
        taken[name] = where
        if _filled_by_trellis(obj, name):
            columns.append(Column(position, header, None))
        elif not _may_set(policy, obj.name, name):
            problems.append(FieldProblem(where, f"you may not set {obj.name}.{name}"))
        else:
            columns.append(Column(position, header, name))
    if problems:
        raise InvalidInput(f"the header row does not fit {obj.name}; nothing was imported", problems)
    return columns


def _filled_by_trellis(obj: ObjectDef, name: str) -> bool:
    if name in SYSTEM_FIELDS:
        return name not in SETTABLE_SYSTEM_FIELDS  # an import may set these; Trellis fills the rest
    return obj.fields[name].computed


def _may_set(policy: AccessPolicy, object_name: str, name: str) -> bool:
    if name == "owner_id":  # handing records over needs update scope `all` (as the pipeline checks)
        return policy.scope(object_name, "update") is Scope.ALL
    return policy.can_edit_field(object_name, name)


# -- importing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowProblem:
    """One problem of one row, where the user will look for it: the line of the file and the
    column header as written there ('' when it concerns the whole row)."""

    line: int
    column: str
    value: str
    message: str


@dataclass
class ImportResult:
    """What an import did: rows written, rows refused (skipped, or the reason nothing was
    written) with every problem, and the headers read but left to Trellis."""

    file: CsvFile
    written: int = 0
    bad_rows: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    cells: list[str]
    values: dict[str, str]
    problems: list[RowProblem]


OnProgress = Callable[[int, int], None]  # (rows done, rows in the file)


def import_csv(service: RecordsService, actor: Actor, object_name: str, path: Path,
               mode: BulkMode = "all-or-nothing", *, batch_size: int = BATCH,
               on_progress: OnProgress | None = None) -> ImportResult:
    """Create one record per row. Header problems and a file too large for `all-or-nothing` are
    raised before anything is written; row problems are returned, with what was written."""
    obj = object_definition(service, object_name)
    source = read_csv(path)
    columns = map_columns(source.headers, obj, actor.policy)
    if source.rows == 0:
        raise InvalidInput(f"{path.name} has a header but no rows; nothing was imported")
    if mode == "all-or-nothing" and source.rows > MAX_BATCH:
        raise InvalidInput(f"{path.name} has {source.rows:,} rows; an all-or-nothing import takes at most "
                           f"{MAX_BATCH:,} (one transaction). Split the file, or use --mode skip-bad-rows")
    result = ImportResult(source, ignored=[c.header for c in columns if c.field is None])
    rows = (_read_row(columns, line, cells) for line, cells in source.records())
    done = 0
    for batch in _batches(rows, MAX_BATCH if mode == "all-or-nothing" else batch_size):
        try:
            _send(service, actor, object_name, columns, batch, mode, result)
        except RuntimeProblem as error:  # a whole call refused (a concurrent writer, say): say what stands
            if not result.written:
                raise
            raise type(error)(f"{error.message}; the import stopped at line {batch[0].line}, after "
                              f"{result.written:,} rows had been written", error.problems) from None
        done += len(batch)
        if on_progress is not None:
            on_progress(done, source.rows)
    return result


def _batches(rows: Iterable[_Row], size: int) -> Iterator[list[_Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _read_row(columns: Sequence[Column], line: int, cells: list[str]) -> _Row:
    """A row's values by field; a blank cell is left out, so the field's default applies."""
    values = {c.field: unneutralised(cells[c.position]) for c in columns
              if c.field is not None and c.position < len(cells) and cells[c.position].strip()}
    read = {c.position for c in columns}
    problems = [RowProblem(line, "", cell, f"a value in {column_name(i)}, which has no header")
                for i, cell in enumerate(cells) if i not in read and cell.strip()]
    return _Row(line, cells, values, problems)


def _send(service: RecordsService, actor: Actor, object_name: str, columns: Sequence[Column],
          batch: list[_Row], mode: BulkMode, result: ImportResult) -> None:
    """One service call for the rows of `batch` that were readable. In all-or-nothing mode a
    row the file itself spoils stops the call: the service would write the others."""
    problems = [p for row in batch for p in row.problems]
    ready = [row for row in batch if not row.problems]
    if mode == "all-or-nothing" and problems:
        ready = []
    refused: dict[int, list[FieldProblem]] = {}
    if ready:
        try:
            outcome = service.create_many(actor, object_name, [row.values for row in ready], mode)
            result.written += outcome.written
            refused = outcome.problems
        except InvalidInput as error:
            refused = _by_row(error)
    by_field = {c.field: c for c in columns if c.field is not None}
    for index, found in refused.items():
        problems.extend(_row_problem(ready[index], p, by_field) for p in found)
    problems.sort(key=lambda p: p.line)
    result.problems.extend(problems)
    result.bad_rows += len({p.line for p in problems})


def _by_row(error: InvalidInput) -> dict[int, list[FieldProblem]]:
    """A refused call's problems by row; re-raised when it concerns no row in particular."""
    if not error.rows:
        raise error
    return {i: list(problems) for i, problems in error.rows.items()}


def _row_problem(row: _Row, problem: FieldProblem, by_field: Mapping[str, Column]) -> RowProblem:
    name = re.split(r"[.\[]", problem.path, maxsplit=1)[0]  # 'tags.1' is a problem of tags
    column = by_field.get(name)
    if column is None:  # the whole record ('$'), or a field the file has no column for
        return RowProblem(row.line, "" if name == "$" else name, "", problem.message)
    value = row.cells[column.position] if column.position < len(row.cells) else ""
    return RowProblem(row.line, column.header, value, problem.message)


def write_problems(problems: Iterable[RowProblem], out: TextIO) -> None:
    """The error report as CSV (line, column, value, message), for fixing the file row by row."""
    writer = csv.writer(out)
    writer.writerow(["line", "column", "value", "message"])
    writer.writerows([p.line, p.column, p.value, p.message] for p in problems)


# -- exporting -----------------------------------------------------------------------------------

def export_csv(service: RecordsService, actor: Actor, object_name: str, out: TextIO, *,
               where: Mapping[str, Any] | None = None, order_by: Sequence[Mapping[str, str]] | None = None,
               locale: str | None = None, bom: bool = False, raw: bool = False, page_size: int = MAX_PAGE,
               fields: Sequence[str] | None = None) -> int:
    """Write the records the actor may read, every readable field (or the readable ones of
    `fields`, in that order: a list page's columns), one page at a time; returns how many. The
    first page is read before anything is written, so a bad filter writes nothing.
    Text that a spreadsheet would run as a formula is neutralised (see `neutralised`) unless
    `raw` is asked for, by a program that reads the file itself."""
    cell = to_cell if raw else (lambda value: neutralised(to_cell(value)) if _is_text(value) else to_cell(value))
    request = PageRequest(where=where, order_by=order_by, first=page_size)
    page = service.list(actor, object_name, request)
    obj = object_definition(service, object_name)
    names = FieldNames(obj)
    fields = [name for name in (fields or (*EXPORT_FIRST, *obj.fields, *EXPORT_LAST))
              if actor.policy.can_read_field(object_name, name)]
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([names.header(name, locale) for name in fields])
    count = 0
    while True:
        writer.writerows([cell(record.get(name)) for name in fields] for record in page.records)
        count += len(page.records)
        if not page.page.has_next:
            return count
        page = service.list(actor, object_name, replace(request, after=page.page.end_cursor))


def to_cell(value: Any) -> str:
    """A stored value as text that an import reads back as the same value: ISO dates, UTC
    date-times, exact decimals, true/false, choices joined with ';', blank for none."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")  # never 1E+3
    if isinstance(value, (list, tuple)):
        return ";".join(str(v) for v in value)
    return str(to_json(value))


#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection"): =, +, -, @, tab, CR.
FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


def neutralised(text: str) -> str:
    """`=HYPERLINK(…)` as `'=HYPERLINK(…)`: Excel and LibreOffice show the quote-prefixed cell as
    text instead of running it. Text that already starts with quotes before such a character gets
    one more, so `unneutralised` gives every value back exactly."""
    return f"'{text}" if FORMULA_START.match(text) else text


def unneutralised(cell: str) -> str:
    """The value `neutralised` wrote: one leading quote off, where it stands before a formula start."""
    return cell[1:] if cell.startswith("'") and FORMULA_START.match(cell, 1) else cell


def _is_text(value: Any) -> bool:
    """Numbers and dates cannot carry a formula (`-5` is a number to a spreadsheet too)."""
    return isinstance(value, (str, list, tuple))


def object_definition(service: RecordsService, object_name: str) -> ObjectDef:
    obj = service.registry.objects.get(object_name)
    if obj is None:
        known = ", ".join(sorted(service.registry.objects)) or "none"
        raise NotFound(f"no object named '{object_name}' (objects: {known})")
    return obj
