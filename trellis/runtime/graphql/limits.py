"""Limits every GraphQL request meets: depth, aliases, tokens, page size and cost, always on.

Strawberry's `ValidationCache` keys its cache on (schema, document, validation rules). Its own
limiter extensions create a new rule class each time they are constructed — per request when
passed as factories — so the key never repeats and the cache never hits. Here the rule classes
are built once, at import, and the parse and validation caches live at module level too; the
`Limits` extension made per request (Strawberry's supported, concurrency-safe way) only hands
those same objects to the execution.

The cost (cost.py: the records a query may return) depends on the request's variables, which
the validation cache does not see; it is estimated after the cached validation has passed, in
time linear in the document, and refused with the same code before execution. Its limit is the
installation's (`TRELLIS_GRAPHQL_MAX_COST`), handed to each schema's `Limits` when it is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache, partial
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    ValidationContext,
    ValidationRule,
    parse,
    specified_rules,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext

from trellis.runtime.graphql.cost import estimate
from trellis.runtime.graphql.selection import SelectionFold

MAX_DEPTH = 10  # nested selections, counted from the root field (introspection excluded)
MAX_ALIASES = 30
MAX_TOKENS = 5_000
MAX_PAGE = 100  # first / last of any connection
MAX_BATCH = 100  # items of a batch mutation
MAX_COST = 50_000  # records one request may ask for, unless the installation says otherwise
CACHE_SIZE = 1_024  # distinct query texts kept parsed and validated (bounded: clients choose them)

LIMIT_CODE = "GRAPHQL_VALIDATION_FAILED"


def limit_error(limit: str, maximum: int, message: str, nodes: list[Node] | None = None,
                **details: int) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": LIMIT_CODE, "limit": limit, "max": maximum, **details})


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


def parse_cached(query: str) -> DocumentNode:
    """The document of `query` from the parse cache Strawberry's path uses (raises GraphQLError)."""
    return _parse(query, max_tokens=MAX_TOKENS)


def validate_cached(schema: GraphQLSchema, document: DocumentNode) -> list[GraphQLError]:
    """The validation errors of `document`, from the cache entry the `Limits` extension fills for
    the same rules (Strawberry's default rules and `RULES`)."""
    return _validate(schema, document, tuple(specified_rules) + RULES)


def over_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
              variables: dict[str, Any] | None, max_cost: int) -> bool:
    """Whether `Limits` refuses the operation for its cost (as `Limits._over_cost` decides)."""
    return estimate(schema, document, operation_name, variables, MAX_PAGE, MAX_BATCH) > max_cost


def cache_info() -> dict[str, object]:
    return {"parse": _parse.cache_info(), "validate": _validate.cache_info()}


class Limits(SchemaExtension):
    """Adds the limit rules, parses and validates through the module-level caches, and refuses
    a query whose cost is over `max_cost`. Made per request (see `with_max_cost`)."""

    def __init__(self, *, max_cost: int = MAX_COST, execution_context: ExecutionContext | None = None):
        super().__init__(execution_context=execution_context)
        self.max_cost = max_cost

    @classmethod
    def with_max_cost(cls, max_cost: int) -> Callable[[], Limits]:
        """What a schema's `extensions` takes: a factory of this extension with `max_cost`."""
        return partial(cls, max_cost=max_cost)

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
            context.pre_execution_errors = list(errors) or self._over_cost()  # a copy: the cached list is shared
        yield

    def _over_cost(self) -> list[GraphQLError]:
        context = self.execution_context
        assert context.graphql_document is not None
        cost = estimate(context.schema._schema, context.graphql_document, context.operation_name,
                        context.variables, MAX_PAGE, MAX_BATCH)
        if cost <= self.max_cost:
            return []
        return [limit_error("cost", self.max_cost,
                            f"the query may return up to {cost:,} records (page sizes multiplied through nested "
                            f"connections); at most {self.max_cost:,} are allowed per request: ask for smaller pages "
                            f"(first/last) or fewer nested connections", cost=cost)]
