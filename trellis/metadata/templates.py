"""What a message template may use, said once for both sides: the publish-time checks
(`template_checks`) refuse what is not here, and the runtime (`trellis.runtime.templates`)
provides exactly this and renders within these limits.

The runtime builds its filters, tests and globals from these names, so a name cannot be
allowed at publish and missing at render, or the other way round.
"""

from __future__ import annotations

import re

#: Formatting in the tenant's locale: each is both a filter (`amount|money`) and a function.
HELPERS = frozenset({"money", "number", "percent", "date", "datetime"})

#: Jinja's built-in filters a template may use: all but `pprint` (debug output whose size grows
#: faster than its input). `tojson` is the runtime's own (exact decimals, ISO dates).
JINJA_FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
    "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join",
    "last", "length", "list", "lower", "map", "max", "min", "random", "reject", "rejectattr", "replace",
    "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title",
    "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr",
})
TEMPLATE_FILTERS = JINJA_FILTERS | HELPERS

#: Jinja's built-in tests (`x is defined`, `n is odd`, `x is in items`): all of them.
TEMPLATE_TESTS = frozenset({
    "!=", "<", "<=", "==", ">", ">=", "boolean", "callable", "defined", "divisibleby", "eq", "equalto",
    "escaped", "even", "false", "filter", "float", "ge", "greaterthan", "gt", "in", "integer", "iterable", "le",
    "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd", "sameas", "sequence", "string", "test",
    "true", "undefined", "upper",
})

#: Functions every template may call, beside the names of its context.
TEMPLATE_GLOBALS = frozenset({"range", "dict", "namespace"}) | HELPERS

#: What a workflow rule's templates (subject, body, task title and description) see: the
#: record, its related records by lookup field, the rule, the recipient, a date rule's offset,
#: the instant the firing was due and today's date. The runtime's `PlanContext.template_context`
#: gives exactly these (a test holds it to that).
RULE_TEMPLATE_NAMES = frozenset({"record", "related", "rule", "recipient", "offset", "due", "today"})

MAX_SOURCE = 20_000  # characters of a template's source
MAX_OUTPUT = 100_000  # characters of one rendered message; also the largest width or repetition
MAX_RANGE = 100_000  # numbers all range() calls of one rendering may produce together
MAX_DEPTH = 40  # levels of nesting (statements in statements, expressions in expressions)

#: Filters and string methods whose first argument is a width or count of what they build
#: (`center(n)`, `batch(n)`): no larger than a message may be.
SIZE_FILTERS = frozenset({"center", "indent", "batch", "slice"})
SIZE_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})

#: Format specs that could allocate a huge string: a width or precision of six digits or more,
#: or one taken from the arguments (`%*s`, `{:{}}`).
WIDE_FORMAT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d{6}|\d*\.(?:\*|\d{6}))|\{[^{}]*:[^{}]*(?:\{|\d{6})")

__all__ = ["HELPERS", "JINJA_FILTERS", "MAX_DEPTH", "MAX_OUTPUT", "MAX_RANGE", "MAX_SOURCE", "RULE_TEMPLATE_NAMES",
           "SIZE_FILTERS", "SIZE_METHODS", "TEMPLATE_FILTERS", "TEMPLATE_GLOBALS", "TEMPLATE_TESTS", "WIDE_FORMAT"]
