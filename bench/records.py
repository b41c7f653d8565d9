"""records_bulk_create and records_list_page: the records runtime against hand-written Core.

The object is a contract of ten fields (text, a unique number, a lookup to an account, an
integer, money, a stored formula `amount = quantity * unit_price`, two dates, a five-value enum,
a boolean), an `x-rules` condition `end_date >= start_date` and an object-level `x-index` on
[status, end_date]; see `bench.generate.CONTRACT`.

records_bulk_create (one row):
* `create`  `sizes.creates` (100,000) contracts through `RecordsService.create_many`, in calls of
            `sizes.batch` (10,000, the service's maximum), input as the API receives it (dates as
            ISO text), as the system actor, on a fresh tenant whose accounts exist; against raw
            Core `insert(table)` executemany of the same rows already typed (ids, timestamps,
            Decimals, dates, the formula's value computed beforehand), one transaction per batch,
            on a fresh database with the same tables and accounts. After timing, both sides' rows
            are compared (ids and timestamps aside) and Trellis's audit rows counted.

records_list_page (four rows; `sizes.rows` contracts filled in SQL, 1% soft-deleted, 1% without
dates, 40% active, end dates spread over three years, then settled):
* `first_page` `RecordsService.list` as the system actor, `where status = 生效 and end_date >=
            2026-06-01 order by end_date`, first 50; against the same query written in Core
            (`deleted_at IS NULL` included, `ORDER BY end_date ASC NULLS LAST, id`, `LIMIT 51`)
            selecting the same columns, each in one read transaction;
* `next_page` the second page through `after=end_cursor`, against the hand-written keyset
            condition `end_date >= d AND (end_date > d OR id > i)` (its first term lets the
            index range start at the cursor);
* `deep_page` the page after matching row `sizes.rows / 10` (100,000), Trellis's cursor for
            that row against the same hand-written keyset: whether a cursor far into the
            list costs what the first pages cost;
* `with_total` the first page with `with_total=True`, against the hand-written page plus
            `count(*)` in one transaction.
Both sides read the same table (equal storage by construction) and must return the same ids
(and total). The plans of the statements Trellis sends (captured from the engine) are printed
after the table: SQLite `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Select, Table, event, func, insert, or_, select, text

from bench.add_field import TIMESTAMP, account_id, fill_accounts, settle
from bench.backends import Backend, BaselineDb, check_same_storage
from bench.generate import CONTRACT_STATUSES, contract_set
from bench.harness import Result, Sizes, Stopwatch, TimedRun, compare
from bench.raw import create_all
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.query.columns import ColumnResolver
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.query.ordering import encode_cursor, sort_keys
from trellis.runtime.records.service import RecordsService
from trellis.runtime.records.tables import audit_log
from trellis.runtime.services import TenantServices
from trellis.runtime.storage import build_tables

NAME_CREATE = "records_bulk_create"
NAME_LIST = "records_list_page"
OBJECT = "contract"
ACTOR = "system"  # Actor.system(): the user id Trellis writes into created_by / owner_id

# -- the generated contracts (the same formulas in Python and in SQL) ---------------------------

FIRST_END = date(2025, 1, 1)
SPAN_DAYS = 1096  # end dates spread over three years from FIRST_END
TERM_DAYS = 365  # start_date = end_date - TERM_DAYS
STATUS_EDGES = (8, 13, 16, 18, 20)  # i % 20 below edge k -> CONTRACT_STATUSES[k]: 40/25/15/10/10 %
ACTIVE = CONTRACT_STATUSES[0]
SINCE = date(2026, 6, 1)
PAGE = 50
WHERE = {"status": {"_eq": ACTIVE}, "end_date": {"_gte": SINCE.isoformat()}}
ORDER_BY = ({"end_date": "ASC"},)
CENT = Decimal("0.01")


def status_of(i: int) -> str:
    return CONTRACT_STATUSES[next(k for k, edge in enumerate(STATUS_EDGES) if i % 20 < edge)]


def contract_input(i: int, accounts: int) -> dict[str, Any]:
    """Contract number `i` as an API caller sends it: dates as ISO text, money as Decimal."""
    end = FIRST_END + timedelta(days=i * 7919 % SPAN_DAYS)
    return {
        "number": f"HT{i:08d}",
        "title": f"合同 {i}",
        "account": account_id(i % accounts + 1),
        "quantity": 1 + i % 20,
        "unit_price": Decimal(i * 37 % 1_000_000).scaleb(-2),
        "start_date": (end - timedelta(days=TERM_DAYS)).isoformat(),
        "end_date": end.isoformat(),
        "status": status_of(i),
        "auto_renew": i % 3 == 0,
    }


def typed_row(values: dict[str, Any], record_id: str, now: datetime) -> dict[str, Any]:
    """The row as stored: typed values, the formula's result and the standard columns."""
    return {
        **values,
        "id": record_id, "created_at": now, "updated_at": now, "created_by": ACTOR, "owner_id": ACTOR,
        "version": 1, "deleted_at": None,
        "start_date": date.fromisoformat(values["start_date"]),
        "end_date": date.fromisoformat(values["end_date"]),
        "amount": (values["quantity"] * values["unit_price"]).quantize(CENT),
    }


