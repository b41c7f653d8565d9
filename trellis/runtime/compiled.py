"""What the runtime needs per object, compiled once per release (never per request).

`CompiledObject` gathers the object's table, its reusable validator, its formulas parsed and
ordered by dependency, its validation rules, the reverse relations other objects point at it
with, and the roll-ups it owns or feeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import Table

from trellis.metadata.model import FieldDef, ObjectDef, localized
from trellis.runtime.expressions import CompiledExpression, compile_expression
from trellis.runtime.values.fastcheck import RecordCheck, compile_check


@dataclass(frozen=True)
class CompiledRule:
    """An `x-rules` entry: the record is valid only while `condition` is true."""

    name: str
    condition: CompiledExpression
    message: Mapping[str, str]
    field: str | None = None  # a rule written on a field: its problem is that field's

    def text(self, locale: str) -> str:
        return localized(self.message, locale, next(iter(self.message.values()), f"rule {self.name} is not met"))


@dataclass(frozen=True)
class RollupDef:
    """`parent.field` summarises the `child` rows whose lookup `via` points at the parent."""

    parent: str
    field: FieldDef
    child: str
    via: str
    function: str
    child_field: str | None
    filter: CompiledExpression | None
    window_field: str | None
    window_days: int | None


@dataclass(frozen=True)
class CompiledObject:
    name: str
    definition: ObjectDef
    table: Table
    validator: Draft202012Validator
    quick_check: RecordCheck | None  # a fast yes/no before `validator` (see values.fastcheck)
    formulas: Mapping[str, CompiledExpression]
    stored_order: tuple[str, ...]  # stored formulas, each after the formulas it reads
    live_order: tuple[str, ...]  # live formulas, likewise
    rules: tuple[CompiledRule, ...]
    reverse: Mapping[str, tuple[str, str]]  # reverse name -> (child object, child's lookup field)
    rollups: tuple[RollupDef, ...]  # roll-up fields of this object
    feeds: tuple[RollupDef, ...]  # roll-ups of other objects that rows of this object feed


def _message(value: Any) -> Mapping[str, str]:
    return {"*": value} if isinstance(value, str) else dict(value or {})


def _formula_order(obj: ObjectDef, formulas: Mapping[str, CompiledExpression], live: bool) -> tuple[str, ...]:
    chosen = {name for name in formulas if obj.fields[name].live is live}
    graph = {name: (formulas[name].names & set(formulas)) for name in chosen}
    return tuple(name for name in TopologicalSorter(graph).static_order() if name in chosen)


def _reverse_names(objects: Mapping[str, ObjectDef]) -> dict[str, dict[str, tuple[str, str]]]:
    """Reverse relation names: `x-reverse`, else the child's plural (suffixed `_by_<field>` when
    one child points at the same parent through several lookups)."""
    incoming: dict[str, list[tuple[str, FieldDef]]] = {name: [] for name in objects}
    for child in objects.values():
        for field in child.fields.values():
            if field.ref in incoming:
                incoming[field.ref].append((child.name, field))
    result: dict[str, dict[str, tuple[str, str]]] = {}
    for parent, links in incoming.items():
        names: dict[str, tuple[str, str]] = {}
        for child_name, field in links:
            several = sum(1 for c, _ in links if c == child_name) > 1
            plural = objects[child_name].plural
            name = field.reverse or (f"{plural}_by_{field.name}" if several else plural)
            names[name] = (child_name, field.name)
        result[parent] = names
    return result


def rollup_def(parent: str, field: FieldDef) -> RollupDef:
    """The compiled form of the roll-up field `parent.field`."""
    assert field.rollup is not None
    spec, window = field.rollup, field.rollup.get("window") or {}
    return RollupDef(parent=parent, field=field, child=spec["object"], via=spec["via"], function=spec["function"],
                     child_field=spec.get("field"),
                     filter=compile_expression(spec["filter"]) if spec.get("filter") else None,
                     window_field=window.get("field"), window_days=window.get("days"))


def compile_objects(objects: Mapping[str, ObjectDef], tables: Mapping[str, Table]) -> dict[str, CompiledObject]:
    reverse = _reverse_names(objects)
    rollups: dict[str, list[RollupDef]] = {name: [] for name in objects}
    for obj in objects.values():
        rollups[obj.name] += [rollup_def(obj.name, field) for field in obj.fields.values() if field.rollup]
    compiled = {}
    for name, obj in objects.items():
        formulas = {f.name: compile_expression(f.formula) for f in obj.fields.values() if f.formula}
        rules = tuple(CompiledRule(r["name"], compile_expression(r["condition"]), _message(r.get("message")), field)
                      for r, field in [(r, None) for r in obj.schema.get("x-rules", ())] + [
                          (rule, f.name) for f in obj.fields.values() for rule in f.schema.get("x-rules", ())])
        compiled[name] = CompiledObject(
            name=name,
            definition=obj,
            table=tables[name],
            # check_schema ran when the release was validated; one validator is built here and
            # reused for every record (never jsonschema.validate() per call).
            validator=Draft202012Validator(obj.schema, format_checker=Draft202012Validator.FORMAT_CHECKER),
            quick_check=compile_check(obj),
            formulas=MappingProxyType(formulas),
            stored_order=_formula_order(obj, formulas, live=False),
            live_order=_formula_order(obj, formulas, live=True),
            rules=rules,
            reverse=MappingProxyType(reverse[name]),
            rollups=tuple(rollups[name]),
            feeds=tuple(r for rs in rollups.values() for r in rs if r.child == name),
        )
    return compiled
