"""What a query asks for under the field being resolved: `totalCount`, `sum { amount }`, ...

Read from the query document (fragments included), so a resolver computes only what is asked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, Node
from strawberry.types import Info


def fields_of(node: Node, fragments: Mapping[str, FragmentDefinitionNode],
              seen: frozenset[str] = frozenset()) -> Iterator[tuple[FieldNode, frozenset[str]]]:
    """The fields selected directly under `node`, looking through fragments, each with the
    fragments already entered on its path (a fragment is entered once per path; unknown ones
    are skipped: validation reports them)."""
    selection_set = getattr(node, "selection_set", None)
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection, seen
        elif isinstance(selection, InlineFragmentNode):
            yield from fields_of(selection, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:
                yield from fields_of(fragments[name], fragments, seen | {name})


def _fields(node: Node, info: Info) -> Iterator[FieldNode]:
    return (field for field, _ in fields_of(node, info._raw_info.fragments))


def asks_for(info: Info, name: str) -> bool:
    """Whether the current field's selection includes `name` (at its first level)."""
    return any(f.name.value == name for node in info._raw_info.field_nodes for f in _fields(node, info))


def subfields(info: Info, name: str) -> set[str]:
    """The names selected inside `name` of the current field: `sum { amount health }` -> both."""
    found: set[str] = set()
    for node in info._raw_info.field_nodes:
        for field in _fields(node, info):
            if field.name.value == name:
                found |= {f.name.value for f in _fields(field, info)}
    return found


def selected_at(info: Info, path: tuple[str, ...]) -> set[str]:
    """The names selected at `path` under the current field: ("edges", "node") of a connection
    gives the fields asked of each record."""
    level: list[Node] = list(info._raw_info.field_nodes)
    for name in path:
        level = [f for node in level for f in _fields(node, info) if f.name.value == name]
    return {f.name.value for node in level for f in _fields(node, info)}
