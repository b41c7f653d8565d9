"""Publish-time checks of a message template: what can be known without rendering it.

A template that passes still renders within the runtime's budgets, whatever it does with its
data; these checks refuse early, with the line, what would certainly fail or cannot be meant:
syntax errors, Python internals (`''.__class__`), filters, tests and names that do not exist,
other templates (include, import), nesting too deep to compile, and the bombs that literals
give away (`range(10**9)`, `'x' * 10**9`, `'%999999s'`, a value built from itself twice on every
pass of a loop). Pure: the source is parsed, never run; only whole-number literals of bounded
size are worked out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from typing import Any, NoReturn

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from trellis.metadata.expressions import MAX_EXPONENT
from trellis.metadata.suggestions import suggest
from trellis.metadata.templates import (
    HELPERS,
    MAX_DEPTH,
    MAX_OUTPUT,
    MAX_RANGE,
    SIZE_FILTERS,
    SIZE_METHODS,
    TEMPLATE_FILTERS,
    TEMPLATE_GLOBALS,
    TEMPLATE_TESTS,
    WIDE_FORMAT,
)

#: (line, sentence): one problem in a template.
Finding = tuple[int, str]

_LITERAL_BITS = 10_000  # whole-number literals larger than this are not worked out …
_HUGE = 1 << _LITERAL_BITS  # … but stand for this (larger than any limit)
_DOUBLINGS = (MAX_OUTPUT - 1).bit_length()  # a text doubled this often outgrows any message
#: Filters that read the attribute their argument names: the position of that argument.
_ATTRIBUTE_ARGUMENT = {"attr": 0, "selectattr": 0, "rejectattr": 0, "groupby": 0, "sum": 0, "sort": 2,
                       "unique": 1, "min": 1, "max": 1}
#: Filters that apply the filter or test their argument names: its position and what it names.
_NAMED_ARGUMENT = {"map": (0, "filter"), "select": (0, "test"), "reject": (0, "test"),
                   "selectattr": (1, "test"), "rejectattr": (1, "test")}
_FORMAT_FIELD = re.compile(r"\{([^{}:!]*)")
_NUMBER_RUN = re.compile(r"\d+")


class _Reader(SandboxedEnvironment):
    """Parses and walks a template for the checks and runs none of it: every operator is
    intercepted, so Jinja's constant folding computes none (`'x' * 10**9` stays unevaluated),
    and the filters and tests are stand-ins that refuse to run."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def __init__(self) -> None:
        super().__init__()
        self.filters = dict.fromkeys(TEMPLATE_FILTERS, _inert)
        self.tests = dict.fromkeys(TEMPLATE_TESTS, _inert)
        self.globals = dict.fromkeys(TEMPLATE_GLOBALS)


