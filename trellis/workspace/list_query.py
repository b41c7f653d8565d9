"""What a list page shows, read from its query string: columns, filters, sort and the page.

    ?c=number&c=end_date                 columns, in order (default: ObjectView.default_columns)
    &f=days_to_end&op=lte&v=30           filters, one (f, op, v) triple each, all must hold
    &sort=end_date&dir=desc              one sort field
    &after=<cursor> | &before=<cursor>   the page (cursor paging through the query compiler)

The same string is what a saved view keeps and what the CSV export reads, so "the current
view" means one thing. Fields the user may not read are refused here with a message naming
them, before the query compiler would refuse them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from trellis.metadata.definitions import FieldType
from trellis.runtime.query.filters import OPERATORS
from trellis.runtime.query.listing import PageRequest
from trellis.workspace.fields import ObjectView

PAGE_SIZE = 50
MAX_FILTERS = 10

#: The operators a person picks from → the query compiler's; `contains` wraps the value in %…%,
#: `blank`/`filled` take no value.
OPS: Mapping[str, str] = {"eq": "_eq", "neq": "_neq", "gt": "_gt", "gte": "_gte", "lt": "_lt", "lte": "_lte",
                          "contains": "_ilike", "blank": "_is_null", "filled": "_is_null"}
NO_VALUE = frozenset({"blank", "filled"})


def ops_for(kind: FieldType) -> list[str]:
    """The operators offered for a field type: those the query compiler allows for it."""
    allowed = OPERATORS.get(kind, frozenset())
    return [op for op, compiled in OPS.items() if compiled in allowed]


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: str = ""

    def where(self) -> dict[str, Any]:
        if self.op in NO_VALUE:
            return {self.field: {"_is_null": self.op == "blank"}}
        value = f"%{self.value}%" if self.op == "contains" else self.value
        return {self.field: {OPS[self.op]: value}}


@dataclass
class ListQuery:
    columns: list[str]
    filters: list[Filter] = field(default_factory=list)
    sort: str | None = None
    descending: bool = False
    after: str | None = None
    before: str | None = None
    problems: list[str] = field(default_factory=list)  # what was refused, for the page to show

    @classmethod
    def read(cls, params: QueryParams, view: ObjectView) -> ListQuery:
        problems: list[str] = []

        def known(name: str, what: str) -> bool:
            if view.column(name) is None:
                problems.append(f"{what}: {name}")
                return False
            return True

        columns = [c for c in dict.fromkeys(params.getlist("c")) if known(c, "c")] or view.default_columns
        filters = []
        triples = list(zip(params.getlist("f"), params.getlist("op"), params.getlist("v"), strict=False))
        for name, op, value in triples[:MAX_FILTERS]:
            if not name or not known(name, "f"):
                continue
            column = view.column(name)
            assert column is not None
            if op not in ops_for(column.field.type):
                problems.append(f"op: {name} {op}")
                continue
            if op not in NO_VALUE and not value.strip():
                continue  # a filter row left empty
            filters.append(Filter(name, op, value.strip()))
        sort = params.get("sort") or None
        if sort is not None and not known(sort, "sort"):
            sort = None
        return cls(columns, filters, sort, params.get("dir") == "desc", params.get("after") or None,
                   params.get("before") or None, problems)

    def request(self, first: int = PAGE_SIZE) -> PageRequest:
        where = {"_and": [f.where() for f in self.filters]} if self.filters else None
        order = [{self.sort: "DESC" if self.descending else "ASC"}] if self.sort else None
        if self.before:
            return PageRequest(where=where, order_by=order, last=first, before=self.before)
        return PageRequest(where=where, order_by=order, first=first, after=self.after)

    def pairs(self, *, paging: bool = False) -> list[tuple[str, str]]:
        """The query string's pairs (without the page unless asked)."""
        pairs = [("c", c) for c in self.columns]
        for f in self.filters:
            pairs += [("f", f.field), ("op", f.op), ("v", f.value)]
        if self.sort:
            pairs += [("sort", self.sort), ("dir", "desc" if self.descending else "asc")]
        if paging and self.after:
            pairs.append(("after", self.after))
        if paging and self.before:
            pairs.append(("before", self.before))
        return pairs

    def encode(self, **changes: str) -> str:
        """The query string of this view (first page), with some parameters replaced."""
        pairs = [(k, v) for k, v in self.pairs() if k not in changes] + [(k, v) for k, v in changes.items() if v]
        return urlencode(pairs)

    def sorted_by(self, name: str) -> str:
        """The query string that sorts by `name` (the other way when it already does)."""
        descending = self.sort == name and not self.descending
        pairs = [(k, v) for k, v in self.pairs() if k not in ("sort", "dir")]
        return urlencode([*pairs, ("sort", name), ("dir", "desc" if descending else "asc")])


def filter_rows(query: ListQuery, blank: int = 2) -> Sequence[Filter]:
    """The filter rows a form shows: the current ones and some blank ones to add more."""
    return [*query.filters, *(Filter("", "eq") for _ in range(blank))]
