"""What a query asks for: under the field being resolved (`totalCount`, `sum { amount }`, ...),
so a resolver computes only what is asked; and over a whole document (`SelectionFold`), for the
limits checked before execution.

Read from the query document, fragments included.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode, Node
from strawberry.types import Info

K = TypeVar("K", bound=Hashable)


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


class SelectionFold(Generic[K]):
    """A number computed over a document: each field gives one (`field`), the fields of a
    selection are combined (`combine`: a sum unless overridden), fragments looked through.

    A named fragment is computed once per `key` and reused: walking it at every spread instead
    is exponential (a fragment spreading the next one twice, twenty deep, is a million walks
    from a query of a few hundred characters). `key` is what the value depends on besides the
    selection (e.g. the parent type); `narrow` changes it at a fragment's type condition."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]):
        self.fragments = fragments
        self._computed: dict[tuple[str, K], int] = {}

    def field(self, node: FieldNode, key: K) -> int:
        raise NotImplementedError

    def combine(self, values: Iterable[int]) -> int:
        return sum(values)

    def narrow(self, fragment: InlineFragmentNode | FragmentDefinitionNode, key: K) -> K:
        return key

    def selection(self, node: Node, key: K) -> int:
        """The combined value of the selections directly under `node`."""
        return self.combine(self._values(node, key))

    def _values(self, node: Node, key: K) -> Iterator[int]:
        selection_set = getattr(node, "selection_set", None)
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield self.field(selection, key)
            elif isinstance(selection, InlineFragmentNode):
                yield self.selection(selection, self.narrow(selection, key))
            elif isinstance(selection, FragmentSpreadNode):
                yield self._fragment(selection.name.value, key)

    def _fragment(self, name: str, key: K) -> int:
        fragment = self.fragments.get(name)
        if fragment is None:
            return 0  # unknown: validation reports it
        inner = self.narrow(fragment, key)
        if (name, inner) not in self._computed:
            self._computed[(name, inner)] = 0  # a cycle (validation refuses it) adds nothing
            self._computed[(name, inner)] = self.selection(fragment, inner)
        return self._computed[(name, inner)]
