"""Objects checked against the whole set: what one definition cannot be judged by alone.

Lookups must point at objects, reverse names must not collide, expressions must name real fields
(through lookups too), roll-ups must count real children through a lookup back to the parent,
formulas must not read each other in a circle, a formula that reads the clock cannot be indexed,
and an `x-plural` must not take another object's name. Only sound parts are judged
(`trellis.metadata.object_checks`); an object too broken to check is still a name that exists.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from trellis.metadata.definitions import DATE_TYPES, NUMBER_TYPES, FieldType
from trellis.metadata.errors import Parts, coded
from trellis.metadata.expressions import ExpressionError, analyse, check
from trellis.metadata.graphs import find_cycles
from trellis.metadata.kind import ItemProblem, Problem, SetView
from trellis.metadata.object_checks import ObjectView, sound_objects
from trellis.metadata.objects import live_formulas
from trellis.metadata.suggestions import suggest
from trellis.metadata.wording import article


def check_objects(view: SetView) -> Iterator[ItemProblem]:
    """Every problem of the set's objects that needs other documents to be judged."""
    objects = sound_objects(view)
    yield from _plural_problems(objects)
    references = _References(objects, view.all_names("object"))
    for obj in objects.values():
        for parts, message in references.problems(obj):
            yield obj.name, parts, message


def _plural_problems(objects: Mapping[str, ObjectView]) -> Iterator[ItemProblem]:
    """An x-plural names the list query of an object: it must not collide with another name."""
    plurals: dict[str, str] = {}
    for name, obj in objects.items():
        plural = obj.top("x-plural")
        if plural is None:
            continue
        if plural == name:
            yield name, ("x-plural",), f"x-plural '{plural}' must differ from the object name"
        elif plural in objects:
            yield name, ("x-plural",), f"x-plural '{plural}' is the name of another object"
        elif plural in plurals:
            yield name, ("x-plural",), f"x-plural '{plural}' is also the plural of '{plurals[plural]}'"
        plurals.setdefault(plural, name)


class _References:
    """The checks of one object that read other objects of the set."""

    def __init__(self, objects: Mapping[str, ObjectView], all_names: Sequence[str]):
        self.objects = objects
        self.all_names = all_names  # every object in the set, even one too broken to check
        self.reverse_users: dict[tuple[str, str], list[str]] = {}  # (target, reverse) -> ["obj.field"]
        for obj in objects.values():
            for field_name, schema in obj.sound.items():
                if "x-reverse" in schema:
                    key = (schema["x-ref"], schema["x-reverse"])
                    self.reverse_users.setdefault(key, []).append(f"{obj.name}.{field_name}")

    def problems(self, obj: ObjectView) -> Iterator[Problem]:
        formulas = _formula_reads(obj)
        yield from self.lookups(obj)
        yield from self.expressions(obj)
        yield from _formula_cycles(formulas)
        yield from _live_indexes(obj, formulas)
        for field_name, schema in obj.sound.items():
            if "x-rollup" in schema:
                yield from self.rollup(obj, field_name, schema["x-rollup"])

    def lookups_of(self, obj: ObjectView) -> dict[str, Mapping[str, FieldType]]:
        """Each lookup of `obj` whose target can be checked, mapped to the target's fields."""
        return {
            f: self.objects[schema["x-ref"]].expression_fields
            for f, schema in obj.sound.items()
            if schema.get("x-ref") in self.objects
        }

    def known_objects(self, name: str) -> str:
        listed = ", ".join(sorted(self.all_names)[:20]) or "none"
        return f" (objects: {listed}){suggest(name, self.all_names)}"

    def lookups(self, obj: ObjectView) -> Iterator[Problem]:
        for field_name, schema in obj.sound.items():
            target, reverse = schema.get("x-ref"), schema.get("x-reverse")
            if target is None:
                continue  # not a lookup (an x-reverse without x-ref fails the meta-schema)
            if target not in self.all_names:
                message = f"the lookup points to '{target}', which is not an object"
                yield ("properties", field_name, "x-ref"), message + self.known_objects(target)
            elif reverse is not None and target in self.objects:
                yield from self.reverse(obj, field_name, target, reverse)

    def reverse(self, obj: ObjectView, field_name: str, target: str, reverse: str) -> Iterator[Problem]:
        parts = ("properties", field_name, "x-reverse")
        if reverse in self.objects[target].properties:
            yield parts, f"x-reverse '{reverse}' clashes with the field '{reverse}' of '{target}'"
        for user in self.reverse_users[(target, reverse)]:
            if user != f"{obj.name}.{field_name}":
                yield parts, f"x-reverse '{reverse}' on '{target}' is also used by {user}"

    def expressions(self, obj: ObjectView) -> Iterator[Problem]:
        lookups = self.lookups_of(obj)
        for parts, source in _expression_sites(obj):
            for problem in check(source, obj.expression_fields, lookups):
                yield parts, problem

    def rollup(self, obj: ObjectView, field_name: str, rollup: Mapping[str, Any]) -> Iterator[Problem]:
        parts: Parts = ("properties", field_name, "x-rollup")
        child_name = rollup["object"]
        if child_name not in self.all_names:
            message = f"x-rollup object '{child_name}' does not exist"
            yield (*parts, "object"), message + self.known_objects(child_name)
            return
        child = self.objects.get(child_name)
        if child is None:
            return  # too broken to check; reported in its own file
        problem = _via_problem(child, rollup["via"], obj.name)
        if problem:
            yield (*parts, "via"), problem
        function = rollup["function"]
        if "field" in rollup:
            own = obj.type_of(field_name)
            if own in DATE_TYPES:  # a date min/max summarises fields of its own type (checked per document)
                fits, need = frozenset({own}), f"a {own.value} rollup needs a {own.value} field"
            else:
                fits, need = NUMBER_TYPES, f"{function} into a number needs a number field"
            yield from _child_field((*parts, "field"), child, rollup["field"], fits, need)
        elif function != "count":
            yield parts, f"x-rollup with function {function} needs a field"
        if "window" in rollup:
            need = "a window needs a date field"
            yield from _child_field((*parts, "window", "field"), child, rollup["window"]["field"], DATE_TYPES, need)
        if "filter" in rollup:
            for problem in check(rollup["filter"], child.expression_fields, self.lookups_of(child)):
                yield (*parts, "filter"), problem


