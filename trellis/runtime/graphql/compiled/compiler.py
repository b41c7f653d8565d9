"""From a validated operation to a `Plan`, for the read shapes the compiled path knows.

Fields are collected by graphql-core's own `collect_fields`/`collect_subfields` (aliases,
fragments, type conditions, `@skip`/`@include` with the request's variables, fields merged by
response key), so a plan selects exactly what graphql-core would. What a field means is read
from the schema Strawberry built: a plain field (no resolver) reads the row dict under its
Python name, as the schema's default resolver does; the lookup, owner and root resolvers are
recognised by the names the schema builder gives them (`<field>__object`, `owner__user`, the
`NameTable` of the release). Anything else raises `Unsupported`: graphql-core answers it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    OperationDefinitionNode,
    VariableNode,
    get_named_type,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from graphql.language import Visitor
from strawberry.types.field import StrawberryField

from trellis.metadata.model import FieldType
from trellis.runtime.graphql.compiled.leaves import leaf_coercion
from trellis.runtime.graphql.compiled.plan import (
    Constant,
    Cursor,
    Edges,
    Leaf,
    Lookup,
    Node,
    Nodes,
    Owner,
    PageInfo,
    PageInfoField,
    Plan,
    RecordField,
    Records,
    Root,
    TotalCount,
)
from trellis.runtime.graphql.names import NameTable
from trellis.runtime.registry import Registry

BACKREF = "strawberry-definition"  # where Strawberry keeps its field on each graphql-core field
PAGE_ARGUMENTS = frozenset({"where", "orderBy", "first", "after", "last", "before"})
PAGE_INFO = {"hasNextPage": "has_next", "hasPreviousPage": "has_previous", "startCursor": "start_cursor",
             "endCursor": "end_cursor"}


class Unsupported(Exception):  # noqa: N818 - a verdict on a query, not a failure
    """The compiler does not handle this operation: graphql-core answers it."""


@dataclass(frozen=True)
class ReadIndex:
    """The root fields and record types of one release's schema, by GraphQL name."""

    roots: Mapping[str, tuple[str, str]]  # field -> ("one" | "many", object)
    types: Mapping[str, str]  # record type -> object
    connections: Mapping[str, str]  # connection type -> object

    @classmethod
    def of(cls, registry: Registry) -> ReadIndex:
        names = NameTable(dict(registry.objects)).objects
        roots = {n.one: ("one", o) for o, n in names.items()} | {n.many: ("many", o) for o, n in names.items()}
        return cls(roots, {n.type: o for o, n in names.items()}, {n.of("Connection"): o for o, n in names.items()})


