"""Runs a `Plan` for one request: the records service's reads, then the response's `data`.

The calls are the resolvers' own (resolvers.py): `RecordsService.list` with the same
`PageRequest` for a connection, `RecordsService.get` for `<object>(id)`, the request's
`Loaders` for lookups (fetched a level at a time for all records of the level, as the
DataLoaders batch them) and owners, so permissions, hidden fields (absent from the row, so
null) and limits are the service's. Blocking: call it in the thread pool. Any error, and any
null where the schema promises a value, raises `Fallback` (graphql-core then answers, with the
errors and null propagation the spec gives).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import get_argument_values
from graphql.execution.values import VariableValues
from strawberry.types.arguments import convert_arguments

from trellis.platform.statement_timeout import StatementTimeout
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.graphql.compiled.plan import (
    Constant,
    Cursor,
    Edges,
    Fallback,
    Leaf,
    Lookup,
    Node,
    Nodes,
    Owner,
    PageInfo,
    PageInfoField,
    Plan,
    Records,
    Root,
    TotalCount,
)
from trellis.runtime.graphql.context import RequestContext
from trellis.runtime.graphql.limits import MAX_PAGE
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordPage

Row = dict[str, Any]


class Run:
    """One request's execution of a plan; `schema` is the Strawberry schema (scalars, config)."""

    def __init__(self, plan: Plan, context: RequestContext, variables: VariableValues, schema: Any):
        registry = context.records.registry
        if (plan.tenant, plan.release) != (registry.tenant, registry.release):
            raise Fallback("the plan was compiled for another release")
        self.plan = plan
        self.context = context
        self.variables = variables
        self.schema = schema
        self.records: dict[str, dict[str, Row | None]] = {}  # object -> id -> record (None: not visible)
        self.users: dict[str, Row | None] = {}

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            for field in self.plan.fields:
                out[field.key] = field.value if isinstance(field, Constant) else self._root(field)
        except (RuntimeProblem, StatementTimeout) as error:  # a resolver would raise it: graphql-core reports it
            raise Fallback(str(error)) from error
        return out

    # -- roots ---------------------------------------------------------------------------------

    def _arguments(self, root: Root) -> dict[str, Any]:
        """The resolver's keyword arguments, as graphql-core coerces and Strawberry converts them."""
        try:
            raw = get_argument_values(root.definition, root.node, self.variables)
            return convert_arguments(raw, list(root.arguments), scalar_registry=self.schema.schema_converter.scalar_registry,
                                     config=self.schema.config, info=None)
        except Exception as error:  # graphql-core or the input translation reports it
            raise Fallback("arguments") from error

    def _root(self, root: Root) -> Any:
        args = self._arguments(root)
        ctx = self.context
        if root.kind == "one":
            assert root.record is not None
            record = ctx.records.get(ctx.actor, root.object_name, args["id"])
            self._load(root.record, [record])
            return self._record(root.record, record)
        for name in ("first", "last"):
            size = args.get(name)
            if size is not None and not 0 <= size <= MAX_PAGE:
                raise Fallback("page size")
        request = PageRequest(where=args.get("where"), order_by=args.get("order_by"), first=args.get("first"),
                              after=args.get("after"), last=args.get("last"), before=args.get("before"),
                              with_total=root.with_total)
        found = ctx.records.list(ctx.actor, root.object_name, request, self.plan.reads_of(root.object_name))
        for target, fetched in ctx.loaders.prefetch(found.records, root.asks_lookups(), self.plan.reads).items():
            self.records.setdefault(target, {}).update(fetched)
        for field in root.connection:
            if isinstance(field, Nodes):
                self._load(field.selection, found.records)
            elif isinstance(field, Edges):
                for node in field.fields:
                    if isinstance(node, Node):
                        self._load(node.selection, found.records)
        return self._connection(root, found)

    # -- loading -------------------------------------------------------------------------------

    def _load(self, selection: Records, rows: Sequence[Row]) -> None:
        """Fetch what `selection` needs beyond `rows`: lookups (and theirs), owners."""
        for field in selection.fields:
            if isinstance(field, Lookup):
                known = self.records.setdefault(field.target, {})
                ids = {row[field.source] for row in rows if row.get(field.source) is not None}
                missing = [i for i in ids if i not in known]
                if missing:
                    known.update(self.context.loaders.fetch(field.target, missing, self.plan.reads_of(field.target)))
                self._load(field.selection, [r for r in (known[i] for i in sorted(ids)) if r is not None])
            elif isinstance(field, Owner):
                wanted = sorted({row["owner_id"] for row in rows if row.get("owner_id") is not None} - set(self.users))
                if wanted:
                    self.users.update(zip(wanted, self.context.loaders.fetch_users(wanted), strict=True))

    # -- writing -------------------------------------------------------------------------------

    def _connection(self, root: Root, found: RecordPage) -> dict[str, Any]:
        page = found.page
        out: dict[str, Any] = {}
        for field in root.connection:
            if isinstance(field, Nodes):
                out[field.key] = [self._record(field.selection, r) for r in found.records]
            elif isinstance(field, Edges):
                out[field.key] = self._edges(field, found)
            elif isinstance(field, PageInfo):
                out[field.key] = {f.key: f.value if isinstance(f, Constant) else _page_value(page, f)
                                  for f in field.fields}
            elif isinstance(field, TotalCount):
                out[field.key] = _count(page.total)
            else:
                out[field.key] = field.value
        return out

    def _edges(self, edges: Edges, found: RecordPage) -> list[dict[str, Any]]:
        cursors = found.page.cursors if any(isinstance(f, Cursor) for f in edges.fields) else None
        out = []
        for i, record in enumerate(found.records):
            edge: dict[str, Any] = {}
            for field in edges.fields:
                if isinstance(field, Node):
                    edge[field.key] = self._record(field.selection, record)
                elif isinstance(field, Cursor):
                    assert cursors is not None
                    edge[field.key] = _string(cursors[i])
                else:
                    edge[field.key] = field.value
            out.append(edge)
        return out

    def _record(self, selection: Records, row: Row) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in selection.fields:
            if isinstance(field, Leaf):  # the common case, inlined: a page of 50 has hundreds
                value = row.get(field.source)
                if value is None:
                    if not field.nullable:
                        raise Fallback(f"null for the non-null {field.key}")
                    out[field.key] = None
                else:
                    out[field.key] = _many(field, value) if field.many else field.coerce(value)
            elif isinstance(field, Constant):
                out[field.key] = field.value
            elif isinstance(field, Lookup):
                target_id = row.get(field.source)
                target = None if target_id is None else self.records[field.target][target_id]
                out[field.key] = None if target is None else self._record(field.selection, target)
            else:
                owner_id = row.get("owner_id")
                user = None if owner_id is None else self.users.get(owner_id)
                out[field.key] = None if user is None else \
                    {f.key: f.value if isinstance(f, Constant) else _leaf(f, user) for f in field.selection}
        return out


def _leaf(field: Leaf, row: Row) -> Any:
    value = row.get(field.source)
    if value is None:
        if not field.nullable:
            raise Fallback(f"null for the non-null {field.key}")
        return None
    return _many(field, value) if field.many else field.coerce(value)


def _many(field: Leaf, value: Any) -> list[Any]:
    """A list of values (a multi-choice field): graphql-core refuses anything but a list."""
    if not isinstance(value, (list, tuple)):
        raise Fallback(f"{field.key} is not a list")
    if any(item is None for item in value):
        raise Fallback(f"a null in {field.key}")
    return [field.coerce(item) for item in value]


def _page_value(page: Any, field: PageInfoField) -> Any:
    value = getattr(page, field.attribute)
    if field.attribute.startswith("has_"):
        if type(value) is not bool:
            raise Fallback("pageInfo")
        return value
    return None if value is None else _string(value)


def _string(value: Any) -> str:
    if type(value) is not str:
        raise Fallback("a cursor that is not text")
    return value


def _count(value: int | None) -> int | None:
    if value is not None and (type(value) is not int or not -(2**31) <= value < 2**31):
        raise Fallback("totalCount")
    return value
