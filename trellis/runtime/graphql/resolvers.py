"""Resolvers of the generated schema: reads, relations and mutations over the records service.

Plain fields have none (the schema's default resolver reads the row dict). Every resolver here
does its database work in the thread pool, through the request's records service (so rules,
validation and permissions are the service's) or through a DataLoader for relations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any, TypeVar

from strawberry.types import Info
from strawberry.types.unset import UNSET

from trellis.metadata.model import FieldDef, FieldType
from trellis.runtime.access import Scope
from trellis.runtime.errors import FieldProblem, RuntimeProblem
from trellis.runtime.graphql.context import RequestContext, in_thread
from trellis.runtime.graphql.errors import ApiError, api_error, bad_input
from trellis.runtime.graphql.limits import MAX_BATCH, MAX_PAGE
from trellis.runtime.graphql.names import camel
from trellis.runtime.graphql.selection import asks_for, selected_at, subfields
from trellis.runtime.query.aggregates import GroupBy, Metric
from trellis.runtime.query.listing import Page, PageRequest
from trellis.runtime.records.service import RecordPage, UpdateItem

Resolver = Callable[..., Any]
T = TypeVar("T")
METRICS = ("sum", "avg", "min", "max")


def given(value: Any) -> Any:
    """An optional argument as the resolver got it: None when the query left it out (UNSET)."""
    return None if value is UNSET else value


def context(info: Info[RequestContext, Any]) -> RequestContext:
    return info.context


async def _call(function: Callable[..., T], *args: Any, root: str | None = None,
                renames: Mapping[str, str] | None = None, batch: bool = False, inner: str = "") -> T:
    try:
        return await in_thread(function, *args)
    except RuntimeProblem as error:
        raise api_error(error, root, renames, batch, inner) from None


def connection(found: RecordPage) -> dict[str, Any]:
    page = found.page
    return {
        "edges": [{"node": record, "cursor": cursor} for record, cursor in zip(found.records, page.cursors, strict=True)],
        "nodes": found.records,
        "page_info": {"has_next_page": page.has_next, "has_previous_page": page.has_previous,
                      "start_cursor": page.start_cursor, "end_cursor": page.end_cursor},
        "total_count": page.total,
    }


def page_request(info: Info, args: Mapping[str, Any]) -> PageRequest:
    for name in ("first", "last"):
        size = args.get(name)
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise bad_input(name, f"expected a whole number from 0 to {MAX_PAGE}; got {size}", "invalid page size")
    return PageRequest(where=args.get("where"), order_by=args.get("order_by"), first=args.get("first"),
                       after=args.get("after"), last=args.get("last"), before=args.get("before"),
                       with_total=asks_for(info, "totalCount"))


# -- queries ---------------------------------------------------------------------------------------

async def me(root: Any, info: Info) -> dict[str, Any]:
    actor = context(info).actor
    found = await context(info).loaders.users.load(actor.user_id)
    return found or {"id": actor.user_id, "email": actor.email, "name": actor.email}


def one(object_name: str) -> Resolver:
    async def resolve(root: Any, info: Info, id: str) -> dict[str, Any]:
        ctx = context(info)
        return await _call(ctx.records.get, ctx.actor, object_name, id)
    return resolve


def many(object_name: str, lookups: Mapping[str, tuple[str, str]]) -> Resolver:
    """A page of records. `lookups` (API name -> (field, target object)) are the relations a
    query may ask of each record: the ones it does ask for are fetched in the same thread hop
    as the page and primed into the request's loaders, so each record's relation resolves at
    once instead of awaiting a batch."""

    async def resolve(root: Any, info: Info, **args: Any) -> dict[str, Any]:
        ctx = context(info)
        request = page_request(info, args)
        asked = selected_at(info, ("edges", "node")) | selected_at(info, ("nodes",))
        wanted = [lookups[name] for name in sorted(asked) if name in lookups]

        def work() -> tuple[RecordPage, dict[str, Any]]:
            found = ctx.records.list(ctx.actor, object_name, request)
            return found, ctx.loaders.prefetch(found.records, wanted) if wanted else {}

        found, related = await _call(work)
        ctx.loaders.prime(related)
        return connection(found)
    return resolve


def aggregate(object_name: str, metric_fields: Mapping[str, str], fields: Mapping[str, FieldDef]) -> Resolver:
    """`metric_fields`: API name -> field name of the numeric fields; `fields`: the object's
    fields by name (standard ones included) to type group values."""

    async def resolve(root: Any, info: Info, where: Any = None, group_by: Sequence[GroupBy] | None = None) -> list[Any]:
        ctx = context(info)
        groups = list(group_by or ())
        for i, group in enumerate(groups):
            if any(g.field == group.field for g in groups[:i]):
                raise bad_input(f"groupBy[{i}]", f"{camel(group.field)} is already grouped by; group by a field once")
        metrics = [Metric("count")]
        paths = ["count"]
        for function in METRICS:
            for name in sorted(subfields(info, function)):
                if name in metric_fields:
                    metrics.append(Metric(function, metric_fields[name]))
                    paths.append(f"{function}.{name}")
        try:
            rows = await in_thread(ctx.records.aggregate, ctx.actor, object_name, where, groups, metrics)
        except RuntimeProblem as error:
            problems = [FieldProblem(_metric_path(p.path, paths), p.message) for p in error.problems]
            raise api_error(type(error)(error.message, problems)) from None
        zone = ctx.records.timezone
        out = []
        for row in rows:
            values = {g.field: _group_value(row["group"][g.key], g, fields.get(g.field), zone) for g in groups}
            out.append({"group": values, "count": row["count"], **{f: row.get(f, {}) for f in METRICS}})
        return out
    return resolve


def _metric_path(path: str, paths: Sequence[str]) -> str:
    if path.startswith("metrics["):
        index = int(path[len("metrics["):path.index("]")])
        return paths[index] if index < len(paths) else path
    return path


def _group_value(value: Any, group: GroupBy, field: FieldDef | None, zone: tzinfo) -> Any:
    """A bucket of a date-time field starts at midnight in the tenant's zone."""
    if group.bucket and field is not None and field.type is FieldType.DATETIME and isinstance(value, date) \
            and not isinstance(value, datetime):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    return value


