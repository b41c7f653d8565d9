"""The expression language of metadata: grammar, function signatures and static checks.

Formulas, rule conditions and rollup filters are small Python-syntax expressions that the
runtime evaluates with simpleeval. This module decides, at save time, what may be written: it
parses with the very call simpleeval uses (so the tree can be handed to
`SimpleEval.eval(expr, previously_parsed=tree)`), refuses every node outside a small whitelist,
caps the size, and checks names against an object's fields. Nothing here evaluates.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from simpleeval import DISALLOW_METHODS, DISALLOW_PREFIXES

from trellis.metadata.definitions import FieldType
from trellis.metadata.errors import coded
from trellis.metadata.suggestions import closest, suggest

MAX_LENGTH = 1000  # characters of source
MAX_NODES = 200  # expression nodes (operators and load contexts are not counted)
MAX_EXPONENT = 100  # the largest constant exponent accepted after `**`


def _unknown_field(name: str, fields: Mapping[str, FieldType]) -> str:
    close = closest(name, fields)
    return coded("expr.unknown_field_close" if close else "expr.unknown_field",
                 f"unknown field '{name}'{suggest(name, fields)}", name=name, close=close or "")


class ExpressionError(ValueError):
    """An expression that may not be saved; `column` (1-based) points at the culprit if known."""

    def __init__(self, message: str, column: int | None = None):
        self.message = message
        self.column = column
        super().__init__(self.sentence())

    def sentence(self) -> str:
        if self.column is None:
            return self.message
        return coded("expr.at_column", f"{self.message} (at column {self.column})", message=self.message,
                     column=self.column)


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the library: how many arguments it takes and what it returns."""

    name: str
    min_args: int
    max_args: int | None  # None: any number from min_args up
    returns: str  # a FieldType value, or "any"
    summary: str

    def arity(self) -> str:
        if self.max_args is None:
            return f"at least {_count(self.min_args, 'argument')}"
        if self.min_args == self.max_args:
            return _count(self.min_args, "argument")
        return f"{self.min_args} to {self.max_args} arguments"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_LIBRARY = (
    FunctionSpec("today", 0, 0, "date", "The current date in the tenant's time zone."),
    FunctionSpec("now", 0, 0, "date-time", "The current date and time."),
    FunctionSpec("days_between", 2, 2, "integer", "Whole days from date a to date b (negative if b is earlier)."),
    FunctionSpec("add_days", 2, 2, "date", "The date n days after d (n may be negative)."),
    FunctionSpec("add_months", 2, 2, "date", "The date n months after d, kept within the target month."),
    FunctionSpec("year", 1, 1, "integer", "The year of a date."),
    FunctionSpec("month", 1, 1, "integer", "The month (1-12) of a date."),
    FunctionSpec("day", 1, 1, "integer", "The day of the month of a date."),
    FunctionSpec("date_trunc", 2, 2, "date", "The first day of the unit (see DATE_UNITS) that holds d."),
    FunctionSpec("coalesce", 1, None, "any", "The first argument that is not null."),
    FunctionSpec("is_blank", 1, 1, "boolean", "True when x is null, an empty text or an empty list."),
    FunctionSpec("if_", 3, 3, "any", "a when cond is true, else b."),
    FunctionSpec("previous", 1, 1, "any", "The value a field had before the save that fired a rule (blank on "
                                          "creation and outside rules)."),
    FunctionSpec("round", 1, 2, "number", "x rounded to ndigits decimal places (default 0)."),
    FunctionSpec("min", 1, None, "any", "The smallest argument."),
    FunctionSpec("max", 1, None, "any", "The largest argument."),
    FunctionSpec("abs", 1, 1, "number", "The absolute value of x."),
    FunctionSpec("len", 1, 1, "integer", "The number of characters of a text (or items of a list)."),
    FunctionSpec("lower", 1, 1, "string", "The text in lower case."),
    FunctionSpec("upper", 1, 1, "string", "The text in upper case."),
    FunctionSpec("contains", 2, 2, "boolean", "True when the text or list haystack contains needle."),
    FunctionSpec("starts_with", 2, 2, "boolean", "True when text s starts with prefix."),
)

#: The whole function library, by name. Evaluation (runtime) implements exactly these.
FUNCTIONS: Mapping[str, FunctionSpec] = MappingProxyType({spec.name: spec for spec in _LIBRARY})

#: Functions that read the clock: a formula using them is computed on read, never stored.
VOLATILE_FUNCTIONS = frozenset({"today", "now"})

#: Units accepted by date_trunc when given as a literal.
DATE_UNITS = ("year", "quarter", "month", "week", "day")

_BINARY_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARY_OPERATORS = (ast.Not, ast.USub, ast.UAdd)
_COMPARISONS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_CONSTANT_TYPES = (str, int, float, bool, type(None))

