"""Strawberry types made at run time: the small kit the schema builder uses.

Strawberry is built for classes written in source code; a tenant's types exist only in its
metadata. `TypeMaker` creates them as classes with string annotations resolved in one shared
namespace (so types may refer to each other in any order), fields with explicit GraphQL names,
and resolvers with explicit arguments. Input types get a `from_input` hook that turns the value
graphql-core coerced straight into plain data for the records service, with no intermediate
objects.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import strawberry
from strawberry.annotation import StrawberryAnnotation
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import get_object_definition
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver
from strawberry.types.unset import UNSET

Resolver = Callable[..., Any]
Translator = Callable[[Any], Any]

_P = inspect.Parameter
_SIGNATURE = inspect.Signature([_P("root", _P.POSITIONAL_OR_KEYWORD),
                                _P("info", _P.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info)])


@dataclasses.dataclass(frozen=True)
class Arg:
    """An argument: its Python name (what the resolver receives), GraphQL name and annotation."""

    python_name: str
    graphql_name: str
    annotation: str
    description: str | None = None


def _resolver(function: Resolver) -> StrawberryResolver[Any]:
    """A resolver called as `function(root, info, **arguments)`; its GraphQL arguments are set
    on the field, not read from the signature."""
    if inspect.iscoroutinefunction(function):
        async def call_async(root: Any, info: Any, **arguments: Any) -> Any:
            return await function(root, info, **arguments)
        return _named(call_async, function)

    def call(root: Any, info: Any, **arguments: Any) -> Any:
        return function(root, info, **arguments)
    return _named(call, function)


def _named(call: Resolver, function: Resolver) -> StrawberryResolver[Any]:
    # strawberry reads the root and info parameters through inspect.signature(), which honours __signature__
    call.__signature__ = _SIGNATURE  # type: ignore[attr-defined]  # typeshed declares no __signature__
    call.__name__ = getattr(function, "__name__", "resolve")
    return StrawberryResolver(call)


class TypeMaker:
    """Creates the types of one schema; every annotation is resolved in `self.namespace`."""

    def __init__(self, namespace: Mapping[str, Any]):
        self.namespace: dict[str, Any] = dict(namespace)

    def annotation(self, text: str) -> StrawberryAnnotation:
        return StrawberryAnnotation(text, namespace=self.namespace)

    # -- fields --------------------------------------------------------------------------------

    def field(self, python_name: str, graphql_name: str, annotation: str, *, resolver: Resolver | None = None,
              args: Iterable[Arg] = (), description: str | None = None) -> StrawberryField:
        """An output field; without a resolver, the schema's default resolver reads
        `python_name` from the row dict."""
        field = StrawberryField(
            python_name=python_name, graphql_name=graphql_name, type_annotation=self.annotation(annotation),
            base_resolver=_resolver(resolver) if resolver else None, description=description,
            default=dataclasses.MISSING if resolver else None)
        arguments = [StrawberryArgument(python_name=a.python_name, graphql_name=a.graphql_name,
                                        type_annotation=self.annotation(a.annotation), default=UNSET,
                                        description=a.description) for a in args]
        if arguments:
            field.arguments = arguments
        return field

    def input_field(self, graphql_name: str, annotation: str, description: str | None = None) -> StrawberryField:
        """An input field that is simply absent when the client leaves it out (no default)."""
        return StrawberryField(python_name=_python(graphql_name), graphql_name=graphql_name,
                               type_annotation=self.annotation(annotation), default=UNSET, description=description)

    # -- types ---------------------------------------------------------------------------------

    def object_type(self, name: str, fields: Iterable[StrawberryField], description: str | None = None) -> type:
        return self._type(name, list(fields), description, is_input=False)

    def input_type(self, name: str, fields: Iterable[StrawberryField], translate: Translator,
                   description: str | None = None) -> type:
        """An input type whose value reaches resolvers as `translate(raw)`; `raw` is keyed by
        GraphQL names, holds only what the client sent, and nested inputs are raw too."""
        cls = self._type(name, list(fields), description, is_input=True)
        get_object_definition(cls, strict=True).from_input = lambda _cls, value, _context: translate(value)
        return cls

    def _type(self, name: str, fields: list[StrawberryField], description: str | None, is_input: bool) -> type:
        annotations = {f.python_name: _annotation(f) for f in fields}
        body: dict[str, object] = {f.python_name: f for f in fields}
        body["__annotations__"] = annotations
        cls = types.new_class(name, (), {}, lambda ns: ns.update(body))
        cls = strawberry.type(cls, name=name, is_input=is_input, description=description)
        # strawberry.type re-reads annotations without our namespace; point them back at it
        for field in get_object_definition(cls, strict=True).fields:
            field.type_annotation = StrawberryAnnotation(annotations[field.python_name], namespace=self.namespace)
        self.namespace[name] = cls
        return cls

    def enum(self, name: str, values: Iterable[str], description: str | None = None) -> type[enum.Enum]:
        """An enum whose GraphQL value names are `values` (valid GraphQL names); resolvers and
        translators see members whose `.value` is that name."""
        members = {f"v{i}": value for i, value in enumerate(values)}
        # Enum's functional API; mypy only reads it with a literal name, and this name is data
        made: type[enum.Enum] = enum.Enum(name, members)  # type: ignore[misc]  # name is not a literal
        cls = strawberry.enum(made, name=name, description=description, graphql_name_from="value")
        self.namespace[name] = cls
        return cls


def _annotation(field: StrawberryField) -> object:
    """The annotation of a field made by `TypeMaker.field` / `input_field` (they all have one):
    its text, or the type strawberry already evaluated it to."""
    if field.type_annotation is None:
        raise TypeError(f"field {field.python_name!r} was not made by TypeMaker: it has no annotation")
    return field.type_annotation.annotation


def _python(graphql_name: str) -> str:
    """A Python attribute name for a GraphQL input field name (`_and` is fine; `in` is not)."""
    return graphql_name if graphql_name.isidentifier() and not graphql_name.startswith("__") else f"f_{graphql_name}"