def _inert(*args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError("templates are not run at publish")


def check_template(source: str, names: Collection[str]) -> list[str]:
    """Every problem publish can see in a template whose context holds `names`, each a sentence
    starting with its line; [] for a template that may be published."""
    reader = _Reader()
    try:
        tree = reader.parse(source)
    except jinja2.TemplateSyntaxError as error:
        return [f"template syntax error on line {error.lineno}: {error.message}"]
    except RecursionError:
        return [f"the template nests too deeply; the limit is {MAX_DEPTH} levels"]
    depth, line = _deepest(tree)
    if depth > MAX_DEPTH:
        return [f"line {line}: the template nests {depth} levels deep; the limit is {MAX_DEPTH} "
                "(split the expression with {% set %})"]
    findings = [*_standalone(tree), *_internals(tree), *_vocabulary(tree, reader), *_undefined(tree, names),
                *_sizes(tree), *_loop_counts(tree, 1, [0]), *_doublings(tree)]
    return list(dict.fromkeys(f"line {line}: {sentence}" for line, sentence in findings))


# -- what a template may reach ----------------------------------------------------------------


def _standalone(tree: nodes.Template) -> Iterator[Finding]:
    for node in tree.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        yield node.lineno, "a message template stands alone: it cannot extend, include or import another template"


def _internals(tree: nodes.Template) -> Iterator[Finding]:
    """Attribute names starting with `_` (`''.__class__`, `record['__init__']`, `|attr('_x')`,
    `'{0.__class__}'.format(x)`): the sandbox refuses them at render; publish says so first."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Call)):
        for name in _attribute_names(node):
            if any(part.startswith("_") for part in re.split(r"[.\[\]]", name)):
                yield node.lineno, f"'{name}' starts with an underscore: a template may not reach Python " \
                                   "internals; use the fields of record and related"


def _attribute_names(node: nodes.Node) -> Iterator[str]:
    if isinstance(node, nodes.Getattr):
        yield node.attr
    elif isinstance(node, nodes.Getitem):
        yield from _texts([node.arg])
    elif isinstance(node, nodes.Filter):
        yield from _texts(kw.value for kw in node.kwargs if kw.key == "attribute")
        position = _ATTRIBUTE_ARGUMENT.get(node.name)
        if position is not None:
            yield from _texts(node.args[position:position + 1])
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) \
            and node.node.attr in ("format", "format_map"):
        for text in _texts([node.node.node]):
            yield from (field for field in _FORMAT_FIELD.findall(text) if "_" in field)


def _vocabulary(tree: nodes.Template, reader: _Reader) -> Iterator[Finding]:
    """Filters and tests by name: `x|nosuchfilter`, `x is nosuchtest`, and the names given as
    text to `map`, `select`, `reject`, `selectattr` and `rejectattr`. An unknown one is then
    stood in for in `reader`, so that the names can still be checked."""
    for node in tree.find_all(nodes.Filter):
        yield from _known(reader, node.lineno, node.name, "filter")
        position, what = _NAMED_ARGUMENT.get(node.name, (-1, ""))
        if 0 <= position < len(node.args) and not any(kw.key == "attribute" for kw in node.kwargs):
            for name in _texts([node.args[position]]):
                yield from _known(reader, node.lineno, name, what)
    for test in tree.find_all(nodes.Test):
        yield from _known(reader, test.lineno, test.name, "test")


def _known(reader: _Reader, line: int, name: str, what: str) -> Iterator[Finding]:
    known = TEMPLATE_FILTERS if what == "filter" else TEMPLATE_TESTS
    if name in known:
        return
    (reader.filters if what == "filter" else reader.tests)[name] = _inert
    listing = f"Jinja's built-in filters but pprint, and {', '.join(sorted(HELPERS))}" if what == "filter" \
        else "Jinja's built-in tests"
    yield line, f"there is no {what} '{name}' (the {what}s are {listing}){suggest(name, known)}"


def _undefined(tree: nodes.Template, names: Collection[str]) -> Iterator[Finding]:
    """Names neither in the context nor functions every template has (`{{ nosuchname }}`),
    found the way Jinja resolves them (loop variables, `set`, macro arguments are known), and
    what else only compiling finds (assigning to `loop`)."""
    try:
        undeclared = meta.find_undeclared_variables(tree)
    except jinja2.TemplateSyntaxError as error:
        yield error.lineno or 1, error.message or str(error)
        return
    lines: dict[str, int] = {}
    for node in tree.find_all(nodes.Name):
        lines.setdefault(node.name, node.lineno)
    known = set(names) | TEMPLATE_GLOBALS
    for name in sorted(undeclared - known, key=lambda n: (lines.get(n, 1), n)):
        yield lines.get(name, 1), f"'{name}' is undefined (a template here sees {', '.join(sorted(names))} and " \
                                  f"the functions {', '.join(sorted(TEMPLATE_GLOBALS))}){suggest(name, known)}"


# -- sizes -------------------------------------------------------------------------------------


def _sizes(tree: nodes.Template) -> Iterator[Finding]:
    """Literal sizes the runtime would refuse: huge exponents, repetitions, widths and format
    widths."""
    for power in tree.find_all(nodes.Pow):
        exponent = _whole(power.right)
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            yield power.lineno, f"the exponent {_shown(power.right)} is too large; the limit is {MAX_EXPONENT}"
    for product in tree.find_all(nodes.Mul):
        for items, times in ((product.left, product.right), (product.right, product.left)):
            length, count = _length(items), _whole(times)
            if length and count is not None and length * count > MAX_OUTPUT:
                yield product.lineno, f"repeating a text or list {_shown(times)} times makes more than a message " \
                                      f"may hold ({MAX_OUTPUT:,} characters)"
    for node in tree.find_all(nodes.Expr):
        if not isinstance(node, nodes.Filter | nodes.Call):
            continue
        for width in _size_arguments(node):
            value = _whole(width)
            if value is not None and value > MAX_OUTPUT:
                yield node.lineno, f"a width or count of {_shown(width)} is larger than a message may be " \
                                   f"({MAX_OUTPUT:,} characters)"
        text = _format_text(node)
        if text is not None and _wide(text):
            yield node.lineno, "format widths must be written out and add up to less than 100000"
    for remainder in tree.find_all(nodes.Mod):
        text = _text(remainder.left)
        if text is not None and _wide(text):
            yield remainder.lineno, "format widths must be written out and add up to less than 100000"


def _size_arguments(node: nodes.Filter | nodes.Call) -> list[nodes.Expr]:
    if isinstance(node, nodes.Filter):
        return node.args[:1] if node.name in SIZE_FILTERS else []
    if isinstance(node.node, nodes.Getattr) and node.node.attr in SIZE_METHODS:
        return node.args[:1]
    return []


def _format_text(node: nodes.Filter | nodes.Call) -> str | None:
    """The literal format string of `'…'|format(…)` or `'…'.format(…)`."""
    if isinstance(node, nodes.Filter):
        return _text(node.node) if node.name == "format" and node.node is not None else None
    if isinstance(node.node, nodes.Getattr) and node.node.attr in ("format", "format_map"):
        return _text(node.node.node)
    return None


def _wide(text: str) -> bool:
    return bool(WIDE_FORMAT.search(text)) or sum(int(run) for run in _NUMBER_RUN.findall(text)) > MAX_OUTPUT


def _loop_counts(node: nodes.Node, passes: int, total: list[int]) -> Iterator[Finding]:
    """range() calls with literal bounds, times the literal passes of the loops around them:
    the runtime stops all range() calls of one message at MAX_RANGE numbers in all. `total`
    carries the count so far (a one-item list, shared down the walk)."""
    if isinstance(node, nodes.Call) and _is_range(node):
        count = _range_length(node)
        before = total[0]
        total[0] = MAX_RANGE + 1 if count is None else before + count * passes
        if before <= MAX_RANGE < total[0]:
            made = "more numbers than can be counted" if count is None else f"{count:,} numbers"
            over = f", {passes:,} times over (once per pass of the loops around it)" if passes > 1 else ""
            if before and count is not None:
                over += f", {total[0]:,} with the ranges before it"
            yield node.lineno, f"range() here makes {made}{over}; the loops of one message may run at most " \
                               f"{MAX_RANGE:,} times in all"
    if not isinstance(node, nodes.For):
        for child in node.iter_child_nodes():
            yield from _loop_counts(child, passes, total)
        return
    yield from _loop_counts(node.iter, passes, total)
    count = _range_length(node.iter) if isinstance(node.iter, nodes.Call) and _is_range(node.iter) else 1
    inner = passes * (MAX_RANGE + 1 if count is None else max(count, 1))
    for child in [*node.body, *([node.test] if node.test is not None else [])]:
        yield from _loop_counts(child, inner, total)
    for child in node.else_:
        yield from _loop_counts(child, passes, total)


def _is_range(call: nodes.Call) -> bool:
    return isinstance(call.node, nodes.Name) and call.node.name == "range"


def _range_length(call: nodes.Call) -> int | None:
    """How many numbers a range() of literal bounds makes (0 when unknown), None for too many
    to count."""
    bounds = [_whole(arg) for arg in call.args]
    if call.kwargs or call.dyn_args or not 1 <= len(bounds) <= 3 or any(b is None for b in bounds):
        return 0
    try:
        return len(range(*[b for b in bounds if b is not None]))
    except ValueError:  # a step of 0: the runtime says so
        return 0
    except OverflowError:
        return None


# -- growth in loops ---------------------------------------------------------------------------


def _doublings(tree: nodes.Template) -> Iterator[Finding]:
    """A namespace attribute built from itself twice on a pass of a loop (`ns.s = ns.s ~ ns.s`,
    `[ns.l, ns.l]`, `ns.s * 2` for a text) doubles on every pass; a value doubled in
    `_DOUBLINGS` assignments one after the other outgrows any message too."""
    texts = _sequences(tree)
    in_loops = {id(a) for loop in tree.find_all(nodes.For) for statement in loop.body
                for a in [statement, *_assignments(statement)]}
    straight: dict[str, int] = {}
    for assign in _assignments(tree):
        key = _key(assign.target)
        if key is None or _references(assign, key, texts) < 2:
            continue
        if id(assign) in in_loops and isinstance(assign.target, nodes.NSRef):
            yield assign.lineno, f"'{key}' is built from itself twice on every pass of the loop, so it doubles " \
                                 f"each time and soon outgrows any message; add to it once per pass " \
                                 f"({key} ~ item) instead"
            continue
        straight[key] = straight.get(key, 0) + 1
        if straight[key] == _DOUBLINGS:
            yield assign.lineno, f"'{key}' is doubled {_DOUBLINGS} times, which makes more than a message may " \
                                 f"hold ({MAX_OUTPUT:,} characters)"


def _references(assign: nodes.Assign | nodes.AssignBlock, key: str, texts: set[str]) -> int:
    if isinstance(assign, nodes.Assign):
        return _refs(assign.node, key, texts)
    return sum(_refs(expr, key, texts) for output in assign.body if isinstance(output, nodes.Output)
               for expr in output.nodes)


def _refs(node: nodes.Node | None, key: str, texts: set[str]) -> int:
    """How many copies of `key` the value of `node` holds (0 for what only reads it, such as a
    comparison); a text or list repeated `* n` counts n."""
    if node is None:
        return 0
    if _key(node) == key:
        return 1
    if isinstance(node, nodes.Mul):
        for items, times in ((node.left, node.right), (node.right, node.left)):
            count = _whole(times)
            if key in texts and count is not None and count >= 2 and _refs(items, key, texts):
                return 2
    children: list[nodes.Node | None]
    if isinstance(node, nodes.Concat):
        children = list(node.nodes)
    elif isinstance(node, nodes.Add | nodes.Mul):
        children = [node.left, node.right]
    elif isinstance(node, nodes.List | nodes.Tuple):
        children = list(node.items)
    elif isinstance(node, nodes.Dict):
        children = [part for pair in node.items for part in (pair.key, pair.value)]
    elif isinstance(node, nodes.CondExpr):
        return max(_refs(node.expr1, key, texts), _refs(node.expr2, key, texts))
    elif isinstance(node, nodes.Filter | nodes.Call):
        children = [node.node, *node.args, *(kw.value for kw in node.kwargs)]
    elif isinstance(node, nodes.Getattr) or isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Slice):
        children = [node.node]
    else:
        return 0
    return sum(_refs(child, key, texts) for child in children)


def _sequences(tree: nodes.Template) -> set[str]:
    """The names and namespace attributes ever given a text or a list (`s = 'x'`,
    `namespace(s='x')`): for those, `* 2` repeats rather than multiplies."""
    found = set()
    for assign in _assignments(tree):
        key = _key(assign.target)
        if key is None:
            continue
        if isinstance(assign, nodes.AssignBlock) or _length(assign.node) is not None:
            found.add(key)
        if isinstance(assign, nodes.Assign) and isinstance(assign.node, nodes.Call) \
                and isinstance(assign.node.node, nodes.Name) and assign.node.node.name == "namespace":
            found.update(f"{key}.{kw.key}" for kw in assign.node.kwargs if _length(kw.value) is not None)
    return found


def _assignments(node: nodes.Node) -> Iterator[nodes.Assign | nodes.AssignBlock]:
    """The `{% set %}` statements (and blocks) within `node`."""
    for statement in node.find_all(nodes.Stmt):
        if isinstance(statement, nodes.Assign | nodes.AssignBlock):
            yield statement


def _key(node: nodes.Node) -> str | None:
    """'s' for the name s, 'ns.s' for the namespace attribute ns.s (assigned or read)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.NSRef):
        return f"{node.name}.{node.attr}"
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name):
        return f"{node.node.name}.{node.attr}"
    return None