#: How refused constructs are named in messages; anything else is named by its node type.
_REFUSED_NAMES: Mapping[type, str] = MappingProxyType({
    ast.Subscript: "indexing with [...]",
    ast.Slice: "slicing",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Starred: "* unpacking",
    ast.NamedExpr: "assignment (:=)",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.BitAnd: "the operator &",
    ast.BitOr: "the operator |",
    ast.BitXor: "the operator ^",
    ast.LShift: "the operator <<",
    ast.RShift: "the operator >>",
    ast.MatMult: "the operator @",
    ast.Invert: "the operator ~",
    ast.Is: "'is' (use == or is_blank())",
    ast.IsNot: "'is not' (use != or is_blank())",
})


@dataclass(frozen=True)
class Analysis:
    """What a valid expression uses: plain field names, `lookup.field` pairs and functions."""

    tree: ast.Expr
    names: frozenset[str]  # bare names, i.e. neither called nor the base of `x.y`
    attributes: frozenset[tuple[str, str]]  # (lookup, field) for `lookup.field`
    functions: frozenset[str]


def parse(source: str) -> ast.Expr:
    """The statement node simpleeval would build for `source`, refused unless it is whitelisted."""
    if not isinstance(source, str):
        raise ExpressionError("an expression must be text")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source)} characters long; the limit is {MAX_LENGTH}")
    text = source.strip()
    if not text:
        raise ExpressionError("the expression is empty")
    try:
        module = ast.parse(text)
    except SyntaxError as exc:
        raise ExpressionError(coded("expr.syntax", f"syntax error: {exc.msg}", detail=exc.msg),
                              exc.offset if exc.lineno == 1 else None) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"the expression cannot be read: {exc}") from None
    if len(module.body) != 1:
        raise ExpressionError("write a single expression, not several statements")
    statement = module.body[0]
    if not isinstance(statement, ast.Expr):
        kind = type(statement).__name__.lower()
        message = f"write a single expression, not a statement ({kind})"
        raise ExpressionError(message, _column(text, statement))
    _check_size(statement)
    _Whitelist(text).visit(statement.value)
    return statement


def analyse(source: str) -> Analysis:
    """Parse and collect the names, lookup pairs and functions an expression uses."""
    tree = parse(source)
    names: set[str] = set()
    attributes: set[tuple[str, str]] = set()
    functions: set[str] = set()
    not_bare: set[int] = set()  # ids of Name nodes that are a callee or the base of `x.y`
    # `parse` lets through only a name as a callee or as the base of `x.y`, so the tests on
    # `func` and `value` below always hold; they tell the type checker what `parse` guarantees.
    for node in ast.walk(tree):  # breadth first: a parent is seen before its children
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            functions.add(node.func.id)
            not_bare.add(id(node.func))
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            attributes.add((node.value.id, node.attr))
            not_bare.add(id(node.value))
        elif isinstance(node, ast.Name) and id(node) not in not_bare:
            names.add(node.id)
    return Analysis(tree, frozenset(names), frozenset(attributes), frozenset(functions))


def check(
    source: str,
    fields: Mapping[str, FieldType],
    lookups: Mapping[str, Mapping[str, FieldType]],
) -> list[str]:
    """Sentences for everything wrong with `source` in the context of one object.

    `fields` are the object's fields; `lookups` maps each lookup field whose target is known to
    the target's fields. A lookup missing from `lookups` (its target does not exist) is reported
    where the lookup is defined, not again here.
    """
    try:
        analysis = analyse(source)
    except ExpressionError as exc:
        return [exc.sentence()]
    unknown = sorted(analysis.names - fields.keys())
    problems = [_unknown_field(name, fields) for name in unknown]
    for base, attr in sorted(analysis.attributes):
        if base not in fields:
            problems.append(_unknown_field(base, fields))
        elif base in lookups:
            if attr not in lookups[base]:
                hint = suggest(attr, lookups[base])
                close = closest(attr, lookups[base])
                problems.append(coded("expr.unknown_field_on_close" if close else "expr.unknown_field_on",
                                      f"unknown field '{attr}' on the object that '{base}' points to{hint}",
                                      name=attr, base=base, close=close or ""))
        elif fields[base] is not FieldType.LOOKUP:
            problems.append(coded("expr.not_a_lookup", f"'{base}.{attr}' reads a field through '{base}', but '{base}' "
                                  "is not a lookup", base=base, attr=attr))
    return problems


def _column(text: str, node: ast.expr | ast.stmt) -> int | None:
    """1-based character column of a node on the first line (ast counts UTF-8 bytes)."""
    if node.lineno != 1:
        return None
    first_line = text.split("\n", 1)[0].encode("utf-8")
    return len(first_line[: node.col_offset].decode("utf-8", "replace")) + 1


