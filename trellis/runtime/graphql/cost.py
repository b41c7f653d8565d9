"""What a query may cost, in records, estimated from its document before anything runs.

Depth, alias and token limits do not bound work: `accounts(first: 100) { nodes { contracts(first:
100) { nodes { account { contracts(first: 100) ... } } } } }` is shallow and short, and asks for
a million records. GitHub's and Shopify's GraphQL APIs bound the work instead: the page sizes a
query requests, multiplied through its nested connections. This module does the same; `Limits`
(limits.py) refuses a query whose estimate is over the installation's limit
(`TRELLIS_GRAPHQL_MAX_COST`), before execution.

The estimate counts the records (and other objects) the response may hold:

* a **connection** (`contracts(first: n)`, a reverse relation such as `account { contracts }`,
  `notifications`) costs `n` and multiplies everything selected of its records by `n`. `n` is
  `first` or `last` as sent (a literal or a variable, the variable's default when it is not
  sent), else the argument's default, else the default page (50); at most `MAX_PAGE`, since a
  larger page is refused anyway. `pageInfo`, cursors and `totalCount` are free.
* an object reached once (`contract(id)`, `me`, a lookup such as `account`, `owner`) costs 1
  and multiplies by 1.
* an **aggregate** (`contractsAggregate`) costs 1, or `MAX_PAGE` with `groupBy` — like one full
  page: it is one grouped query, its groups are capped by the query compiler, and nothing can
  be nested in them.
* a **batch mutation** (`createContracts(inputs)`, `updateContracts(items)`,
  `deleteContracts(ids)`) costs one per item (at most `MAX_BATCH`, the most it accepts) and
  multiplies what is selected of the records it returns by that count.
* other lists (`myTasks`, `rulePreview`, the metadata API's `history`) cost 1: they are the
  caller's own rows or the tenant's releases, not pages of records, and no connection is
  nested in them.
* introspection (`__schema`, `__type`, `__typename`) is free: its size is the schema's.

Named fragments are estimated once each and reused, so the estimate takes time linear in the
document, however often a fragment is spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeGuard

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_composite_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.utilities import get_operation_ast

from trellis.runtime.graphql.selection import SelectionFold
from trellis.runtime.query.listing import DEFAULT_PAGE

# Where the walk is: among a record's fields, a connection's (`nodes`, `edges`, `pageInfo`) or an edge's.
RECORD, PAGE, EDGE = "record", "page", "edge"
Key = tuple[str, str]  # (where, parent type name)


class _Arguments:
    """The values of a field's arguments as this request sends them (variables resolved)."""

    def __init__(self, operation: OperationDefinitionNode, variables: Mapping[str, Any] | None):
        defaults = {d.variable.name.value: value_from_ast_untyped(d.default_value)
                    for d in operation.variable_definitions or () if d.default_value is not None}
        self.variables = {**defaults, **(variables or {})}

    def value(self, node: FieldNode, name: str) -> Any:
        """The argument's value, or None when it is not sent (or its variable is not)."""
        for argument in node.arguments or ():
            if argument.name.value == name:
                value = value_from_ast_untyped(argument.value, self.variables)
                return None if value is Undefined else value
        return None


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_connection(definition: GraphQLField, target: GraphQLNamedType) -> bool:
    return ("first" in definition.args or "last" in definition.args) and \
        isinstance(target, GraphQLObjectType) and "pageInfo" in target.fields


class _Estimate(SelectionFold[Key]):
    def __init__(self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode],
                 arguments: _Arguments, max_page: int, max_batch: int):
        super().__init__(fragments)
        self.schema = schema
        self.arguments = arguments
        self.max_page = max_page
        self.max_batch = max_batch

    def narrow(self, fragment: InlineFragmentNode | FragmentDefinitionNode, key: Key) -> Key:
        condition = fragment.type_condition
        return (key[0], condition.name.value) if condition else key

    def field(self, node: FieldNode, key: Key) -> int:
        where, parent_name = key
        name = node.name.value
        parent = self.schema.get_type(parent_name)
        definition = parent.fields.get(name) if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) \
            else None
        if definition is None or name.startswith("__"):
            return 0  # introspection; or not in the schema, which validation reports
        target = get_named_type(definition.type)
        if where == PAGE:  # a connection's own fields: its records are under nodes and edges
            inner = RECORD if name == "nodes" else EDGE if name == "edges" else None
            return self.selection(node, (inner, target.name)) if inner else 0
        if where == EDGE:
            return self.selection(node, (RECORD, target.name)) if name == "node" else 0
        if not is_composite_type(target):
            return 0  # a scalar or an enum
        if _is_connection(definition, target):
            size = self._page_size(node, definition)
            return size + size * self.selection(node, (PAGE, target.name))
        if "groupBy" in definition.args:
            return self.max_page if self.arguments.value(node, "groupBy") else 1
        count = self._items(node, definition)
        return count + count * self.selection(node, (RECORD, target.name))

    def _page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        sizes = [v for v in (self.arguments.value(node, "first"), self.arguments.value(node, "last")) if _whole(v)]
        if not sizes:
            default = definition.args["first"].default_value if "first" in definition.args else None
            sizes = [default if _whole(default) else DEFAULT_PAGE]
        return min(max(*sizes, 0), self.max_page)

    def _items(self, node: FieldNode, definition: GraphQLField) -> int:
        """How many records a field returns that is not a page: the items of a batch mutation
        (a list returned for a list sent), else one."""
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        for name, argument in definition.args.items():
            if is_list_type(get_nullable_type(argument.type)):
                value = self.arguments.value(node, name)
                return min(len(value), self.max_batch) if isinstance(value, list) else 1
        return 1


def estimate(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
             variables: Mapping[str, Any] | None, max_page: int, max_batch: int) -> int:
    """The records the operation to run may return (see the module's rules); 0 when there is no
    such operation (the execution reports that)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = {OperationType.QUERY: schema.query_type, OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type}[operation.operation]
    if root is None:
        return 0
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walk = _Estimate(schema, fragments, _Arguments(operation, variables), max_page, max_batch)
    return walk.selection(operation, (RECORD, root.name))
