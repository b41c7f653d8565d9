"""Field → SQL expression: a stored column, or a live formula translated to SQL.

Filters, sorts and aggregates all ask this module, so a live formula such as
`days_between(today(), end_date)` behaves the same wherever it is used, and a formula that
cannot run in the database is refused with one clear message.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from trellis.metadata.model import FieldDef
from trellis.metadata.names import STANDARD_COLUMNS
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.expressions import CompiledExpression, EvaluationContext, NotExpressibleInSQL, to_sql

if TYPE_CHECKING:
    from trellis.runtime.registry import Registry

STANDARD_FIELDS: Mapping[str, FieldDef] = MappingProxyType({
    name: FieldDef(name=name, type=field_type, schema={}) for name, field_type in STANDARD_COLUMNS.items()
})


def standard_field(name: str) -> FieldDef | None:
    return STANDARD_FIELDS.get(name)


class ColumnResolver:
    """Resolves fields of one registry for one request (its clock fixes `today()`)."""

    def __init__(self, registry: Registry, context: EvaluationContext, dialect: str):
        self.registry = registry
        self.context = context
        self.dialect = dialect

    def column(self, object_name: str, field: FieldDef, table: FromClause, path: str = "") -> ColumnElement[Any]:
        if field.stored:
            return table.c[field.name]
        columns = self._columns(object_name, table)
        obj = self.registry.objects[object_name]
        try:
            return to_sql(self.registry.compiled[object_name].formulas[field.name], columns,
                          {**STANDARD_FIELDS, **obj.fields}, self.dialect, self.context)
        except NotExpressibleInSQL as error:
            raise InvalidInput("cannot be computed in the database", [
                FieldProblem(path or field.name, f"{object_name}.{field.name} is a live formula: {error}")]) from None

    def expression(self, object_name: str, expression: CompiledExpression, table: FromClause) -> ColumnElement[Any]:
        """Any expression over one object's fields (a rule's condition) in SQL; raises
        `NotExpressibleInSQL` where the database cannot compute what `evaluate()` would."""
        obj = self.registry.objects[object_name]
        return to_sql(expression, self._columns(object_name, table), {**STANDARD_FIELDS, **obj.fields},
                      self.dialect, self.context)

    def _columns(self, object_name: str, table: FromClause) -> dict[str, ColumnElement[Any]]:
        """Stored columns by name, plus the live formulas they feed (in dependency order)."""
        obj = self.registry.objects[object_name]
        columns: dict[str, ColumnElement[Any]] = {name: table.c[name] for name in STANDARD_FIELDS}
        columns.update({f.name: table.c[f.name] for f in obj.stored_fields})
        fields = {**STANDARD_FIELDS, **obj.fields}
        for name in self.registry.compiled[object_name].live_order:
            try:
                columns[name] = to_sql(self.registry.compiled[object_name].formulas[name], columns, fields,
                                       self.dialect, self.context)
            except NotExpressibleInSQL:
                continue  # only an error if something actually uses it
        return columns

    def json_contains(self, column: ColumnElement[Any], item: Any) -> ColumnElement[bool]:
        """A multi-select value (a JSON array) contains `item`."""
        if self.dialect == "postgresql":
            return column.op("@>")(literal([item], type_=JSONB()))
        elements = func.json_each(column).table_valued("value")
        return exists(select(1).select_from(elements).where(elements.c.value == item))
