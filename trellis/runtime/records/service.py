"""The records service: the one path by which records are read and written.

GraphQL, the designer, imports and automation all call this, so defaults, coercion, validation,
rules, formulas, permissions, roll-ups, field history and audit happen the same way for all of
them, in one transaction per call:

    defaults → coercion → JSON Schema → lookups → x-rules → formulas → before-save hooks
    → write → roll-ups → after-write hooks → field history → audit

Features join that path as write hooks (`trellis.runtime.records.hooks`), composed in
`trellis.runtime.services`: this module knows none of them.

Errors are `trellis.runtime.errors` exceptions with every problem listed; when one is raised,
nothing was written.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, RowMapping, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database, JoinedDatabase
from trellis.platform.ids import new_id
from trellis.runtime.access import Action, Actor
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, RuntimeProblem
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.query.aggregates import GroupBy, Metric, aggregate
from trellis.runtime.query.columns import STANDARD_FIELDS, ColumnResolver
from trellis.runtime.query.listing import Page, PageRequest, fetch_page, fetch_pages_by_parent
from trellis.runtime.query.scope import visible
from trellis.runtime.records import audit
from trellis.runtime.records.hooks import AfterWrite, Change, WriteEvent, WriteHook
from trellis.runtime.records.pipeline import Draft, Pipeline, check_unique, formula_value
from trellis.runtime.records.related import LOOKUP_BATCH, compute_live
from trellis.runtime.records.rollups import EMPTY_IS_ZERO, recompute

if TYPE_CHECKING:
    from trellis.runtime.registry import Registry

BulkMode = Literal["all-or-nothing", "skip-bad-rows"]
MAX_BATCH = 10_000


class Reading(NamedTuple):
    """Which stored columns a read fetches, and whether it computes the live formulas."""

    columns: builtins.list[str]
    live: bool


@dataclass(frozen=True)
class RecordPage:
    records: list[dict[str, Any]]
    page: Page


@dataclass(frozen=True)
class UpdateItem:
    id: str
    changes: Mapping[str, Any]
    expected_version: int | None = None


@dataclass
class BulkResult:
    """What a bulk call did: ids written in input order (None for rows skipped) and the problems
    of each skipped row, by its position."""

    ids: list[str | None] = field(default_factory=list)
    problems: dict[int, list[FieldProblem]] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(1 for i in self.ids if i is not None)


class RecordsService:
    """Records of one tenant's current release (its `Registry`), written with the given hooks."""

    def __init__(self, db: Database, registry: Registry, timezone_name: str, locale: str,
                 clock: Clock = utc_now, *, hooks: Sequence[WriteHook] = (), depth: int = 0):
        self.db = db
        self.hooks = tuple(hooks)
        self.depth = depth  # > 0: writes made by workflow actions (a chain of rules stops at a limit)
        self.registry = registry
        self.timezone = ZoneInfo(timezone_name)
        self.locale = locale
        self.clock = clock

    # -- helpers -------------------------------------------------------------------------------

    def context(self) -> EvaluationContext:
        """One clock reading per call, so `today()` is the same for every record it touches."""
        return EvaluationContext(timezone=self.timezone, now=self.clock())

    def _compiled(self, object_name: str) -> CompiledObject:
        compiled = self.registry.compiled.get(object_name)
        if compiled is None:
            known = ", ".join(sorted(self.registry.compiled)) or "none"
            raise NotFound(f"no object named '{object_name}' (objects: {known})")
        return compiled

    def _resolver(self, context: EvaluationContext) -> ColumnResolver:
        return ColumnResolver(self.registry, context, self.db.dialect)

    def _stored_columns(self, compiled: CompiledObject) -> list[str]:
        return list(STANDARD_FIELDS) + [f.name for f in compiled.definition.stored_fields]

    def _read_columns(self, compiled: CompiledObject, fields: Collection[str] | None) -> Reading:
        """Every column, live formulas computed, when the caller does not say which `fields` it
        will use or names a live formula (which may need any column); else `fields` and `id`."""
        columns = self._stored_columns(compiled)
        if fields is None or not set(compiled.live_order).isdisjoint(fields):
            return Reading(columns, live=True)
        return Reading([c for c in columns if c in fields or c == "id"], live=False)

    def _present(self, conn: Connection, actor: Actor, compiled: CompiledObject,
                 rows: Sequence[Mapping[str, Any] | RowMapping], context: EvaluationContext,
                 reading: Reading | None = None) -> list[dict[str, Any]]:
        """Rows as the actor sees them: live formulas computed now (unless `reading` leaves them
        out), unreadable fields removed."""
        reading = reading or Reading(self._stored_columns(compiled), live=True)
        records = [{c: row[c] for c in reading.columns} for row in rows]
        if reading.live and compiled.live_order:
            drafts = [Draft(values=r) for r in records]
            Pipeline(conn, self.registry, compiled, Actor.system(), context, self.locale).load_related(drafts, live_only=True)
            for draft in drafts:
                compute_live(compiled, draft.values, draft.related, context)
        if actor.policy.is_admin:
            return records
        readable = [k for k in (records[0] if records else ()) if actor.policy.can_read_field(compiled.name, k)]
        return [{k: r[k] for k in readable} for r in records]

    def _row(self, conn: Connection, actor: Actor, compiled: CompiledObject, record_id: str, action: Action,
             include_deleted: bool = False, lock: bool = False) -> dict[str, Any]:
        found = self._rows(conn, actor, compiled, [record_id], action, include_deleted, lock)[record_id]
        if isinstance(found, RuntimeProblem):
            raise found
        return found

    def _rows(self, conn: Connection, actor: Actor, compiled: CompiledObject, record_ids: Sequence[str], action: Action,
              include_deleted: bool = False, lock: bool = False) -> dict[str, dict[str, Any] | RuntimeProblem]:
        """Stored values of each record the actor may `action`, in one query per batch (locked
        for update on PostgreSQL); for the others, why not: `Forbidden` when the actor may read
        the record, else `NotFound` (a record one may not read is not revealed)."""
        table = compiled.table
        columns = self._stored_columns(compiled)
        wanted = sorted(set(record_ids))
        found: dict[str, dict[str, Any] | RuntimeProblem] = {}
        for start in range(0, len(wanted), LOOKUP_BATCH):
            chunk = wanted[start:start + LOOKUP_BATCH]
            statement = select(table).where(table.c.id.in_(chunk),
                                            visible(table, actor, compiled.name, action, include_deleted))
            if lock and self.db.dialect == "postgresql":
                statement = statement.with_for_update()
            for row in conn.execute(statement).mappings():
                found[row["id"]] = {c: row[c] for c in columns}
        missing = [i for i in wanted if i not in found]
        readable: set[str] = set()
        if missing and action != "read":
            for start in range(0, len(missing), LOOKUP_BATCH):
                chunk = missing[start:start + LOOKUP_BATCH]
                readable.update(conn.execute(select(table.c.id).where(
                    table.c.id.in_(chunk), visible(table, actor, compiled.name, "read", include_deleted))).scalars())
        for record_id in missing:
            found[record_id] = Forbidden(f"you may not {action} this {compiled.name}") if record_id in readable \
                else NotFound(f"no {compiled.name} with id '{record_id}'")
        return found

    # -- reads ---------------------------------------------------------------------------------

    def get(self, actor: Actor, object_name: str, record_id: str, include_deleted: bool = False) -> dict[str, Any]:
        compiled = self._compiled(object_name)
        context = self.context()
        with self.db.read() as conn:
            row = self._row(conn, actor, compiled, record_id, "read", include_deleted)
            return self._present(conn, actor, compiled, [row], context)[0]

    def find(self, actor: Actor, object_name: str, record_ids: Sequence[str],
             fields: Collection[str] | None = None) -> dict[str, dict[str, Any] | None]:
        """Records by id as the actor may read them, None for one that is missing, deleted or
        not visible (not revealed which): what a batch of lookups needs, in one query per batch.
        `fields`: the fields the caller will use (others may be absent), None for all."""
        compiled = self._compiled(object_name)
        table = compiled.table
        reading = self._read_columns(compiled, fields)
        wanted = sorted(set(record_ids))
        rows: builtins.list[RowMapping] = []
        context = self.context()
        with self.db.read() as conn:
            for start in range(0, len(wanted), LOOKUP_BATCH):
                statement = select(*(table.c[c] for c in reading.columns)).where(
                    table.c.id.in_(wanted[start:start + LOOKUP_BATCH]), visible(table, actor, compiled.name))
                rows.extend(conn.execute(statement).mappings())
            presented = self._present(conn, actor, compiled, rows, context, reading)
        found: dict[str, dict[str, Any] | None] = dict.fromkeys(record_ids)
        found.update((row["id"], record) for row, record in zip(rows, presented, strict=True))
        return found

    def list(self, actor: Actor, object_name: str, request: PageRequest = PageRequest(),
             fields: Collection[str] | None = None) -> RecordPage:
        """A page of records; `fields`: the fields the caller will use (others may be absent
        from the records), None for all."""
        compiled = self._compiled(object_name)
        context = self.context()
        reading = self._read_columns(compiled, fields)
        with self.db.read() as conn:
            page = fetch_page(conn, self._resolver(context), actor, object_name, reading.columns, request)
            return RecordPage(self._present(conn, actor, compiled, page.rows, context, reading), page)

    def within(self, conn: Connection) -> RecordsService:
        """This service reading and writing inside `conn`'s open transaction: several reads
        of one request see one snapshot and pay for one transaction."""
        return RecordsService(JoinedDatabase(self.db, conn), self.registry, self.timezone.key, self.locale,
                              self.clock, hooks=self.hooks, depth=self.depth)

    def list_by_parent(self, actor: Actor, object_name: str, via: str, parent_ids: Sequence[str],
                       request: PageRequest = PageRequest()) -> dict[str, RecordPage]:
        """A page of children per parent (rows whose lookup `via` names it), in one query: what
        a reverse relation of many parents needs without a query per parent."""
        compiled = self._compiled(object_name)
        context = self.context()
        with self.db.read() as conn:
            pages = fetch_pages_by_parent(conn, self._resolver(context), actor, object_name,
                                          self._stored_columns(compiled), via, parent_ids, request)
            presented = iter(self._present(conn, actor, compiled, [r for p in pages.values() for r in p.rows], context))
            return {parent: RecordPage([next(presented) for _ in page.rows], page) for parent, page in pages.items()}

    def aggregate(self, actor: Actor, object_name: str, where: Mapping[str, Any] | None = None,
                  group_by: Sequence[GroupBy] = (), metrics: Sequence[Metric] = (Metric("count"),)) -> builtins.list[dict[str, Any]]:
        self._compiled(object_name)
        context = self.context()
        with self.db.read() as conn:
            return aggregate(conn, self._resolver(context), actor, object_name, where, group_by, metrics)

    def history(self, actor: Actor, object_name: str, record_id: str) -> builtins.list[dict[str, Any]]:
        """Field history of a record, for the tracked fields the actor may read."""
        compiled = self._compiled(object_name)
        with self.db.read() as conn:
            self._row(conn, actor, compiled, record_id, "read", include_deleted=True)
            return [h for h in audit.history_of(conn, object_name, record_id)
                    if actor.policy.can_read_field(object_name, h["field"])]

    # -- creating ------------------------------------------------------------------------------

    def create(self, actor: Actor, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        result = self.create_many(actor, object_name, [values])
        record_id = result.ids[0]
        assert record_id is not None
        return self.get(actor, object_name, record_id)

    def create_many(self, actor: Actor, object_name: str, rows: Sequence[Mapping[str, Any]],
                    mode: BulkMode = "all-or-nothing") -> BulkResult:
        """Create records in one transaction. `all-or-nothing` writes none if any row is bad;
        `skip-bad-rows` writes the good ones and reports the others."""
        compiled = self._compiled(object_name)
        if actor.policy.scope(object_name, "create").value != "all":
            raise Forbidden(f"you may not create {object_name} records")
        if len(rows) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} records per call", [FieldProblem("$", f"got {len(rows)}")])
        context = self.context()
        now = context.now
        with self.db.write() as conn:
            pipeline = Pipeline(conn, self.registry, compiled, actor, context, self.locale, self.hooks)
            drafts = [pipeline.accept(row, None) for row in rows]
            pipeline.run(drafts, "created")
            ids = [new_id() for _ in drafts]
            check_unique(conn, compiled, drafts, ids)
            result = self._bulk_outcome(drafts, ids, mode)
            good = [(record_id, d) for record_id, d in zip(result.ids, drafts, strict=True) if record_id]
            for record_id, draft in good:
                draft.values.update(id=record_id, created_at=now, updated_at=now, created_by=actor.user_id,
                                    version=1, deleted_at=None)
                draft.values.setdefault("owner_id", actor.user_id)
                for rollup in compiled.rollups:  # no children yet: a count or sum starts at zero
                    if rollup.function in EMPTY_IS_ZERO:
                        draft.values[rollup.field.name] = formula_value(rollup.field, Decimal(0), context)
            if good:
                self._insert(conn, compiled, [d.values for _, d in good])
                self._after_write(conn, actor, compiled, [(None, d.values) for _, d in good], context, "created")
                # the created row itself holds the initial values; its audit row says who and when
                audit.record_audit(conn, now, actor.user_id, object_name, [(record_id, "create", {}) for record_id, _ in good])
            return result

    def _bulk_outcome(self, drafts: Sequence[Draft], ids: Sequence[str], mode: BulkMode) -> BulkResult:
        bad = {i: d.problems for i, d in enumerate(drafts) if d.problems}
        if bad and mode == "all-or-nothing":
            prefix = len(drafts) > 1
            problems = [FieldProblem(f"rows[{i}].{p.path}" if prefix else p.path, p.message)
                        for i, ps in bad.items() for p in ps]
            raise InvalidInput("the record is not valid" if not prefix else f"{len(bad)} of {len(drafts)} rows are not valid",
                               problems, rows=bad)
        return BulkResult(ids=[None if i in bad else record_id for i, record_id in enumerate(ids)], problems=bad)

    def _insert(self, conn: Connection, compiled: CompiledObject, rows: builtins.list[dict[str, Any]]) -> None:
        columns = self._stored_columns(compiled)  # every row names every column: one executemany
        try:
            with conn.begin_nested():
                conn.execute(insert(compiled.table), [{c: row.get(c) for c in columns} for row in rows])
        except IntegrityError as error:  # a unique value taken by a concurrent writer
            raise self._integrity_problem(compiled, error) from None

    def _integrity_problem(self, compiled: CompiledObject, error: IntegrityError) -> InvalidInput | Conflict:
        text = str(error.orig)
        for index in (i for i in compiled.definition.indexes if i.unique):
            columns = ", ".join(f"{compiled.table.name}.{f}" for f in index.fields)
            if index.name in text or columns in text:
                return InvalidInput("the record is not valid", [FieldProblem(
                    index.fields[0], f"must be unique: another {compiled.name} already has this "
                                     f"{', '.join(index.fields)}")])
        return Conflict(f"the {compiled.name} conflicts with other records: {text.splitlines()[0]}")

    # -- updating ------------------------------------------------------------------------------

    def update(self, actor: Actor, object_name: str, record_id: str, changes: Mapping[str, Any],
               expected_version: int | None = None) -> dict[str, Any]:
        self.update_many(actor, object_name, [UpdateItem(record_id, changes, expected_version)])
        return self.get(actor, object_name, record_id)

    def update_many(self, actor: Actor, object_name: str, items: Sequence[UpdateItem],
                    mode: BulkMode = "all-or-nothing") -> BulkResult:
        """Partial updates in one transaction (imports, batch mutations). A stale
        `expected_version`, a missing record or one the actor may not update is a problem of that
        item like any other; a single update raises it as `Conflict`, `NotFound` or `Forbidden`."""
        compiled = self._compiled(object_name)
        if len(items) > MAX_BATCH:
            raise InvalidInput(f"at most {MAX_BATCH} records per call", [FieldProblem("$", f"got {len(items)}")])
        context = self.context()
        with self.db.write() as conn:
            pipeline = Pipeline(conn, self.registry, compiled, actor, context, self.locale, self.hooks)
            found = self._rows(conn, actor, compiled, [item.id for item in items], "update", lock=True)
            drafts = []
            for item in items:
                stored = found[item.id]  # every id asked for: its values, or why not
                if isinstance(stored, RuntimeProblem):
                    if len(items) == 1:
                        raise stored
                    drafts.append(Draft(values={}, problems=[FieldProblem("$", str(stored))]))
                    continue
                before = stored
                draft = pipeline.accept(item.changes, before)
                if item.expected_version is not None and before["version"] != item.expected_version:
                    if len(items) == 1:
                        raise Conflict(f"the {object_name} was changed by someone else (version "
                                       f"{before['version']}, you expected {item.expected_version}); reload it and try again")
                    draft.problems.append(FieldProblem("$", f"changed by someone else (version {before['version']})"))
                drafts.append(draft)
            pipeline.run([d for d in drafts if d.before is not None], "updated")
            ids = [item.id for item in items]
            check_unique(conn, compiled, drafts, ids)
            result = self._bulk_outcome(drafts, ids, mode)
            written = []
            for record_id, draft in zip(result.ids, drafts, strict=True):
                old = draft.before
                if record_id is None or old is None:
                    continue
                after = {**draft.values, "updated_at": context.now, "version": old["version"] + 1}
                changed = audit.changes_between(old, after, list(compiled.definition.fields) + ["owner_id"])
                if changed:
                    written.append((record_id, old, after, changed))
            self._write_updates(conn, compiled, [(i, b["version"], a) for i, b, a, _ in written])
            self._after_write(conn, actor, compiled, [(b, a) for _, b, a, _ in written], context, "updated")
            audit.record_history(conn, context.now, actor.user_id, compiled.definition,
                                 [(i, b, a) for i, b, a, _ in written])
            audit.record_audit(conn, context.now, actor.user_id, object_name,
                               [(i, "update", changed) for i, _, _, changed in written])
            return result

    def _write_updates(self, conn: Connection, compiled: CompiledObject,
                       rows: Sequence[tuple[str, int, Mapping[str, Any]]]) -> None:
        """The changed records of one call in one executemany of one statement (a batch of a
        thousand was a thousand statements built and sent one by one). A version that moved
        underneath fails the call, as one record's does; per record where the driver cannot
        count what an executemany changed."""
        if len(rows) <= 1 or not conn.dialect.supports_sane_multi_rowcount:
            for record_id, version, values in rows:
                self._write_update(conn, compiled, record_id, version, values)
            return
        table = compiled.table
        columns = [c for c in self._stored_columns(compiled) if c not in ("id", "created_at", "created_by")]
        statement = update(table).where(table.c.id == bindparam("w_id"), table.c.version == bindparam("w_version"))
        parameters = [{"w_id": record_id, "w_version": version, **{c: values[c] for c in columns}}
                      for record_id, version, values in rows]
        try:
            with conn.begin_nested():
                done = conn.execute(statement, parameters)
        except IntegrityError as error:
            raise self._integrity_problem(compiled, error) from None
        if done.rowcount != len(rows):
            raise Conflict(f"a {compiled.name} was changed by someone else; reload it and try again")

    def _write_update(self, conn: Connection, compiled: CompiledObject, record_id: str, version: int,
                      values: Mapping[str, Any]) -> None:
        table = compiled.table
        writable = {c: values[c] for c in self._stored_columns(compiled) if c not in ("id", "created_at", "created_by")}
        try:
            with conn.begin_nested():
                done = conn.execute(update(table).where(table.c.id == record_id, table.c.version == version)
                                    .values(writable))
        except IntegrityError as error:
            raise self._integrity_problem(compiled, error) from None
        if done.rowcount != 1:
            raise Conflict(f"the {compiled.name} was changed by someone else; reload it and try again")

    # -- deleting ------------------------------------------------------------------------------

    def delete(self, actor: Actor, object_name: str, record_id: str, expected_version: int | None = None) -> None:
        """Soft delete: the record disappears from reads and roll-ups, and can be restored."""
        self._set_deleted(actor, object_name, record_id, expected_version, deleting=True)

    def restore(self, actor: Actor, object_name: str, record_id: str) -> dict[str, Any]:
        self._set_deleted(actor, object_name, record_id, None, deleting=False)
        return self.get(actor, object_name, record_id)

    def _set_deleted(self, actor: Actor, object_name: str, record_id: str, expected_version: int | None,
                     deleting: bool) -> None:
        compiled = self._compiled(object_name)
        context = self.context()
        with self.db.write() as conn:
            before = self._row(conn, actor, compiled, record_id, "delete", include_deleted=True, lock=True)
            if (before["deleted_at"] is None) != deleting:
                state = "not deleted" if deleting is False else "already deleted"
                raise NotFound(f"no {object_name} with id '{record_id}' ({state})")
            if expected_version is not None and before["version"] != expected_version:
                raise Conflict(f"the {object_name} was changed by someone else; reload it and try again")
            after = {**before, "deleted_at": context.now if deleting else None, "updated_at": context.now,
                     "version": before["version"] + 1}
            self._write_update(conn, compiled, record_id, before["version"], after)
            self._after_write(conn, actor, compiled, [(before, after)], context,  # deleted rows no longer count
                              "deleted" if deleting else "restored")
            action = "delete" if deleting else "restore"
            audit.record_audit(conn, context.now, actor.user_id, object_name,
                               [(record_id, action, audit.changes_between(before, after, ["deleted_at"]))])

    def purge(self, actor: Actor, object_name: str, record_id: str) -> None:
        """Hard delete, for admins: the row is gone. Refused while other records point to it."""
        compiled = self._compiled(object_name)
        if not actor.policy.is_admin:
            raise Forbidden("only admins may delete records permanently")
        context = self.context()
        with self.db.write() as conn:
            before = self._row(conn, actor, compiled, record_id, "delete", include_deleted=True, lock=True)
            referrers = []
            for name, (child, via) in compiled.reverse.items():
                child_table = self.registry.tables[child]
                count = conn.execute(select(child_table.c.id).where(child_table.c[via] == record_id).limit(1)).first()
                if count is not None:
                    referrers.append(f"{name} ({child}.{via})")
            if referrers:
                raise Conflict(f"the {object_name} is still referenced by {', '.join(referrers)}; "
                               "remove or re-point those records first")
            try:
                with conn.begin_nested():
                    conn.execute(delete(compiled.table).where(compiled.table.c.id == record_id))
            except IntegrityError as error:
                raise Conflict(f"the {object_name} is still referenced: {str(error.orig).splitlines()[0]}") from None
            self._after_write(conn, actor, compiled, [(before, before)], context, "purged")
            audit.record_audit(conn, context.now, actor.user_id, object_name, [(record_id, "purge", {})])

    # -- after every write ---------------------------------------------------------------------

    def _after_write(self, conn: Connection, actor: Actor, compiled: CompiledObject, changes: Sequence[Change],
                     context: EvaluationContext, event: WriteEvent) -> None:
        """Recompute the roll-ups this object's rows feed, for every parent before and after;
        then hand the write to each after-write hook, still inside the transaction."""
        for rollup in compiled.feeds:
            parents = {parent for pair in changes for values in pair if values
                       if (parent := values.get(rollup.via)) is not None}
            recompute(conn, self.registry, rollup, parents, context)
        if not changes:
            return
        write = AfterWrite(conn, self.registry, compiled, actor, event, changes, context, self.locale, self.depth)
        for hook in self.hooks:
            hook.after_write(write)

    def recompute_rollups(self, object_name: str | None = None) -> int:
        """Recompute every roll-up (of one object, or all): for windows that move with time."""
        if object_name is not None:
            self._compiled(object_name)  # an unknown name is an error, not "0 roll-ups"
        context = self.context()
        count = 0
        with self.db.write() as conn:
            for compiled in self.registry.compiled.values():
                if object_name is not None and compiled.name != object_name:
                    continue
                for rollup in compiled.rollups:
                    recompute(conn, self.registry, rollup, None, context)
                    count += 1
        return count
