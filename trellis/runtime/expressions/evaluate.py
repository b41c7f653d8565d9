"""Evaluating a compiled formula against one record's plain values.

`compile_expression` runs once per formula when a release's registry is built; `evaluate` runs
per record and never parses: it hands simpleeval the tree parsed at publish
(`previously_parsed`). The evaluator is a SimpleEval whose dispatch, operator and function
tables are built once at import and shared read-only; each call makes a fresh instance that
holds only that call's record (simpleeval keeps per-call state on `self`), so evaluations on
many threads never see each other's values.

Defence in depth: the metadata parser already refused everything outside the grammar, but a
tree handed in directly meets the same refusal here: only whitelisted node types have a
handler, only library functions called by name run, `x.y` reads a related record's mapping
(never `getattr`), and every intermediate value must be plain data.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException, DivisionByZero, InvalidOperation, localcontext
from types import MappingProxyType
from typing import Any

from simpleeval import DISALLOW_METHODS, DISALLOW_PREFIXES, InvalidExpression, SimpleEval

from trellis.metadata.expressions import VOLATILE_FUNCTIONS, analyse
from trellis.runtime.expressions.context import EvaluationContext
from trellis.runtime.expressions.functions import LIBRARY
from trellis.runtime.expressions.operators import OPERATORS
from trellis.runtime.expressions.values import (
    DECIMAL_CONTEXT,
    MAX_TEXT,
    PLAIN_TYPES,
    EvaluationError,
    describe,
    truth,
)

_MISSING = object()
#: The key of `related` under which a rule's evaluation finds the record as it was before the save
#: (`previous(field)`); a function name, so no lookup field can be called so.
PREVIOUS = "previous"


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """A formula parsed once, with what it reads: fields, `lookup.field` pairs and functions."""

    source: str
    tree: ast.Expr
    names: frozenset[str]
    attributes: frozenset[tuple[str, str]]
    functions: frozenset[str]
    volatile: bool  # reads the clock (today/now): compute on read, never store

    @property
    def lookups(self) -> frozenset[str]:
        """The lookup fields whose related record `evaluate` needs in `related`."""
        return frozenset(base for base, _ in self.attributes)


def compile_expression(source: str) -> CompiledExpression:
    """Parse and analyse once (raises `ExpressionError` for a formula that could not be saved)."""
    analysis = analyse(source)
    return CompiledExpression(source=source, tree=analysis.tree, names=analysis.names,
                              attributes=analysis.attributes, functions=analysis.functions,
                              volatile=bool(analysis.functions & VOLATILE_FUNCTIONS))


def evaluate(compiled: CompiledExpression, record: Mapping[str, Any],
             related: Mapping[str, Mapping[str, Any] | None], ctx: EvaluationContext) -> Any:
    """The formula's value for one record.

    `record` holds the record's plain field values (a field missing from it is blank);
    `related` maps each lookup in `compiled.lookups` to the related record's values, or None
    when the lookup is empty (a lookup that is blank in `record` may be left out). Raises
    `EvaluationError` with a readable sentence, whatever went wrong.
    """
    return evaluate_tree(compiled.source, compiled.tree, record, related, ctx)


def evaluate_tree(source: str, tree: ast.AST, record: Mapping[str, Any],
                  related: Mapping[str, Mapping[str, Any] | None], ctx: EvaluationContext) -> Any:
    """`evaluate` for a bare tree, which need not come from the metadata parser (tests of the
    evaluator's own defences use this)."""
    evaluator = _Evaluator(record, related, ctx)
    try:
        with localcontext(DECIMAL_CONTEXT):
            result = evaluator.eval(source, previously_parsed=tree)
    except EvaluationError:
        raise
    except Exception as exc:  # every failure becomes a sentence, never a 500
        raise EvaluationError(_sentence(exc)) from exc
    if isinstance(result, tuple):
        raise EvaluationError("a list is only allowed after 'in' or 'not in'")
    return result


#: Sentences for exceptions that escaped the library's own checks, first match wins.
_SENTENCES: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((ZeroDivisionError, DivisionByZero), "division by zero"),
    ((InvalidOperation,), "a number in the formula cannot be computed exactly (too many digits)"),
    ((OverflowError, DecimalException), "a number in the formula is too large to compute"),
    ((RecursionError,), "the formula is nested too deeply"),
    ((MemoryError,), "the formula needs too much memory"),
    ((InvalidExpression,), "the formula uses something that is not allowed"),
)