def _via_problem(child: ObjectView, via: str, parent: str) -> str | None:
    """A rollup counts children through a lookup on the child that points to the parent."""
    schema = child.sound.get(via)
    if via not in child.properties:
        return f"x-rollup via '{via}' is not a field of '{child.name}'{suggest(via, child.properties)}"
    if schema is None:
        return None  # broken; reported in its own file
    if "x-ref" not in schema:
        return f"x-rollup via '{via}' is not a lookup on '{child.name}' (it has no x-ref)"
    if schema["x-ref"] != parent:
        return f"x-rollup via '{via}' points to '{schema['x-ref']}', not to '{parent}'"
    return None


def _child_field(parts: Parts, child: ObjectView, name: str, fits: frozenset[FieldType], need: str) -> Iterator[Problem]:
    """A field a rollup reads on its child object: it exists and has a type that fits."""
    field_type = child.type_of(name)
    if name not in child.expression_fields:
        yield parts, f"'{name}' is not a field of '{child.name}'{suggest(name, child.expression_fields)}"
    elif field_type is not None and field_type not in fits:
        yield parts, f"'{name}' on '{child.name}' is {article(field_type.value)} field; {need}"


def _expression_sites(obj: ObjectView) -> Iterator[tuple[Parts, str]]:
    """Every formula and rule condition of an object, with its path."""
    for field_name, schema in obj.sound.items():
        if "x-formula" in schema:
            yield ("properties", field_name, "x-formula"), schema["x-formula"]
    for parts, rule in obj.rules():
        yield (*parts, "condition"), rule["condition"]


def _formula_reads(obj: ObjectView) -> dict[str, frozenset[str]]:
    """Each formula field that parses, with the fields of its object it reads."""
    reads: dict[str, frozenset[str]] = {}
    for field_name, schema in obj.sound.items():
        if "x-formula" in schema:
            try:
                analysis = analyse(schema["x-formula"])
            except ExpressionError:
                continue  # reported by `expressions`
            reads[field_name] = analysis.names | {base for base, _ in analysis.attributes}
    return reads


def _formula_cycles(formulas: Mapping[str, frozenset[str]]) -> Iterator[Problem]:
    graph = {f: sorted(reads & formulas.keys()) for f, reads in formulas.items()}
    for cycle in find_cycles(graph):
        path = " -> ".join(cycle)
        yield ("properties", cycle[0], "x-formula"), coded("expr.cycle", f"formula cycle: {path}", cycle=path)


def _live_indexes(obj: ObjectView, formulas: Mapping[str, frozenset[str]]) -> Iterator[Problem]:
    """A formula that reads the clock has no column, so nothing can index it."""
    live = live_formulas({f: obj.sound[f] for f in formulas})
    reason = "reads the clock (today() or now()), so it is computed on read and has no column to index"
    for field_name in sorted(live):
        for keyword in ("x-index", "x-unique"):
            if obj.sound[field_name].get(keyword):
                yield ("properties", field_name, keyword), f"'{field_name}' {reason}"
    for keyword in ("x-index", "x-unique"):
        for group_index, group in enumerate(obj.top(keyword, ())):
            for index, item in enumerate(group):
                if item in live:
                    yield (keyword, group_index, index), f"'{item}' {reason}"
