"""`trellis data import/export/recompute-rollups`: records as CSV, through the records service."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TextIO

from trellis.cli.options import Commands, as_user, with_tenant
from trellis.cli.progress import ProgressBar
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.records.csv_io import (
    RowProblem,
    export_csv,
    import_csv,
    object_definition,
    write_problems,
)
from trellis.runtime.records.service import RecordsService
from trellis.runtime.services import TenantServices

SHOWN_PROBLEMS = 50


def _records_as(args: argparse.Namespace, inst: Installation) -> tuple[RecordsService, Actor]:
    """The tenant's records service and who acts: the system (this is an admin tool), or with
    --as-user that user's permissions."""
    services = TenantServices(inst)
    records = services.records(args.tenant)
    actor = Actor.system() if args.as_user is None else services.users(args.tenant).actor_for(args.as_user)
    return records, actor


def _data_import(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records, actor = _records_as(args, inst)
    started = time.perf_counter()
    progress = None if args.quiet else ProgressBar(sys.stderr, f"{args.tenant}: importing {args.object}")
    with ExitStack() as stack:  # the report file is opened first: a wrong path fails before the import
        report = None if args.errors is None else stack.enter_context(
            Path(args.errors).open("w", encoding="utf-8-sig", newline=""))  # with a BOM: opened in Excel
        try:
            result = import_csv(records, actor, args.object, Path(args.file), args.mode, on_progress=progress)
        finally:
            if progress is not None:
                progress.close()
        if report is not None:
            write_problems(result.problems, report)
    _print_problems(result.problems, args.errors)
    read = f"{result.file.path.name}: {result.file.description}"
    if result.ignored:
        print(f"not imported, Trellis fills these itself: {', '.join(result.ignored)}", file=out)
    if args.mode == "all-or-nothing" and result.problems:
        print(f"{args.tenant}: nothing was imported: {result.bad_rows:,} of {result.file.rows:,} rows have problems "
              f"({read}); fix them, or import the others with --mode skip-bad-rows", file=sys.stderr)
        return 1
    skipped = f", skipped {result.bad_rows:,}" if args.mode == "skip-bad-rows" else ""
    print(f"{args.tenant}: imported {result.written:,}{skipped} ({args.object} from {read}) "
          f"in {time.perf_counter() - started:.2f} s", file=out)
    if not result.written:
        print("nothing could be imported", file=sys.stderr)
        return 1
    return 0


def _print_problems(problems: Sequence[RowProblem], errors_file: str | None) -> None:
    for problem in problems[:SHOWN_PROBLEMS]:
        column = f", column '{problem.column}'" if problem.column else ""
        print(f"  line {problem.line}{column}: {problem.message}", file=sys.stderr)
    if len(problems) > SHOWN_PROBLEMS:
        where = f"all are in {errors_file}" if errors_file else "--errors FILE writes all of them"
        print(f"  … and {len(problems) - SHOWN_PROBLEMS:,} more ({where})", file=sys.stderr)


def _data_export(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records, actor = _records_as(args, inst)
    where = None if args.where is None else _json_object("--where", args.where)
    order_by = [_sort_key(text) for text in args.order_by or ()] or None
    with _csv_output(args.output, out) as target:
        count = export_csv(records, actor, args.object, target, where=where, order_by=order_by,
                           locale=args.labels, bom=args.bom, raw=args.raw)
    where_to = f" to {args.output}" if args.output else ""
    print(f"{args.tenant}: exported {count:,} {args.object} row(s){where_to}",
          file=out if args.output else sys.stderr)  # stdout may be the CSV itself
    return 0


def _json_object(option: str, text: str) -> Mapping[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{option} is not valid JSON", [FieldProblem(option, str(error))]) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object", [FieldProblem(option, 'e.g. {"status": {"_eq": "生效"}}')])
    return value


def _sort_key(text: str) -> dict[str, str]:
    """'end_date' or 'end_date:desc' → {'end_date': 'DESC'} (the query compiler checks both)."""
    name, _, direction = text.partition(":")
    return {name.strip(): (direction.strip() or "ASC").upper()}


@contextmanager
def _csv_output(path: str | None, out: TextIO) -> Iterator[TextIO]:
    """stdout, or FILE written aside and renamed when complete: a failed export leaves no half file."""
    if path is None:
        yield out
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _data_recompute(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    records = TenantServices(inst).records(args.tenant)
    if args.object is not None:
        object_definition(records, args.object)  # a typo is an error, not "0 roll-ups"
    started = time.perf_counter()
    count = records.recompute_rollups(args.object)
    print(f"{args.tenant}: recomputed {count} roll-up(s) of {args.object or 'every object'} "
          f"in {time.perf_counter() - started:.2f} s", file=out)
    return 0


def register(commands: Commands) -> None:
    data = commands.add_parser("data", help="import and export records as CSV, recompute roll-ups").add_subparsers(
        dest="data_command", required=True, metavar="ACTION")

    data_import = as_user(with_tenant(data.add_parser(
        "import", help="create records from a CSV file, through every rule of the records service")))
    data_import.add_argument("object")
    data_import.add_argument("file", help="CSV (UTF-8, GB18030 or UTF-16; comma, semicolon or tab); headers are "
                             "field names or labels")
    data_import.add_argument("--mode", choices=["all-or-nothing", "skip-bad-rows"], default="all-or-nothing",
                             help="all-or-nothing (default): one bad row and nothing is written; skip-bad-rows: "
                             "write the good rows")
    data_import.add_argument("--errors", metavar="FILE", help="write every row problem to FILE as CSV "
                             "(line, column, value, message)")
    data_import.add_argument("--quiet", action="store_true", help="no progress on stderr")
    data_import.set_defaults(handler=_data_import)

    data_export = as_user(with_tenant(data.add_parser("export", help="write records as CSV (to stdout by default)")))
    data_export.add_argument("object")
    data_export.add_argument("--where", metavar="JSON", help='a filter, e.g. \'{"status": {"_eq": "生效"}}\'')
    data_export.add_argument("--order-by", action="append", metavar="FIELD[:DESC]", help="sort (repeatable)")
    data_export.add_argument("--labels", choices=["zh-CN", "en"], help="headers are labels in this locale "
                             "(default: API names)")
    data_export.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    data_export.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM (for Excel)")
    data_export.add_argument("--raw", action="store_true",
                             help="keep text starting with = + - @ as it is (for programs; spreadsheets would run it)")
    data_export.set_defaults(handler=_data_export)

    recompute = with_tenant(data.add_parser("recompute-rollups", help="recompute roll-ups of one object or all "
                                            "(for windows that move with time)"))
    recompute.add_argument("object", nargs="?")
    recompute.set_defaults(handler=_data_recompute)
