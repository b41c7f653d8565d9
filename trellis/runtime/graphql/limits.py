"""Limits every GraphQL request meets: depth, aliases, tokens and page size, always on.

Strawberry's `ValidationCache` keys its cache on (schema, document, validation rules). Its own
limiter extensions create a new rule class each time they are constructed — per request when
passed as factories — so the key never repeats and the cache never hits. Here the rule classes
are built once, at import, and the parse and validation caches live at module level too; the
`Limits` extension made per request (Strawberry's supported, concurrency-safe way) only hands
those same objects to the execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
    parse,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from trellis.runtime.graphql.selection import SelectionFold

MAX_DEPTH = 10  # nested selections, counted from the root field (introspection excluded)
MAX_ALIASES = 30
MAX_TOKENS = 5_000
MAX_PAGE = 100  # first / last of any connection
MAX_BATCH = 100  # items of a batch mutation
CACHE_SIZE = 1_024  # distinct query texts kept parsed and validated (bounded: clients choose them)

LIMIT_CODE = "GRAPHQL_VALIDATION_FAILED"


def limit_error(limit: str, maximum: int, message: str, nodes: list[Node] | None = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": LIMIT_CODE, "limit": limit, "max": maximum})


def _fragments(context: ValidationContext) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Depth(SelectionFold[None]):
    """How deeply fields nest under a node (introspection excluded: GraphiQL's own query is deep)."""

    def field(self, node: FieldNode, key: None) -> int:
        return 0 if node.name.value.startswith("__") else 1 + self.selection(node, key)

    def combine(self, values: Iterable[int]) -> int:
        return max(values, default=0)


class _Aliases(SelectionFold[None]):
    """How many aliases a node holds, a fragment counted at each of its spreads."""

    def field(self, node: FieldNode, key: None) -> int:
        return (node.alias is not None) + self.selection(node, key)


def _operations(context: ValidationContext) -> list[OperationDefinitionNode]:
    return [d for d in context.document.definitions if isinstance(d, OperationDefinitionNode)]


class DepthLimit(ValidationRule):
    def __init__(self, context: ValidationContext):
        super().__init__(context)
        depth = _Depth(_fragments(context))
        for operation in _operations(context):
            deepest = depth.selection(operation, None)
            if deepest > MAX_DEPTH:
                name = operation.name.value if operation.name else "the operation"
                context.report_error(limit_error("depth", MAX_DEPTH, f"{name} is nested {deepest} levels deep; "
                                                 f"at most {MAX_DEPTH} are allowed", [operation]))


class AliasLimit(ValidationRule):
    def __init__(self, context: ValidationContext):
        super().__init__(context)
        aliases = _Aliases(_fragments(context))
        count = sum(aliases.selection(operation, None) for operation in _operations(context))
        if count > MAX_ALIASES:
            context.report_error(limit_error("aliases", MAX_ALIASES,
                                             f"the query uses {count} aliases; at most {MAX_ALIASES} are allowed"))


RULES: tuple[type[ValidationRule], ...] = (DepthLimit, AliasLimit)
TOKENS_MESSAGE = f"Document contains more than {MAX_TOKENS} tokens"

_parse = lru_cache(maxsize=CACHE_SIZE)(parse)
_validate = lru_cache(maxsize=CACHE_SIZE)(validate_document)


def cache_info() -> dict[str, object]:
    return {"parse": _parse.cache_info(), "validate": _validate.cache_info()}


class Limits(SchemaExtension):
    """Adds the limit rules, and parses and validates through the module-level caches."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = context.validation_rules + RULES
        yield

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            try:
                context.graphql_document = _parse(context.query, max_tokens=MAX_TOKENS)
            except GraphQLError:
                pass  # Strawberry parses again and reports the syntax error in its usual way
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None:
            errors = _validate(context.schema._schema, context.graphql_document, context.validation_rules)
            context.pre_execution_errors = list(errors)  # a copy: the cached list is shared
        yield