# -- relations -------------------------------------------------------------------------------------

def lookup(field: str, target: str) -> Resolver:
    def resolve(root: Mapping[str, Any], info: Info) -> Any:
        record_id = root.get(field)
        if record_id is None:
            return None
        return context(info).loaders.record_now(target, record_id)  # the record, or an awaitable of it
    return resolve


async def owner(root: Mapping[str, Any], info: Info) -> dict[str, Any] | None:
    user_id = root.get("owner_id")
    return None if user_id is None else await context(info).loaders.users.load(user_id)


def children(child: str, via: str) -> Resolver:
    async def resolve(root: Mapping[str, Any], info: Info, **args: Any) -> dict[str, Any]:
        ctx = context(info)
        request = page_request(info, args)
        policy = ctx.actor.policy
        if policy.scope(child, "read") is Scope.NONE:  # nothing to see: an empty page, as a lookup is null
            return connection(RecordPage([], Page([], [], False, False, 0 if request.with_total else None)))
        if not policy.can_read_field(child, via):
            raise ApiError("FORBIDDEN", f"you may not read {child}.{via}, so you cannot list {child} records by it")
        loader = ctx.loaders.children(child, via, request)
        try:
            found = await loader.load(root["id"])
        except RuntimeProblem as error:
            raise api_error(error) from None
        return connection(found)
    return resolve


# -- mutations -------------------------------------------------------------------------------------

def create(object_name: str, renames: Mapping[str, str]) -> Resolver:
    async def resolve(root: Any, info: Info, input: Mapping[str, Any]) -> dict[str, Any]:
        ctx = context(info)
        return await _call(ctx.records.create, ctx.actor, object_name, input,
                           root="input", renames=renames)
    return resolve


def update(object_name: str, renames: Mapping[str, str]) -> Resolver:
    async def resolve(root: Any, info: Info, id: str, input: Mapping[str, Any],
                      expected_version: int | None = None) -> dict[str, Any]:
        ctx = context(info)
        return await _call(ctx.records.update, ctx.actor, object_name, id, input,
                           expected_version, root="input", renames=renames)
    return resolve


def delete(object_name: str) -> Resolver:
    async def resolve(root: Any, info: Info, id: str, expected_version: int | None = None) -> dict[str, Any]:
        ctx = context(info)
        await _call(ctx.records.delete, ctx.actor, object_name, id, expected_version)
        return {"id": id}
    return resolve


def restore(object_name: str) -> Resolver:
    async def resolve(root: Any, info: Info, id: str) -> dict[str, Any]:
        ctx = context(info)
        return await _call(ctx.records.restore, ctx.actor, object_name, id)
    return resolve


def _check_batch(name: str, items: Sequence[Any]) -> None:
    if len(items) > MAX_BATCH:
        raise bad_input(name, f"at most {MAX_BATCH} items per call; got {len(items)}", "too many items")


def create_many(object_name: str, renames: Mapping[str, str]) -> Resolver:
    """All or nothing, through the service's bulk path; returns the records in input order."""

    async def resolve(root: Any, info: Info, inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        _check_batch("inputs", inputs)
        ctx = context(info)

        def work() -> list[dict[str, Any] | None]:
            ids = ctx.records.create_many(ctx.actor, object_name, inputs).ids
            return _records_in_order(ctx, object_name, [i for i in ids if i is not None])

        return await _call(work, root="inputs", renames=renames, batch=True)
    return resolve


def update_many(object_name: str, renames: Mapping[str, str]) -> Resolver:
    """All or nothing, in one transaction through the service's bulk update; a stale
    `expectedVersion` is a problem of its item. Returns the records in input order."""

    async def resolve(root: Any, info: Info, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | None]:
        _check_batch("items", items)
        ctx = context(info)

        def work() -> list[dict[str, Any] | None]:
            ctx.records.update_many(ctx.actor, object_name, [
                UpdateItem(item["id"], item["input"], item.get("expected_version")) for item in items])
            return _records_in_order(ctx, object_name, [item["id"] for item in items])

        return await _call(work, root="items", renames=renames, batch=True, inner="input")
    return resolve


def _records_in_order(ctx: RequestContext, object_name: str, ids: Sequence[str]) -> list[dict[str, Any] | None]:
    """The records `ids` name, as the actor sees them now; None where they may not read one."""
    if not ids:
        return []
    page = ctx.records.list(ctx.actor, object_name, PageRequest(where={"id": {"_in": list(ids)}}, first=len(ids)))
    found = {record["id"]: record for record in page.records}
    return [found.get(i) for i in ids]


def delete_many(object_name: str) -> Resolver:
    """Each record in its own transaction; one that fails is null with its error at its position."""

    async def resolve(root: Any, info: Info, ids: Sequence[str]) -> list[Any]:
        _check_batch("ids", ids)
        ctx = context(info)

        def work() -> list[Any]:
            out: list[Any] = []
            for record_id in ids:
                try:
                    ctx.records.delete(ctx.actor, object_name, record_id)
                    out.append({"id": record_id})
                except RuntimeProblem as error:
                    out.append(api_error(error))
            return out

        return await in_thread(work)
    return resolve