_STATUS_CASE = "CASE " + " ".join(f"WHEN i % 20 < {edge} THEN {{s{k}}}" for k, edge in enumerate(STATUS_EDGES)) + " END"
_COLUMNS = ("id, created_at, updated_at, created_by, owner_id, version, deleted_at, number, title, account, "
            "quantity, unit_price, amount, start_date, end_date, status, auto_renew")
_SQLITE_CONTRACTS = f"""
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :rows)
    INSERT INTO obj_contract ({_COLUMNS})
    SELECT printf('%036d', i), :ts, :ts, '{ACTOR}', '{ACTOR}', 1, CASE WHEN i % 100 = 0 THEN :ts END,
           printf('HT%08d', i), '合同 ' || i, printf('%036d', i % :accounts + 1),
           1 + i % 20, i * 37 % 1000000, (1 + i % 20) * (i * 37 % 1000000),
           CASE WHEN i % 97 <> 0 THEN date(:first_end, (i * 7919 % {SPAN_DAYS} - {TERM_DAYS}) || ' days') END,
           CASE WHEN i % 97 <> 0 THEN date(:first_end, (i * 7919 % {SPAN_DAYS}) || ' days') END,
           {_STATUS_CASE.format(**{f"s{k}": f":s{k}" for k in range(5)})}, i % 3 = 0
    FROM n"""  # money in minor units: that is how ExactDecimal stores it on SQLite
_POSTGRES_CONTRACTS = f"""
    INSERT INTO obj_contract ({_COLUMNS})
    SELECT lpad(i::text, 36, '0'), CAST(:ts AS timestamptz), CAST(:ts AS timestamptz), '{ACTOR}', '{ACTOR}', 1,
           CASE WHEN i % 100 = 0 THEN CAST(:ts AS timestamptz) END,
           'HT' || lpad(i::text, 8, '0'), '合同 ' || i, lpad((i % :accounts + 1)::text, 36, '0'),
           1 + i % 20, (i * 37 % 1000000) / 100.0, (1 + i % 20) * (i * 37 % 1000000) / 100.0,
           CASE WHEN i % 97 <> 0 THEN CAST(:first_end AS date) + (i * 7919 % {SPAN_DAYS} - {TERM_DAYS})::int END,
           CASE WHEN i % 97 <> 0 THEN CAST(:first_end AS date) + (i * 7919 % {SPAN_DAYS})::int END,
           {_STATUS_CASE.format(**{f"s{k}": f"CAST(:s{k} AS text)" for k in range(5)})}, i % 3 = 0
    FROM generate_series(1, CAST(:rows AS bigint)) AS s(i)"""


def fill_contracts(conn: Connection, sizes: Sizes) -> None:
    """`sizes.rows` contracts over the accounts of `fill_accounts`, generated inside the database:
    1% soft-deleted, 1% without dates, statuses 40/25/15/10/10 %, end dates over three years in an
    order unrelated to the insertion order."""
    dialect = conn.dialect.name
    statement = _SQLITE_CONTRACTS if dialect == "sqlite" else _POSTGRES_CONTRACTS
    conn.execute(text(statement), {"ts": TIMESTAMP[dialect], "rows": sizes.rows, "accounts": sizes.accounts,
                                   "first_end": FIRST_END.isoformat(),
                                   **{f"s{k}": status for k, status in enumerate(CONTRACT_STATUSES)}})


