"""Formulas translated to SQL, so that filters and sorts on a formula run in the database.

`to_sql` walks the tree parsed at publish and builds a SQLAlchemy expression over the columns
the caller passes (the object's table, and joined tables for `lookup.field`). The result means
what `evaluate()` computes in Python, on SQLite and on PostgreSQL alike; where the database
cannot compute that (a function or a type of value it lacks), `NotExpressibleInSQL` says so in
a sentence. `today()` and `now()` become bound parameters read from the `EvaluationContext`.

Names resolve to the caller's columns; a formula field without a column (a live formula) is
inlined from its own formula. The kind of each column is read from its SQL type, so the output
of an earlier `to_sql` can be passed back in as a column.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import or_
from sqlalchemy.sql.elements import ColumnElement

from trellis.metadata.model import FieldDef
from trellis.runtime.expressions.context import EvaluationContext
from trellis.runtime.expressions.evaluate import CompiledExpression, compile_expression
from trellis.runtime.expressions.sql_functions import SQL_FUNCTIONS, choose
from trellis.runtime.expressions.sql_ops import arithmetic, both, compare, member, negate
from trellis.runtime.expressions.sql_values import BOOL, NotExpressibleInSQL, Refused, Sql, Target

Columns = Mapping[str, ColumnElement[Any]]
Fields = Mapping[str, FieldDef]
Related = Mapping[str, tuple[Columns, Fields]]

__all__ = ["NotExpressibleInSQL", "to_sql"]

MAX_INLINE_DEPTH = 10  # live formulas reading live formulas, inlined


def to_sql(compiled: CompiledExpression, columns: Columns, fields: Fields, dialect: str, ctx: EvaluationContext,
           related: Related | None = None, *, name: str | None = None) -> ColumnElement[Any]:
    """The formula as one SQL expression, typed so that selecting it gives the Python values
    `evaluate()` gives (Decimal, date, aware datetime, bool, ...).

    `columns`/`fields` are the object's columns and field definitions; `related` maps a lookup
    field to the joined target's columns and fields (needed for `lookup.field`). `name` (the
    formula field) is used in error messages. Raises `NotExpressibleInSQL`.
    """
    target = Target(dialect, ctx)
    try:
        return target.finish(_Translator(target, _Scope(columns, fields, related or {})).visit(compiled.tree.value))
    except Refused as refusal:
        subject = f"formula {name}" if name else "the formula"
        raise NotExpressibleInSQL(f"{subject} {refusal.predicate}, which cannot be computed in the database; "
                                  "filter or sort on a stored field instead") from None


class _Scope:
    """What names mean: the columns and fields of one object, and the objects its lookups join."""

    def __init__(self, columns: Columns, fields: Fields, related: Related, inlining: tuple[str, ...] = ()):
        self.columns = columns
        self.fields = fields
        self.related = related
        self.inlining = inlining


class _Translator:
    def __init__(self, target: Target, scope: _Scope):
        self.target = target
        self.scope = scope

    def visit(self, node: ast.AST) -> Sql:
        method: Callable[[Any], Sql] | None = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise Refused(f"uses {type(node).__name__}")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Sql:
        value: object = node.value
        if isinstance(value, float):  # as in evaluate(): 0.1 means exactly one tenth
            value = Decimal(repr(value))
        return self.target.constant(value)

    def visit_Name(self, node: ast.Name) -> Sql:
        return self.field(node.id, self.scope)

    def field(self, name: str, scope: _Scope) -> Sql:
        field = scope.fields.get(name)
        if name in scope.columns:
            return self.target.column(scope.columns[name], field)
        if field is None:
            return self.target.constant(None)  # as in evaluate(): an unknown name is blank
        if field.formula is None:
            raise Refused(f"uses the field {name} (it has no column)")
        if name in scope.inlining or len(scope.inlining) >= MAX_INLINE_DEPTH:
            raise Refused(f"uses the formula {name} (it refers to itself or is nested too deeply)")
        inner = _Scope(scope.columns, scope.fields, scope.related, (*scope.inlining, name))
        return _Translator(self.target, inner).visit(compile_expression(field.formula).tree.value)

    def visit_Attribute(self, node: ast.Attribute) -> Sql:
        if not isinstance(node.value, ast.Name):
            raise Refused("reads a field more than one lookup away")
        base = node.value.id
        joined = self.scope.related.get(base)
        if joined is None:
            raise Refused(f"uses {base}.{node.attr}, a field of a related record that is not joined")
        columns, fields = joined
        return self.field(node.attr, _Scope(columns, fields, {}, self.scope.inlining))

    def visit_BinOp(self, node: ast.BinOp) -> Sql:
        return arithmetic(self.target, node.op, self.visit(node.left), self.visit(node.right))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Sql:
        return negate(self.target, self.visit(node.operand), node.op)

    def visit_BoolOp(self, node: ast.BoolOp) -> Sql:
        conditions = [self.target.condition(self.visit(v), "a side of 'and' / 'or'") for v in node.values]
        joined = both(conditions) if isinstance(node.op, ast.And) else or_(*conditions)
        return Sql(joined, BOOL, nullable=False)

    def visit_Compare(self, node: ast.Compare) -> Sql:
        left = self.visit(node.left)
        results = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.In, ast.NotIn)):
                container: Sql | list[Sql] = (
                    [self.visit(e) for e in comparator.elts] if isinstance(comparator, (ast.List, ast.Tuple))
                    else self.visit(comparator))
                found = member(self.target, left, container)
                results.append(negate(self.target, found, ast.Not()).expr if isinstance(op, ast.NotIn) else found.expr)
                if not isinstance(container, list):
                    left = container
                continue
            right = self.visit(comparator)
            results.append(compare(self.target, op, left, right).expr)
            left = right
        return Sql(both(results), BOOL, nullable=False)

    def visit_IfExp(self, node: ast.IfExp) -> Sql:
        condition = self.target.condition(self.visit(node.test), "the condition of 'if'")
        return choose(self.target, condition, self.visit(node.body), self.visit(node.orelse), "'if ... else'")

    def visit_Call(self, node: ast.Call) -> Sql:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise Refused("calls something other than a library function")
        function = SQL_FUNCTIONS.get(node.func.id)
        if function is None:
            raise Refused(f"uses {node.func.id}")
        return function(self.target, [self.visit(a) for a in node.args])

    def visit_List(self, node: ast.List) -> Sql:
        raise Refused("uses a list outside 'in'")

    visit_Tuple = visit_List