def _sentence(exc: BaseException) -> str:
    return next((text for kinds, text in _SENTENCES if isinstance(exc, kinds)), "the formula could not be computed")


def _node_name(node: ast.AST) -> str:
    return type(node).__name__


class _Evaluator(SimpleEval):
    """A SimpleEval for one call. Construction is a few attribute stores: SimpleEval.__init__
    (which rebuilds a dispatch table of bound methods and re-checks the function table on every
    instance) is skipped on purpose, because our tables are built once below."""

    def __init__(self, record: Mapping[str, Any], related: Mapping[str, Mapping[str, Any] | None],
                 ctx: EvaluationContext):
        self.names = record
        self.related = related
        self.ctx = ctx
        self.operators = OPERATORS
        self.functions = LIBRARY
        self.allowed_attrs = None
        self.expr = ""

    def __del__(self) -> None:
        """SimpleEval.__del__ clears a dispatch table this class never builds."""

    def _eval(self, node: ast.AST) -> Any:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise EvaluationError(f"{_node_name(node)} is not allowed in a formula")
        result = handler(self, node)
        if type(result) not in PLAIN_TYPES:
            self._check_plain(result)
        return result

    def _check_plain(self, value: Any) -> None:
        """Plain data only: SimpleEval's own check first (modules, forbidden functions), then ours."""
        self._check_disallowed_items(value)
        if isinstance(value, (list, tuple)):
            for item in value:
                if type(item) not in PLAIN_TYPES:
                    raise EvaluationError(f"a formula can only use plain values, not {type(item).__name__}")
            return
        raise EvaluationError(f"a formula can only use plain values, not {type(value).__name__}")

    def _expr(self, node: ast.Expr) -> Any:
        return self._eval(node.value)

    def _constant(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, float):  # 0.1 in a formula means exactly one tenth
            if value != value or value in (float("inf"), float("-inf")):
                raise EvaluationError("a number in the formula is too large")
            return Decimal(repr(value))
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise EvaluationError(f"a text in the formula is longer than {MAX_TEXT} characters")
        if type(value) not in PLAIN_TYPES:
            raise EvaluationError(f"the constant {describe(value)} is not allowed")
        return value

    def _name(self, node: ast.Name) -> Any:
        if node.id.startswith("_"):
            raise EvaluationError(f"the name '{node.id}' is not allowed")
        return self.names.get(node.id)

    def _attribute(self, node: ast.Attribute) -> Any:
        """`lookup.field`: a field of the related record, or blank when the lookup is empty."""
        base, attr = node.value, node.attr
        if not isinstance(base, ast.Name) or attr.startswith(tuple(DISALLOW_PREFIXES)) or attr in DISALLOW_METHODS:
            raise EvaluationError("only a lookup's field can be read with a dot, one level deep: account.tier")
        target = self.related.get(base.id, _MISSING)
        if target is _MISSING:
            if self.names.get(base.id) is None:
                return None  # an empty lookup needs no related record
            raise EvaluationError(f"the record that '{base.id}' points to was not loaded")
        if target is None:
            return None
        if not isinstance(target, Mapping):
            raise EvaluationError(f"'{base.id}' does not point to a record")
        return self._eval_plain(target.get(attr))

    def _eval_plain(self, value: Any) -> Any:
        if type(value) not in PLAIN_TYPES:
            self._check_plain(value)
        return value

    def _binop(self, node: ast.BinOp) -> Any:
        return self._operator(node.op)(self._eval(node.left), self._eval(node.right))

    def _unaryop(self, node: ast.UnaryOp) -> Any:
        return self._operator(node.op)(self._eval(node.operand))

    def _operator(self, op: ast.AST) -> Callable[..., Any]:
        function = self.operators.get(type(op))
        if function is None:
            raise EvaluationError(f"the operator {_node_name(op)} is not allowed in a formula")
        return function

    def _boolop(self, node: ast.BoolOp) -> bool:
        """`and` / `or` on yes/no values, stopping as soon as the answer is known."""
        stop_at = isinstance(node.op, ast.Or)
        if not isinstance(node.op, (ast.And, ast.Or)):
            raise EvaluationError(f"the operator {_node_name(node.op)} is not allowed in a formula")
        for value in node.values:
            if truth(self._eval(value), "each side of 'and' / 'or'") is stop_at:
                return stop_at
        return not stop_at

    def _compare(self, node: ast.Compare) -> bool:
        left = self._eval(node.left)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = self._eval(comparator)
            if not self._operator(op)(left, right):
                return False
            left = right
        return True

    def _ifexp(self, node: ast.IfExp) -> Any:
        test = truth(self._eval(node.test), "the condition of 'if'")
        return self._eval(node.body if test else node.orelse)

    def _sequence(self, node: ast.List | ast.Tuple) -> tuple[Any, ...]:
        return tuple(self._eval(element) for element in node.elts)

    def _call(self, node: ast.Call) -> Any:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise EvaluationError("only library functions can be called, like lower(name), without keywords")
        name = node.func.id
        function = self.functions.get(name)
        if function is None:
            raise EvaluationError(f"unknown function '{name}'")
        lazy = _LAZY.get(name)
        if lazy is not None:
            return lazy(self, node.args)
        arguments = [self._eval(argument) for argument in node.args]
        try:
            return function(self.ctx, *arguments)
        except EvaluationError:
            raise
        except (ArithmeticError, RecursionError, MemoryError):
            raise  # worded by evaluate()
        except Exception as exc:  # a readable sentence, not a traceback
            shown = ", ".join(describe(a) for a in arguments)
            raise EvaluationError(f"{name}() could not be computed from {shown or 'no arguments'}") from exc

    def _if(self, args: list[ast.expr]) -> Any:
        """if_(cond, a, b) evaluates only the branch it returns: if_(n == 0, 0, total / n) is safe."""
        if len(args) != 3:
            raise EvaluationError(f"if_() takes 3 arguments; got {len(args)}")
        return self._eval(args[1] if truth(self._eval(args[0]), "the condition of if_") else args[2])

    def _previous(self, args: list[ast.expr]) -> Any:
        """previous(field): the field before the save that fired the rule; blank without one."""
        field = args[0] if len(args) == 1 else None
        if not isinstance(field, ast.Name) or field.id.startswith("_"):
            raise EvaluationError("previous() takes a field name, as in previous(health_score)")
        before = self.related.get(PREVIOUS)
        return None if before is None else self._eval_plain(before.get(field.id))

    def _coalesce(self, args: list[ast.expr]) -> Any:
        """coalesce stops at the first value that is not blank."""
        for argument in args:
            value = self._eval(argument)
            if value is not None:
                return value
        return None


_HANDLERS: Mapping[type, Callable[[_Evaluator, Any], Any]] = MappingProxyType({
    ast.Expr: _Evaluator._expr,
    ast.Constant: _Evaluator._constant,
    ast.Name: _Evaluator._name,
    ast.Attribute: _Evaluator._attribute,
    ast.BinOp: _Evaluator._binop,
    ast.UnaryOp: _Evaluator._unaryop,
    ast.BoolOp: _Evaluator._boolop,
    ast.Compare: _Evaluator._compare,
    ast.IfExp: _Evaluator._ifexp,
    ast.Call: _Evaluator._call,
    ast.List: _Evaluator._sequence,
    ast.Tuple: _Evaluator._sequence,
})

_LAZY: Mapping[str, Callable[[_Evaluator, list[ast.expr]], Any]] = MappingProxyType({
    "if_": _Evaluator._if,
    "coalesce": _Evaluator._coalesce,
    "previous": _Evaluator._previous,
})