# -- literals ----------------------------------------------------------------------------------


def _text(node: nodes.Node | None) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _texts(candidates: Iterable[nodes.Node]) -> Iterator[str]:
    """The literal texts among `candidates`."""
    for node in candidates:
        text = _text(node)
        if text is not None:
            yield text


def _length(node: nodes.Node) -> int | None:
    """The length of a literal text or list (`'ab'`, `[x, y]`, `a ~ 'b'` at least 1), else None."""
    if isinstance(node, nodes.Const) and isinstance(node.value, str | tuple | list):
        return len(node.value)
    if isinstance(node, nodes.List | nodes.Tuple):
        return len(node.items)
    if isinstance(node, nodes.Concat):
        return max(1, sum(_length(part) or 0 for part in node.nodes))
    return None


def _whole(node: nodes.Node | None) -> int | None:
    """The value of a whole-number literal (`10**9`, `-3`, `2 * 50000`), `±_HUGE` for one too
    large to work out (`10**10**10`), None for anything else."""
    if isinstance(node, nodes.Const):
        return node.value if isinstance(node.value, int) and not isinstance(node.value, bool) else None
    if isinstance(node, nodes.Neg | nodes.Pos):
        value = _whole(node.node)
        return None if value is None else -value if isinstance(node, nodes.Neg) else value
    if not isinstance(node, nodes.Add | nodes.Sub | nodes.Mul | nodes.Pow | nodes.FloorDiv):
        return None
    left, right = _whole(node.left), _whole(node.right)
    if left is None or right is None:
        return None
    if isinstance(node, nodes.Pow):
        if right < 0:
            return None  # a fraction
        if abs(left) <= 1:
            return 1 if left == 1 or right == 0 else 0 if left == 0 else (-1) ** (right % 2)
        bits = left.bit_length() * right
        return _clamp(left**right) if bits <= _LITERAL_BITS else _HUGE if left > 0 or right % 2 == 0 else -_HUGE
    if isinstance(node, nodes.Mul):
        if left.bit_length() + right.bit_length() > _LITERAL_BITS:
            return _HUGE if (left < 0) == (right < 0) else -_HUGE
        return _clamp(left * right)
    if isinstance(node, nodes.FloorDiv):
        return left // right if right else None
    return _clamp(left + right if isinstance(node, nodes.Add) else left - right)


def _clamp(value: int) -> int:
    return max(-_HUGE, min(_HUGE, value))


def _shown(node: nodes.Node) -> str:
    value = _whole(node)
    return "more than can be counted" if value is not None and abs(value) >= _HUGE else f"{value:,}"


def _deepest(tree: nodes.Template) -> tuple[int, int]:
    """(depth, line) of the most deeply nested node; walked without recursion."""
    deepest, line = 0, 1
    stack: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest, line = depth, getattr(node, "lineno", line) or line
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return deepest, line


__all__ = ["check_template"]