def _check_size(statement: ast.Expr) -> None:
    """Refuse trees with more than MAX_NODES expression nodes, without recursion."""
    count = 0
    stack: list[ast.AST] = [statement.value]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(f"the expression is too large: more than {MAX_NODES} parts")
        stack.extend(ast.iter_child_nodes(node))


def _describe(node: ast.AST) -> str:
    return _REFUSED_NAMES.get(type(node), type(node).__name__)


def _contains_power(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) for n in ast.walk(node))


class _Whitelist:
    """Walks a parsed expression and raises ExpressionError at the first construct not allowed.

    Recursion is safe: `_check_size` has already bounded the tree to MAX_NODES nodes.
    """

    def __init__(self, text: str):
        self.text = text

    def refuse(self, node: ast.expr, message: str) -> ExpressionError:
        return ExpressionError(message, _column(self.text, node))

    def visit(self, node: ast.expr) -> None:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise self.refuse(node, f"{_describe(node)} is not allowed")
        method(node)

    def check_operator(self, owner: ast.expr, operator: ast.AST, allowed: tuple[type, ...]) -> None:
        if not isinstance(operator, allowed):
            raise self.refuse(owner, f"{_describe(operator)} is not allowed")

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        for value in node.values:
            self.visit(value)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        self.check_operator(node, node.op, _BINARY_OPERATORS)
        if isinstance(node.op, ast.Pow):
            self.check_exponent(node.right)
        self.visit(node.left)
        self.visit(node.right)

    def check_exponent(self, exponent: ast.expr) -> None:
        """A power bomb (`9**9**9**9`, `2**100000`) is refused at save time, not at run time."""
        if _contains_power(exponent):
            raise self.refuse(exponent, "a power of a power (like 9**9**9) is not allowed")
        if isinstance(exponent, ast.Constant) and isinstance(exponent.value, (int, float)):
            if abs(exponent.value) > MAX_EXPONENT:
                message = f"the exponent {exponent.value} is too large; the limit is {MAX_EXPONENT}"
                raise self.refuse(exponent, message)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        self.check_operator(node, node.op, _UNARY_OPERATORS)
        self.visit(node.operand)

    def visit_Compare(self, node: ast.Compare) -> None:
        self.visit(node.left)
        for operator, right in zip(node.ops, node.comparators, strict=True):
            self.check_operator(node, operator, _COMPARISONS)
            if isinstance(operator, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple)):
                for element in right.elts:
                    self.visit(element)
            else:
                self.visit(right)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self.visit(node.test)
        self.visit(node.body)
        self.visit(node.orelse)

    def visit_Call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            raise self.refuse(node, "only library functions can be called, like lower(name)")
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            close = closest(name, FUNCTIONS)
            raise self.refuse(node, coded("expr.unknown_function_close" if close else "expr.unknown_function",
                                          f"unknown function '{name}'{suggest(name, FUNCTIONS)}", name=name,
                                          close=close or ""))
        if node.keywords:
            raise self.refuse(node, f"{name}() takes no keyword arguments")
        for argument in node.args:
            self.visit(argument)
        given = len(node.args)
        if given < spec.min_args or (spec.max_args is not None and given > spec.max_args):
            raise self.refuse(node, f"{name}() takes {spec.arity()}; got {given}")
        if name == "date_trunc":
            self.check_unit(node.args[0])
        if name == "previous" and not isinstance(node.args[0], ast.Name):
            raise self.refuse(node, "previous() takes a field name, as in previous(health_score)")

    def check_unit(self, unit: ast.expr) -> None:
        if isinstance(unit, ast.Constant) and unit.value not in DATE_UNITS:
            message = f"date_trunc() unit must be one of {', '.join(DATE_UNITS)}; got {unit.value!r}"
            raise self.refuse(unit, message)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id.startswith("_"):
            raise self.refuse(node, f"the name '{node.id}' is not allowed: names may not start with _")
        if node.id in FUNCTIONS:
            raise self.refuse(node, f"'{node.id}' is a function; call it, as in {node.id}(...)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr.startswith("_"):
            raise self.refuse(node, f"the attribute '{node.attr}' is not allowed: names may not start with _")
        if node.attr.startswith(tuple(DISALLOW_PREFIXES)) or node.attr in DISALLOW_METHODS:
            raise self.refuse(node, f"the attribute '{node.attr}' is not allowed by the evaluator")
        if not isinstance(node.value, ast.Name):
            raise self.refuse(node, "only a lookup's field can be read with a dot, one level deep: account.tier")
        self.visit_Name(node.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, _CONSTANT_TYPES):
            message = f"the constant {node.value!r} is not allowed: use text, numbers, True, False or None"
            raise self.refuse(node, message)

    def visit_List(self, node: ast.List) -> None:
        raise self.refuse(node, "a list is only allowed after 'in' or 'not in'")

    visit_Tuple = visit_List
