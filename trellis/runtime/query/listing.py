"""Pages of records: filter, sort, keyset pagination both ways, and a total only when asked;
cursors are encoded only when read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

from sqlalchemy import Connection, func, select
from sqlalchemy.engine import RowMapping

from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.query.columns import ColumnResolver
from trellis.runtime.query.filters import FilterCompiler
from trellis.runtime.query.ordering import SortKey, after, decode_cursor, encode_cursor, fingerprint, sort_keys
from trellis.runtime.query.scope import visible

DEFAULT_PAGE = 50
MAX_PAGE = 500


@dataclass(frozen=True)
class PageRequest:
    where: Mapping[str, Any] | None = None
    order_by: Sequence[Mapping[str, str]] | None = None
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    with_total: bool = False
    include_deleted: bool = False


class Cursors(Sequence[str]):
    """A page's cursors, each encoded when first read: most pages are read without asking for
    one (a lookup's batch, a page whose edges' cursors were not selected)."""

    def __init__(self, keys: Sequence[SortKey], rows: Sequence[RowMapping], names: Sequence[str]):
        self._keys = keys
        self._rows = rows
        self._names = names
        self._signature: str | None = None
        self._encoded: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        position = range(len(self._rows))[index]  # IndexError as a list raises it
        found = self._encoded.get(position)
        if found is None:
            if self._signature is None:
                self._signature = fingerprint(self._keys)
            row = self._rows[position]
            found = self._encoded[position] = encode_cursor(self._keys, [row[n] for n in self._names], self._signature)
        return found

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable cache, compared by value like a list


@dataclass(frozen=True)
class Page:
    rows: list[RowMapping]
    cursors: Sequence[str]
    has_next: bool
    has_previous: bool
    total: int | None

    @property
    def start_cursor(self) -> str | None:
        return self.cursors[0] if self.cursors else None

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def _size(value: int | None, name: str, limit: int) -> int:
    if value is None:
        return DEFAULT_PAGE
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > limit:
        raise InvalidInput("invalid page size", [FieldProblem(name, f"expected a whole number from 0 to {limit}")])
    return value


def _direction(request: PageRequest, keys: list[SortKey], max_page: int) -> tuple[bool, int, list[SortKey], str | None]:
    """Which way a page walks: (backward?, page size, keys in walking order, cursor)."""
    backward = request.last is not None or request.before is not None
    if backward and (request.first is not None or request.after is not None):
        raise InvalidInput("invalid page", [FieldProblem("last", "use first/after or last/before, not both")])
    size = _size(request.last if backward else request.first, "last" if backward else "first", max_page)
    walk = [k.reversed() for k in keys] if backward else keys
    return backward, size, walk, request.before if backward else request.after


def fetch_page(conn: Connection, resolver: ColumnResolver, actor: Actor, object_name: str, columns: Sequence[str],
               request: PageRequest, max_page: int = MAX_PAGE) -> Page:
    """One page of `object_name` as the actor may see it; `columns` are the stored columns to read."""
    table = resolver.registry.tables[object_name]
    condition = visible(table, actor, object_name, include_deleted=request.include_deleted) & \
        FilterCompiler(resolver, actor).compile(object_name, request.where)
    keys = sort_keys(resolver, actor, object_name, request.order_by, table)
    backward, size, walk, cursor = _direction(request, keys, max_page)
    # a sort key that is a selected column is read from it; only computed keys get a column
    selected = set(columns)
    sort_names = [k.name if k.name in selected and k.field.stored else f"_sort_{i}" for i, k in enumerate(keys)]
    extra = [k.expression.label(n) for k, n in zip(keys, sort_names, strict=True) if n.startswith("_sort_")]

    def rows_where(where: Any, limit: int) -> list[RowMapping]:
        statement = (select(*(table.c[c] for c in columns), *extra).where(where)
                     .order_by(*(k.clause() for k in walk)).limit(limit))
        return list(conn.execute(statement).mappings())

    if cursor is None:
        fetched = rows_where(condition, size + 1)
    else:
        position = decode_cursor(keys, cursor, "before" if backward else "after")
        first, value = walk[0], position[0]
        if first.nullable and not first.nulls_first and value is not None:
            # After a non-null value, the blank rows come last. `x >= v OR x IS NULL` cannot bound
            # an index scan on PostgreSQL, so read the non-null rows with a plain range first and
            # the blank tail only when the page is not full yet.
            reach = first.expression <= value if first.descending else first.expression >= value
            fetched = rows_where(condition & reach & after(walk, position), size + 1)
            if len(fetched) <= size:
                fetched += rows_where(condition & first.expression.is_(None), size + 1 - len(fetched))
        else:
            fetched = rows_where(condition & after(walk, position), size + 1)
    more = len(fetched) > size
    fetched = fetched[:size]
    if backward:
        fetched.reverse()
    total = conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one() \
        if request.with_total else None
    return Page(
        rows=fetched,
        cursors=Cursors(keys, fetched, sort_names),
        has_next=more if not backward else cursor is not None,
        has_previous=more if backward else cursor is not None,
        total=total,
    )


def fetch_pages_by_parent(conn: Connection, resolver: ColumnResolver, actor: Actor, object_name: str,
                          columns: Sequence[str], via: str, parents: Sequence[str], request: PageRequest,
                          max_page: int = MAX_PAGE) -> dict[str, Page]:
    """One page of `object_name` rows per parent (rows whose lookup `via` names the parent), all
    in one statement: the rows are numbered per parent in the sort order (a window function) and
    the first `size + 1` of each are kept. A total per parent costs one grouped count, only when
    asked. `request.after`/`before` apply to every parent (a cursor usually pages one parent)."""
    table = resolver.registry.tables[object_name]
    link = table.c[via]
    condition = visible(table, actor, object_name, include_deleted=request.include_deleted) & \
        FilterCompiler(resolver, actor).compile(object_name, request.where) & link.in_(list(parents))
    keys = sort_keys(resolver, actor, object_name, request.order_by, table)
    backward, size, walk, cursor = _direction(request, keys, max_page)
    query_condition = condition
    if cursor is not None:
        query_condition = condition & after(walk, decode_cursor(keys, cursor, "before" if backward else "after"))
    position = func.row_number().over(partition_by=link, order_by=[k.clause() for k in walk]).label("_position")
    numbered = (select(*(table.c[c] for c in columns), *(k.expression.label(f"_sort_{i}") for i, k in enumerate(keys)),
                       link.label("_parent"), position).where(query_condition).subquery())
    statement = (select(numbered).where(numbered.c["_position"] <= size + 1)
                 .order_by(numbered.c["_parent"], numbered.c["_position"]))
    grouped: dict[str, list[RowMapping]] = {parent: [] for parent in parents}
    for row in conn.execute(statement).mappings():
        grouped[row["_parent"]].append(row)
    totals: dict[str, int] = {}
    if request.with_total:
        totals = dict(conn.execute(select(link, func.count()).where(condition).group_by(link)).all())
    pages = {}
    names = [f"_sort_{i}" for i in range(len(keys))]
    for parent, fetched in grouped.items():
        more = len(fetched) > size
        fetched = fetched[:size]
        if backward:
            fetched.reverse()
        pages[parent] = Page(
            rows=fetched,
            cursors=Cursors(keys, fetched, names),
            has_next=more if not backward else cursor is not None,
            has_previous=more if backward else cursor is not None,
            total=totals.get(parent, 0) if request.with_total else None,
        )
    return pages
