"""Publish-time checks of a template's sizes: the bombs its literals give away.

`range(10**9)`, a `range()` inside loops over literal ranges that multiply past MAX_RANGE,
`'x' * 10**9`, `'x'.center(10**9)`, `'%999999s'`, `2 ** 100000`, and a value built from itself
twice on every pass of a loop (`ns.s = ns.s ~ ns.s`, `[ns.l, ns.l]`): each would be stopped at
render by the budgets, and each is certain from the source, so publish says so with the line.
A bomb built from data or through a macro is left to the render. Pure: only whole-number
literals of bounded size are worked out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from jinja2 import nodes

from trellis.metadata.expressions import MAX_EXPONENT
from trellis.metadata.templates import MAX_OUTPUT, MAX_RANGE, SIZE_FILTERS, SIZE_METHODS, WIDE_FORMAT

#: (line, sentence): one problem in a template.
Finding = tuple[int, str]

_LITERAL_BITS = 10_000  # whole-number literals larger than this are not worked out …
_HUGE = 1 << _LITERAL_BITS  # … but stand for this (larger than any limit)
_DOUBLINGS = (MAX_OUTPUT - 1).bit_length()  # a text doubled this often outgrows any message
_NUMBER_RUN = re.compile(r"\d+")


def size_findings(tree: nodes.Template) -> Iterator[Finding]:
    """Every size problem of a parsed template."""
    yield from _literal_sizes(tree)
    yield from _loop_counts(tree, 1, [0])
    yield from _doublings(tree)


# -- literal sizes and loop counts ------------------------------------------------------------


def _literal_sizes(tree: nodes.Template) -> Iterator[Finding]:
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
        text = literal_text(remainder.left)
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
        return literal_text(node.node) if node.name == "format" and node.node is not None else None
    if isinstance(node.node, nodes.Getattr) and node.node.attr in ("format", "format_map"):
        return literal_text(node.node.node)
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


def literal_text(node: nodes.Node | None) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def literal_texts(candidates: Iterable[nodes.Node]) -> Iterator[str]:
    """The literal texts among `candidates`."""
    for node in candidates:
        text = literal_text(node)
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


__all__ = ["Finding", "literal_text", "literal_texts", "size_findings"]
