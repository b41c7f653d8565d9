"""Publish-time checks of a message template: what can be known without rendering it.

A template that passes still renders within the runtime's budgets, whatever it does with its
data; these checks refuse early, with the line, what would certainly fail or cannot be meant:
syntax errors, Python internals (`''.__class__`), filters, tests and names that do not exist,
other templates (include, import), nesting too deep to compile, and the bombs that literals
give away (`template_sizes`: `range(10**9)`, `'x' * 10**9`, a value built from itself twice on
every pass of a loop). Pure: the source is parsed, never run.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any, NoReturn

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from trellis.metadata.suggestions import suggest
from trellis.metadata.template_sizes import Finding, literal_texts, size_findings
from trellis.metadata.templates import HELPERS, MAX_DEPTH, TEMPLATE_FILTERS, TEMPLATE_GLOBALS, TEMPLATE_TESTS

#: Filters that read the attribute their argument names: the position of that argument.
_ATTRIBUTE_ARGUMENT = {"attr": 0, "selectattr": 0, "rejectattr": 0, "groupby": 0, "sum": 0, "sort": 2,
                       "unique": 1, "min": 1, "max": 1}
#: Filters that apply the filter or test their argument names: its position and what it names.
_NAMED_ARGUMENT = {"map": (0, "filter"), "select": (0, "test"), "reject": (0, "test"),
                   "selectattr": (1, "test"), "rejectattr": (1, "test")}
_FORMAT_FIELD = re.compile(r"\{([^{}:!]*)")


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
                *size_findings(tree)]
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
        yield from literal_texts([node.arg])
    elif isinstance(node, nodes.Filter):
        yield from literal_texts(kw.value for kw in node.kwargs if kw.key == "attribute")
        position = _ATTRIBUTE_ARGUMENT.get(node.name)
        if position is not None:
            yield from literal_texts(node.args[position:position + 1])
    elif isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr) \
            and node.node.attr in ("format", "format_map"):
        for text in literal_texts([node.node.node]):
            yield from (field for field in _FORMAT_FIELD.findall(text) if "_" in field)


def _vocabulary(tree: nodes.Template, reader: _Reader) -> Iterator[Finding]:
    """Filters and tests by name: `x|nosuchfilter`, `x is nosuchtest`, and the names given as
    text to `map`, `select`, `reject`, `selectattr` and `rejectattr`. An unknown one is then
    stood in for in `reader`, so that the names can still be checked."""
    for node in tree.find_all(nodes.Filter):
        yield from _known(reader, node.lineno, node.name, "filter")
        position, what = _NAMED_ARGUMENT.get(node.name, (-1, ""))
        if 0 <= position < len(node.args) and not any(kw.key == "attribute" for kw in node.kwargs):
            for name in literal_texts([node.args[position]]):
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