def directive_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables any `@skip`/`@include` of the document reads: a plan depends on their values."""
    found: set[str] = set()

    class Directives(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: object) -> None:
            if node.name.value in ("skip", "include"):
                for argument in node.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found.add(argument.value.name.value)

    visit(document, Directives())
    return tuple(sorted(found))


def _definition(field: GraphQLField) -> StrawberryField:
    definition = (field.extensions or {}).get(BACKREF)
    if not isinstance(definition, StrawberryField):
        raise Unsupported("a field Strawberry did not make")
    return definition


def _object(kind: GraphQLOutputType, expected: str | None = None, nullable: bool | None = None) -> GraphQLObjectType:
    """The object type of a field of type `kind`, checking its name and whether it may be null."""
    if nullable is not None and isinstance(kind, GraphQLNonNull) == nullable:
        raise Unsupported("an unexpected nullability")
    named = get_named_type(kind)
    if not isinstance(named, GraphQLObjectType) or (expected is not None and named.name != expected):
        raise Unsupported("an unexpected type")
    return named


class Compiler:
    """Compiles one operation of a validated document against one release's schema."""

    def __init__(self, schema: object, registry: Registry, index: ReadIndex,
                 fragments: dict[str, FragmentDetails], operation: OperationDefinitionNode,
                 variables: VariableValues):
        self.schema = schema  # the graphql-core schema
        self.registry = registry
        self.index = index
        self.fragments = fragments
        self.operation = operation
        self.variables = variables
        if any(f.variable_signatures for f in fragments.values()):
            raise Unsupported("fragment variables")

    def plan(self) -> Plan:
        query = getattr(self.schema, "query_type", None)
        if not isinstance(query, GraphQLObjectType):
            raise Unsupported("no query type")
        collected = self._checked(collect_fields(self.schema, self.fragments, self.variables,  # type: ignore[arg-type]
                                                 query, self.operation))
        fields: list[Constant | Root] = []
        for key, details in collected.items():
            name = details[0].node.name.value
            if name == "__typename":
                fields.append(Constant(key, query.name))
            elif name in self.index.roots and name in query.fields:
                fields.append(self._root(key, *self.index.roots[name], query.fields[name], details))
            else:
                raise Unsupported(f"the root field {name}")
        return Plan.of(self.registry.tenant, self.registry.release, tuple(fields))

    # -- collection ----------------------------------------------------------------------------

    @staticmethod
    def _checked(collected: CollectedFields) -> dict[str, FieldDetailsList]:
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unsupported("@defer")
        for details in collected.grouped_field_set.values():
            if any(d.defer_usage is not None or d.fragment_variable_values is not None for d in details):
                raise Unsupported("@defer or fragment variables")
        return collected.grouped_field_set

    def _sub(self, kind: GraphQLObjectType, details: FieldDetailsList) -> Iterable[tuple[str, str, FieldDetailsList]]:
        """(response key, field name, details) of the fields selected under `details`."""
        collected = self._checked(collect_subfields(self.schema, self.fragments, self.variables,  # type: ignore[arg-type]
                                                    self.operation, kind, details))
        return [(key, d[0].node.name.value, d) for key, d in collected.items()]

    # -- roots ---------------------------------------------------------------------------------

    def _root(self, key: str, kind: str, object_name: str, field: GraphQLField, details: FieldDetailsList) -> Root:
        arguments = tuple(_definition(field).arguments)
        node = details[0].node
        if kind == "one":
            if set(field.args) != {"id"}:
                raise Unsupported("unexpected arguments")
            record_type = _object(field.type, nullable=True)
            if self.index.types.get(record_type.name) != object_name:
                raise Unsupported("an unexpected record type")
            return Root(key, kind, object_name, field, node, arguments, record=self._records(object_name, record_type, details))
        if set(field.args) != PAGE_ARGUMENTS:
            raise Unsupported("unexpected arguments")
        connection_type = _object(field.type, nullable=False)
        if self.index.connections.get(connection_type.name) != object_name:
            raise Unsupported("an unexpected connection type")
        connection = tuple(self._connection(object_name, connection_type, details))
        return Root(key, kind, object_name, field, node, arguments, connection=connection,
                    with_total=any(isinstance(f, TotalCount) for f in connection))

    def _connection(self, object_name: str, kind: GraphQLObjectType,
                    details: FieldDetailsList) -> Iterable[Constant | Edges | Nodes | PageInfo | TotalCount]:
        for key, name, sub in self._sub(kind, details):
            field = kind.fields.get(name)
            if name == "__typename":
                yield Constant(key, kind.name)
            elif field is None:
                raise Unsupported(name)
            elif name == "nodes":
                yield Nodes(key, self._records(object_name, _list_items(field.type), sub))
            elif name == "edges":
                yield Edges(key, tuple(self._edge(object_name, _list_items(field.type), sub)))
            elif name == "pageInfo":
                yield PageInfo(key, tuple(self._page_info(_object(field.type, "PageInfo", nullable=False), sub)))
            elif name == "totalCount":
                yield TotalCount(key)
            else:
                raise Unsupported(f"the connection field {name}")

    def _edge(self, object_name: str, kind: GraphQLObjectType,
              details: FieldDetailsList) -> Iterable[Constant | Cursor | Node]:
        for key, name, sub in self._sub(kind, details):
            field = kind.fields.get(name)
            if name == "__typename":
                yield Constant(key, kind.name)
            elif field is not None and name == "cursor":
                yield Cursor(key)
            elif field is not None and name == "node":
                yield Node(key, self._records(object_name, _object(field.type, nullable=False), sub))
            else:
                raise Unsupported(f"the edge field {name}")

    def _page_info(self, kind: GraphQLObjectType, details: FieldDetailsList) -> Iterable[Constant | PageInfoField]:
        for key, name, _ in self._sub(kind, details):
            if name == "__typename":
                yield Constant(key, kind.name)
            elif name in PAGE_INFO and name in kind.fields:
                yield PageInfoField(key, PAGE_INFO[name])
            else:
                raise Unsupported(f"the page info field {name}")

    # -- records -------------------------------------------------------------------------------

    def _records(self, object_name: str, kind: GraphQLObjectType, details: FieldDetailsList) -> Records:
        if self.index.types.get(kind.name) != object_name:
            raise Unsupported("an unexpected record type")
        definition = self.registry.objects[object_name]
        fields: list[RecordField] = []
        for key, name, sub in self._sub(kind, details):
            if name == "__typename":
                fields.append(Constant(key, kind.name))
                continue
            field = kind.fields.get(name)
            if field is None:
                raise Unsupported(name)
            python = _definition(field).python_name
            if _definition(field).base_resolver is None:
                fields.append(_leaf(key, python, field.type))
            elif python == "owner__user":
                user = _object(field.type, "User", nullable=True)
                fields.append(Owner(key, tuple(self._plain(user, sub))))
            elif python.endswith("__object") and python[:-len("__object")] in definition.fields:
                lookup = definition.fields[python[:-len("__object")]]
                target = _object(field.type, nullable=True)
                if lookup.type is not FieldType.LOOKUP or lookup.ref is None or \
                        self.index.types.get(target.name) != lookup.ref:
                    raise Unsupported(f"the relation {name}")
                fields.append(Lookup(key, lookup.name, lookup.ref, self._records(lookup.ref, target, sub)))
            else:
                raise Unsupported(f"the field {name}")
        return Records(object_name, tuple(fields))

    def _plain(self, kind: GraphQLObjectType, details: FieldDetailsList) -> Iterable[Constant | Leaf]:
        """Fields of a non-record object read from its dict (the `User` an owner is)."""
        for key, name, _ in self._sub(kind, details):
            field = kind.fields.get(name)
            if name == "__typename":
                yield Constant(key, kind.name)
            elif field is not None and _definition(field).base_resolver is None:
                yield _leaf(key, _definition(field).python_name, field.type)
            else:
                raise Unsupported(f"the field {name}")


def _leaf(key: str, source: str, kind: GraphQLOutputType) -> Leaf:
    """A scalar or enum field, or a list of them whose items are never null."""
    nullable = not isinstance(kind, GraphQLNonNull)
    inner: Any = kind.of_type if isinstance(kind, GraphQLNonNull) else kind
    many = isinstance(inner, GraphQLList)
    if many:
        if not isinstance(inner.of_type, GraphQLNonNull):
            raise Unsupported("a list of nullable values")
        inner = inner.of_type.of_type
    if not is_leaf_type(inner):
        raise Unsupported("an object without a resolver")
    return Leaf(key, source, leaf_coercion(inner), nullable, many)


def _list_items(kind: GraphQLOutputType) -> GraphQLObjectType:
    """The object type of a `[T!]!` field (a connection's edges or nodes)."""
    if not isinstance(kind, GraphQLNonNull) or not isinstance(kind.of_type, GraphQLList) or \
            not isinstance(kind.of_type.of_type, GraphQLNonNull):
        raise Unsupported("an unexpected list type")
    return _object(kind.of_type.of_type)

