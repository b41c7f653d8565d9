"""`where` → SQL: the Hasura-style filter grammar of ARCHITECTURE §5, compiled to Core.

    {"_and": [...], "_or": [...], "_not": {...},
     "field": {"_eq": v, "_neq": v, "_gt": v, ..., "_in": [...], "_is_null": true, "_like": "%x%"},
     "lookup": {"field_of_target": {...}, "_or": [...]},  # nested through a lookup
     "reverse": {"_some": {...}} | {"_none": {...}}}  # across a reverse lookup

Field names are checked against the registry and operators against a per-type whitelist;
values are coerced like record input and always bound as parameters, so nothing a user types
becomes SQL text. Every nested object is filtered by what the actor may see, so own-only users
cannot learn others' rows through lookup filters, and unreadable fields cannot be filtered on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from trellis.metadata.model import FieldDef, FieldType
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, Forbidden, InvalidInput
from trellis.runtime.query.columns import ColumnResolver, standard_field
from trellis.runtime.query.scope import visible
from trellis.runtime.values.coercion import CoercionError, coerce

_ORDERED = frozenset({"_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"})
OPERATORS: Mapping[FieldType, frozenset[str]] = {
    **{t: _ORDERED | {"_like", "_ilike"} for t in (FieldType.STRING, FieldType.TEXT, FieldType.EMAIL,
                                                    FieldType.PHONE, FieldType.URL)},
    **{t: _ORDERED for t in (FieldType.INTEGER, FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT,
                             FieldType.DATE, FieldType.DATETIME)},
    FieldType.ENUM: frozenset({"_eq", "_neq", "_in", "_nin", "_is_null"}),
    FieldType.LOOKUP: frozenset({"_eq", "_neq", "_in", "_nin", "_is_null"}),
    FieldType.BOOLEAN: frozenset({"_eq", "_neq", "_is_null"}),
    FieldType.MULTI_ENUM: frozenset({"_contains", "_is_null"}),
}
MAX_DEPTH = 8  # nesting of _and/_or/_not and relations
_LOGICAL = frozenset({"_and", "_or", "_not"})  # in a lookup's conditions: nested, not operators


class FilterCompiler:
    """Compiles filters for one actor against one registry (one per request; cheap)."""

    def __init__(self, resolver: ColumnResolver, actor: Actor):
        self.resolver = resolver
        self.registry = resolver.registry
        self.actor = actor

    def compile(self, object_name: str, where: Mapping[str, Any] | None, table: FromClause | None = None,
                path: str = "where", depth: int = 0) -> ColumnElement[bool]:
        if where is None:
            return true()
        if not isinstance(where, Mapping):
            raise InvalidInput("invalid filter", [_problem(path, "expected an object of conditions")])
        if depth > MAX_DEPTH:
            raise InvalidInput("invalid filter", [_problem(path, f"nested more than {MAX_DEPTH} levels")])
        table = self.registry.tables[object_name] if table is None else table
        parts = [self._entry(object_name, table, key, value, f"{path}.{key}", depth)
                 for key, value in where.items()]
        return and_(true(), *parts)

    def _entry(self, object_name: str, table: FromClause, key: str, value: Any, path: str,
               depth: int) -> ColumnElement[bool]:
        if key in ("_and", "_or"):
            if not isinstance(value, list):
                raise InvalidInput("invalid filter", [_problem(path, "expected a list of conditions")])
            parts = [self.compile(object_name, v, table, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
            return and_(true(), *parts) if key == "_and" else or_(false(), *parts)
        if key == "_not":
            return not_(self.compile(object_name, value, table, path, depth + 1))
        compiled = self.registry.compiled[object_name]
        if key in compiled.reverse:
            return self._reverse(object_name, table, key, value, path, depth)
        field = self._readable_field(object_name, key, path)
        if not isinstance(value, Mapping) or not value:
            raise InvalidInput("invalid filter", [_problem(path, "expected an object such as {\"_eq\": …}")])
        if field.type is FieldType.LOOKUP and not any(k.startswith("_") and k not in _LOGICAL for k in value):
            return self._nested(field, table, value, path, depth)
        column = self.resolver.column(object_name, field, table)
        return and_(true(), *(self._operator(field, column, op, operand, f"{path}.{op}")
                              for op, operand in value.items()))

    def _readable_field(self, object_name: str, name: str, path: str) -> FieldDef:
        field = self.registry.objects[object_name].fields.get(name) or standard_field(name)
        if field is None:
            known = sorted(self.registry.objects[object_name].fields) + sorted(self.registry.compiled[object_name].reverse)
            raise InvalidInput("invalid filter", [_problem(path, f"unknown field '{name}' of {object_name}; "
                                                                 f"fields: {', '.join(known)}")])
        if not self.actor.policy.can_read_field(object_name, name):
            raise Forbidden("not allowed", [_problem(path, f"you may not read {object_name}.{name}, "
                                                             "so you cannot filter on it")])
        return field

    def _nested(self, field: FieldDef, table: FromClause, where: Mapping[str, Any], path: str,
                depth: int) -> ColumnElement[bool]:
        assert field.ref is not None
        target = self.registry.tables[field.ref].alias()
        condition = self.compile(field.ref, where, target, path, depth + 1)
        return exists(select(1).select_from(target).where(
            target.c.id == table.c[field.name], visible(target, self.actor, field.ref), condition))

    def _reverse(self, object_name: str, table: FromClause, name: str, value: Any, path: str,
                 depth: int) -> ColumnElement[bool]:
        child_name, via = self.registry.compiled[object_name].reverse[name]
        if not isinstance(value, Mapping) or set(value) - {"_some", "_none"} or not value:
            raise InvalidInput("invalid filter", [_problem(path, "expected {\"_some\": {…}} or {\"_none\": {…}}")])
        if not self.actor.policy.can_read_field(child_name, via):
            raise Forbidden("not allowed", [_problem(path, f"you may not read {child_name}.{via}")])
        parts = []
        for quantifier, where in value.items():
            child = self.registry.tables[child_name].alias()
            condition = self.compile(child_name, where, child, f"{path}.{quantifier}", depth + 1)
            found = exists(select(1).select_from(child).where(
                child.c[via] == table.c.id, visible(child, self.actor, child_name), condition))
            parts.append(found if quantifier == "_some" else not_(found))
        return and_(true(), *parts)

    def _operator(self, field: FieldDef, column: ColumnElement[Any], op: str, operand: Any,
                  path: str) -> ColumnElement[bool]:
        allowed = OPERATORS[field.type]
        if op not in allowed:
            raise InvalidInput("invalid filter", [_problem(path, f"operator {op} does not apply to "
                                                                 f"{field.type.value} fields; use one of "
                                                                 f"{', '.join(sorted(allowed))}")])
        if op == "_is_null":
            if not isinstance(operand, bool):
                raise InvalidInput("invalid filter", [_problem(path, "expected true or false")])
            return column.is_(None) if operand else column.is_not(None)
        if op in ("_in", "_nin"):
            if not isinstance(operand, list):
                raise InvalidInput("invalid filter", [_problem(path, "expected a list")])
            values = [self._value(field, v, f"{path}[{i}]") for i, v in enumerate(operand)]
            return column.in_(values) if op == "_in" else or_(column.not_in(values), column.is_(None))
        if op in ("_like", "_ilike"):
            if not isinstance(operand, str):
                raise InvalidInput("invalid filter", [_problem(path, "expected a pattern text such as '%abc%'")])
            return column.like(operand) if op == "_like" else func.lower(column).like(operand.lower())
        if op == "_contains":
            value = self._value(field, [operand] if isinstance(operand, str) else operand, path)
            return and_(true(), *(self.resolver.json_contains(column, item) for item in value))
        value = self._value(field, operand, path)
        if value is None:
            raise InvalidInput("invalid filter", [_problem(path, "null cannot be compared; use _is_null")])
        if op == "_neq":
            return or_(column != value, column.is_(None))
        return {"_eq": column.__eq__, "_gt": column.__gt__, "_gte": column.__ge__,
                "_lt": column.__lt__, "_lte": column.__le__}[op](value)

    def _value(self, field: FieldDef, operand: Any, path: str) -> Any:
        try:
            value = coerce(field, operand, self.resolver.context.timezone)
        except CoercionError as error:
            raise InvalidInput("invalid filter", [_problem(path, str(error))]) from None
        if field.choices and value is not None:
            values = value if isinstance(value, list) else [value]
            unknown = [v for v in values if v not in field.choices]
            if unknown:
                raise InvalidInput("invalid filter", [_problem(path, f"'{unknown[0]}' is not a choice of "
                                                                     f"{field.name}; choices: {', '.join(map(str, field.choices))}")])
        return value


def _problem(path: str, message: str) -> FieldProblem:
    return FieldProblem(path, message)