def batches(rows: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


# -- records_bulk_create -------------------------------------------------------------------------

class CreatePair:
    """Both sides of the bulk create; each repetition gets fresh storage (set-up, not timed).

    Each side builds its rows just before its clock starts and drops them after: a run then holds
    only its own rows, as a real import does. Were both sides' 100,000 rows alive throughout, every
    full garbage collection on either clock would also walk the other side's rows, and the side
    that allocates more (Trellis) would pay for the baseline's data."""

    def __init__(self, backend: Backend, sizes: Sizes):
        self.backend = backend
        self.sizes = sizes
        self.services = TenantServices(backend.installation)
        self.db: Database | None = None
        self.base: BaselineDb | None = None

    def inputs(self) -> list[dict[str, Any]]:
        return [contract_input(i, self.sizes.accounts) for i in range(1, self.sizes.creates + 1)]

    def typed(self) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [typed_row(values, new_id(), now) for values in self.inputs()]

    def fresh_service(self, label: str) -> RecordsService:
        """A new tenant with the contract release published and the accounts filled."""
        self.db = self.backend.tenant(label)
        self.services.store(label).publish(contract_set(), author="bench", message="contracts")
        with self.db.write() as conn:
            fill_accounts(conn, self.sizes)
        settle(self.db.engine, self.db.schema, ("obj_account",))
        return self.services.records(label)

    def trellis(self, i: int, watch: Stopwatch) -> None:
        records = self.fresh_service(f"create-{i}")
        actor = Actor.system()
        rows = self.inputs()
        with watch:
            for batch in batches(rows, self.sizes.batch):
                records.create_many(actor, OBJECT, batch)

    def baseline(self, i: int, watch: Stopwatch) -> None:
        self.base = self.backend.baseline(f"create-{i}")
        tables = build_tables(contract_set().objects)
        with self.base.transaction() as conn:
            create_all(conn, tables)
            fill_accounts(conn, self.sizes)
        settle(self.base.engine, self.base.schema, ("obj_account",))
        statement = insert(tables[OBJECT])
        rows = self.typed()
        with watch:
            for batch in batches(rows, self.sizes.batch):
                with self.base.transaction() as conn:
                    conn.execute(statement, batch)

    def check(self) -> int:
        """Same tables, same rows (ids and timestamps aside); returns Trellis's audit rows."""
        assert self.db is not None and self.base is not None
        check_same_storage(self.db, self.base)
        table = build_tables(contract_set().objects)[OBJECT]
        compared = [c for c in table.c if c.name not in ("id", "created_at", "updated_at")]
        statement = select(*compared).order_by(table.c.number)
        with self.db.read() as conn:
            ours = conn.execute(statement).all()
            audited = conn.execute(select(func.count()).select_from(audit_log)
                                   .where(audit_log.c.object == OBJECT)).scalar_one()
        with self.base.transaction() as conn:
            theirs = conn.execute(statement).all()
        if len(ours) != self.sizes.creates or ours != theirs:
            wrong = next((a, b) for a, b in zip(ours + [None], theirs + [None], strict=False) if a != b)
            raise AssertionError(f"Trellis stored {len(ours)} contracts, the baseline {len(theirs)}; first difference {wrong}")
        return int(audited)


def run_create(backend: Backend, sizes: Sizes) -> list[Result]:
    pair = CreatePair(backend, sizes)
    trellis_s, baseline_s = compare(pair.trellis, pair.baseline, sizes.repeat)
    audited = pair.check()
    n = sizes.creates
    return [Result(
        f"{NAME_CREATE}/create", backend.name, trellis_s, baseline_s,
        f"{n:,} contracts in calls of {sizes.batch:,}: create_many {n / trellis_s:,.0f} rows/s vs Core executemany "
        f"of typed rows {n / baseline_s:,.0f} rows/s; Trellis also coerces input, checks JSON Schema, lookups, "
        f"x-unique and x-rules, computes the formula and ids, writes {audited:,} audit rows; best of {sizes.repeat}")]


# -- records_list_page ---------------------------------------------------------------------------

def hand_written_where(table: Table) -> list[Any]:
    c = table.c
    return [c.deleted_at.is_(None), c.status == ACTIVE, c.end_date >= SINCE]


def hand_written_page(table: Table, after: tuple[date, str] | None = None) -> Select[Any]:
    """The page query as a programmer writes it. `after` is the previous page's last (end_date,
    id): the keyset condition leads with `end_date >= d` so the index range starts at the cursor
    (the filter keeps no row without an end date, so no null needs its own branch)."""
    c = table.c
    where = hand_written_where(table)
    if after is not None:
        where += [c.end_date >= after[0], or_(c.end_date > after[0], c.id > after[1])]
    return select(table).where(*where).order_by(c.end_date.asc().nulls_last(), c.id.asc()).limit(PAGE + 1)


def hand_written_count(table: Table) -> Select[Any]:
    return select(func.count()).select_from(table).where(*hand_written_where(table))


@dataclass(frozen=True)
class PageCase:
    label: str
    note: str
    request: PageRequest
    pages: int  # pages per timed run
    repeat: int  # best of N runs
    after: tuple[date, str] | None = None

    def trellis(self, records: RecordsService) -> TimedRun:
        actor = Actor.system()

        def run(i: int, watch: Stopwatch) -> None:
            with watch:
                for _ in range(self.pages):
                    records.list(actor, OBJECT, self.request)
        return run

    def baseline(self, db: Database, table: Table) -> TimedRun:
        def run(i: int, watch: Stopwatch) -> None:
            with watch:
                for _ in range(self.pages):
                    self.hand_written(db, table)
        return run

    def hand_written(self, db: Database, table: Table) -> tuple[list[str], int | None]:
        """(ids of the page, total or None), in one read transaction like `list`."""
        with db.read() as conn:
            rows = conn.execute(hand_written_page(table, self.after)).all()
            total = conn.execute(hand_written_count(table)).scalar_one() if self.request.with_total else None
        return [r.id for r in rows[:PAGE]], total

    def check(self, records: RecordsService, db: Database, table: Table) -> None:
        page = records.list(Actor.system(), OBJECT, self.request)
        ours = ([r["id"] for r in page.records], page.page.total)
        theirs = self.hand_written(db, table)
        if ours != theirs or len(ours[0]) != PAGE or not page.page.has_next:
            raise AssertionError(f"{self.label}: Trellis returned {ours[0][:3]}… (total {ours[1]}), "
                                 f"the hand-written query {theirs[0][:3]}… (total {theirs[1]})")


def deep_cursor(records: RecordsService, depth: int) -> tuple[str, tuple[date, str]]:
    """Trellis's cursor, and the (end_date, id), of matching row number `depth` in page order:
    where a client lands after paging `depth` rows in (read by OFFSET here, set-up only)."""
    table = records.registry.tables[OBJECT]
    statement = hand_written_page(table).limit(1).offset(depth - 1)
    with records.db.read() as conn:
        row = conn.execute(statement).one()
    resolver = ColumnResolver(records.registry, records.context(), records.db.dialect)
    keys = sort_keys(resolver, Actor.system(), OBJECT, ORDER_BY, table)
    return encode_cursor(keys, [row.end_date, row.id]), (row.end_date, row.id)


def page_cases(records: RecordsService, sizes: Sizes) -> list[PageCase]:
    """The four cases; the second page's cursor and keyset come from the first page."""
    first = PageRequest(where=WHERE, order_by=ORDER_BY, first=PAGE)
    page = records.list(Actor.system(), OBJECT, first)
    last = page.records[-1]
    depth = sizes.rows // 10
    cursor, position = deep_cursor(records, depth)
    many, slow = (sizes.pages, sizes.cpu_repeat), (1, sizes.repeat)
    return [
        PageCase("first_page", f"first {PAGE}", first, *many),
        PageCase("next_page", "second page via after=end_cursor vs hand-written keyset",
                 PageRequest(where=WHERE, order_by=ORDER_BY, first=PAGE, after=page.page.end_cursor), *many,
                 after=(last["end_date"], last["id"])),
        PageCase("deep_page", f"page after matching row {depth:,} (a cursor that far in) vs hand-written keyset",
                 PageRequest(where=WHERE, order_by=ORDER_BY, first=PAGE, after=cursor), *slow, after=position),
        PageCase("with_total", "first page with with_total=True vs hand-written page + count(*)",
                 PageRequest(where=WHERE, order_by=ORDER_BY, first=PAGE, with_total=True), *many),
    ]


def sent_statements(db: Database, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The statements (and parameters) `call` sends about contracts, as the driver gets them."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "obj_contract" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    return seen


def explain(db: Database, statement: str, parameters: Any) -> list[str]:
    """The plan, one line per step: SQLite `EXPLAIN QUERY PLAN` (indented by parent), PostgreSQL `EXPLAIN`."""
    with db.read() as conn:
        if db.dialect != "sqlite":
            return list(conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
        depth: dict[int, int] = {0: -1}
        lines = []
        for step, parent, _unused, detail in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters):
            depth[step] = depth.get(parent, -1) + 1
            lines.append("  " * depth[step] + detail)
        return lines


def one_line(sql: str, table: Table) -> str:
    """The statement on one line, the table's own column list shortened to `<all columns>`."""
    sql = re.sub(r"\s+", " ", sql).strip().replace(f"{table.name}.", "")
    return sql.replace(", ".join(c.name for c in table.c), "<all columns>", 1)


Plan = list[tuple[str, list[str]]]  # (statement, plan lines) per statement sent


def plans(db: Database, table: Table, call: Callable[[], Any]) -> Plan:
    return [(one_line(sql, table), explain(db, sql, parameters)) for sql, parameters in sent_statements(db, call)]


def plan_summary(plan: Plan, index: str) -> str:
    """`uses ix_...` or `does NOT use ix_...`, and the sort step if there is one (page query only)."""
    steps = plan[0][1]
    used = "uses" if any(index in line for line in steps) else "does NOT use"
    sorts = [line.strip(" ->") for line in steps if "SORT" in line.upper() or "B-TREE" in line.upper()]
    return f"plan {used} {index}" + (f", then {sorts[0].split('  (')[0]}" if sorts else ", no sort step")


def plan_block(title: str, trellis: Plan, hand: Plan) -> str:
    """Trellis's statements and plans; the hand-written ones' plans only where they differ."""
    def shape(steps: list[str]) -> list[str]:  # PostgreSQL estimates differ with the selected width
        return [re.sub(r"\s*\(cost=[^)]*\)", "", step) for step in steps]

    lines = [title]
    for sql, steps in trellis:
        lines.append(f"  Trellis: {sql}")
        lines += [f"      {step}" for step in steps]
    for sql, steps in hand:
        if shape(steps) in [shape(s) for _, s in trellis]:
            lines.append(f"  hand-written, same plan: {sql}")
        else:
            lines.append(f"  hand-written, other plan: {sql}")
            lines += [f"      {step}" for step in steps]
    return "\n".join(lines)


def contracts_tenant(backend: Backend, sizes: Sizes, tenant: str, metadata: MetadataSet) -> tuple[Database, TenantServices]:
    """A tenant with `metadata` published and the generated accounts and contracts loaded, settled."""
    db = backend.tenant(tenant)
    services = TenantServices(backend.installation)
    services.store(tenant).publish(metadata, author="bench", message=tenant)
    with db.write() as conn:
        fill_accounts(conn, sizes)
        fill_contracts(conn, sizes)
    settle(db.engine, db.schema, ("obj_account", "obj_contract"))
    return db, services


def run_list(backend: Backend, sizes: Sizes) -> list[Result]:
    db, services = contracts_tenant(backend, sizes, "contracts", contract_set())
    records = services.records("contracts")
    table = records.registry.tables[OBJECT]
    index = next(i.name for i in records.registry.objects[OBJECT].indexes if i.fields == ("status", "end_date"))
    cases = page_cases(records, sizes)
    for case in cases:
        case.check(records, db, table)
    matching = cases[-1].hand_written(db, table)[1]
    explained = "EXPLAIN QUERY PLAN" if db.dialect == "sqlite" else "EXPLAIN"
    results = []
    for case in cases:
        trellis_s, baseline_s = compare(case.trellis(records), case.baseline(db, table), case.repeat)
        ours = plans(db, table, lambda: records.list(Actor.system(), OBJECT, case.request))  # noqa: B023
        theirs = plans(db, table, lambda: case.hand_written(db, table))  # noqa: B023
        results.append(Result(
            f"{NAME_LIST}/{case.label}", backend.name, trellis_s / case.pages, baseline_s / case.pages,
            f"{case.note}: {matching:,} of {sizes.rows:,} rows match; list() vs hand-written Core, s per page "
            f"(best of {case.repeat} runs of {case.pages}); {plan_summary(ours, index)}",
            plan_block(f"{NAME_LIST}/{case.label} on {backend.name}: {explained}", ours, theirs)))
    return results
