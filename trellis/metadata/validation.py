"""Validation of a whole metadata set, reporting every error with its file and JSON path.

Three passes: each document against its kind's meta-schema (JSON Schema 2020-12), then the
rules of one document JSON Schema cannot say (field types, defaults, names, field groups), then
references across documents (lookups, reverse names, expressions, formula cycles, rollups; the
objects and fields a role names, see `trellis.metadata.roles`).
A part that failed an earlier pass is skipped by the later ones, so one mistake gives one error,
not a cascade.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata import names
from trellis.metadata.errors import MetadataError, Parts, json_path
from trellis.metadata.expressions import ExpressionError, analyse, check
from trellis.metadata.graphs import find_cycles
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.model import KIND_FOLDERS, FieldType, ItemKey, MetadataSet
from trellis.metadata.objects import classify, json_type, live_formulas
from trellis.metadata.roles import check_grants, check_role_name, grants_of
from trellis.metadata.suggestions import suggest
from trellis.metadata.wording import article, sentence, translate
from trellis.metadata.workflow_rules import ObjectFields, check_rule

MAX_DEPTH = 64  # nesting levels of a document; real definitions need fewer than ten
TOO_DEEP = f"the document is nested more than {MAX_DEPTH} levels deep; the limit is {MAX_DEPTH}"



META_VALIDATORS: Mapping[str, Draft202012Validator] = MappingProxyType(
    {kind: meta_validator(kind) for kind in KIND_FOLDERS})

#: How the name of an item of each kind is checked (None: the name is fine).
_NAME_CHECKS: Mapping[str, Callable[[str], str | None]] = MappingProxyType({
    "object": names.check_object_name,
    "role": check_role_name,
    "workflow_rule": lambda name: names.check_object_name(name, "workflow rule"),
})

_NUMERIC = frozenset({FieldType.INTEGER, FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT})
_TEXTUAL = frozenset(
    {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL, FieldType.ENUM}
)
_DATES = frozenset({FieldType.DATE, FieldType.DATETIME})

#: Keywords that mean something only for some field types.
_KEYWORD_FITS: Mapping[str, frozenset[FieldType]] = MappingProxyType({
    "minimum": _NUMERIC,
    "maximum": _NUMERIC,
    "exclusiveMinimum": _NUMERIC,
    "exclusiveMaximum": _NUMERIC,
    "multipleOf": _NUMERIC,
    "minLength": _TEXTUAL,
    "maxLength": _TEXTUAL,
    "pattern": _TEXTUAL,
    "format": _DATES | {FieldType.EMAIL, FieldType.URL},
    "enum": frozenset({FieldType.ENUM}),
    "items": frozenset({FieldType.MULTI_ENUM}),
    "uniqueItems": frozenset({FieldType.MULTI_ENUM}),
    "x-scale": frozenset({FieldType.CURRENCY, FieldType.PERCENT}),
})

#: x-kind -> (the JSON type it needs, the one `format` it tolerates).
_KIND_NEEDS: Mapping[str, tuple[str, str | None]] = MappingProxyType({
    "textarea": ("string", None),
    "phone": ("string", None),
    "email": ("string", "email"),
    "url": ("string", "uri"),
    "currency": ("number", None),
    "percent": ("number", None),
})

#: Keywords that do not constrain a value, left out when a default is checked against its field.
_ANNOTATIONS = frozenset({"default", "title", "description", "readOnly", "$comment"})


def source_file(key: ItemKey) -> str:
    """Where an item lives in a folder: `objects/contract.json`."""
    kind, name = key
    return f"{KIND_FOLDERS.get(kind, kind)}/{name}.json"


def validate_set(
    metadata: MetadataSet,
    sources: Mapping[ItemKey, str] | None = None,
    *,
    unreadable: Collection[ItemKey] = (),
) -> list[MetadataError]:
    """Every error in the set, sorted; an empty list means the set may be published.

    `sources` names the file of each item (default `objects/<name>.json`). `unreadable` are items
    that exist but could not be read (already reported): references to them are not errors.
    """
    errors: list[MetadataError] = []
    objects: dict[str, _Object] = {}
    roles: list[tuple[Mapping[str, Mapping[str, Any]], _Report]] = []  # sound grants of each role
    rules: list[tuple[Mapping[str, Any], _Report]] = []  # workflow rules that passed their meta-schema
    names_of = {kind: metadata.names(kind) + [n for k, n in unreadable if k == kind] for kind in KIND_FOLDERS}
    for key, document in metadata.items():
        kind, name = key
        report = _Report((sources or {}).get(key, source_file(key)), errors)
        if kind not in META_VALIDATORS:
            report.add((), f"unknown kind '{kind}'; known: {', '.join(sorted(META_VALIDATORS))}")
            continue
        _check_item_name(name, names_of[kind], _NAME_CHECKS[kind], report)
        problems = json_problems(document)
        for parts, message in problems:
            report.add(parts, message)
        if problems:
            continue
        if kind == "object":
            obj = _check_document(name, document, report)
            if obj is not None:
                objects[name] = obj
        elif kind == "role":
            roles.append((_sound_grants(document, report), report))
        elif kind == "workflow_rule" and not _meta_check(kind, document, report):
            rules.append((document, report))
    _check_plurals(objects)
    cross = _CrossChecks(objects, names_of["object"])
    for obj in objects.values():
        cross.check(obj)
    fields_of = {name: obj.properties.keys() for name, obj in objects.items()}
    for grants, report in roles:
        for parts, message in check_grants(grants, names_of["object"], fields_of):
            report.add(parts, message)
    rule_objects = {name: _rule_view(obj) for name, obj in objects.items()}
    for document, report in rules:
        for parts, message in check_rule(document, rule_objects, names_of["object"], names_of["role"]):
            report.add(parts, message)
    return sorted(set(errors))


def _rule_view(obj: _Object) -> ObjectFields:
    """What workflow-rule checks need of an object."""
    computed = {f for f, schema in obj.sound.items() if "x-formula" in schema or "x-rollup" in schema}
    lookups = {f: schema["x-ref"] for f, schema in obj.sound.items() if "x-ref" in schema}
    return ObjectFields(fields=obj.expression_fields, lookups=lookups, computed=frozenset(computed),
                        untyped=frozenset(obj.properties.keys() - obj.types.keys()))


def json_problems(document: Any) -> list[tuple[Parts, str]]:
    """Values that are not plain JSON, or nesting deeper than MAX_DEPTH, found without recursion."""
    problems: list[tuple[Parts, str]] = []
    stack: list[tuple[Any, list[str | int], int]] = [(document, [], 1)]
    while stack:
        value, parts, depth = stack.pop()
        if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
            return [((), TOO_DEEP)]
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append((parts, f"keys must be text; got {key!r}"))
                stack.append((item, parts + [str(key)], depth + 1))
        elif isinstance(value, list):
            stack.extend((item, parts + [index], depth + 1) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append((parts, f"{value} is not a JSON number"))
        elif not isinstance(value, (str, int, float, bool, type(None))):
            problems.append((parts, f"a {type(value).__name__} is not a JSON value"))
    return problems


@dataclass
class _Report:
    """Collects the errors of one file."""

    file: str
    errors: list[MetadataError]

    def add(self, parts: Parts, message: str) -> None:
        self.errors.append(MetadataError(self.file, json_path(parts), message))


@dataclass
class _Object:
    """One object document after the first two passes: what later passes may rely on."""

    name: str
    document: Mapping[str, Any]
    report: _Report
    properties: dict[str, Mapping[str, Any]]  # every property (a malformed one as {})
    broken_keys: frozenset[str]  # top-level keys that failed the meta-schema
    sound: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # properties that passed
    types: dict[str, FieldType] = field(default_factory=dict)  # FieldType of sound properties

    def top(self, key: str, default: Any = None) -> Any:
        """A top-level value that passed the meta-schema, else `default`."""
        return default if key in self.broken_keys else self.document.get(key, default)

    def rules(self) -> Iterator[tuple[Parts, Mapping[str, Any]]]:
        """Every x-rule of the object and of its fields, with its path."""
        for index, rule in enumerate(self.top("x-rules", ())):
            yield ("x-rules", index), rule
        for field_name, schema in self.sound.items():
            for index, rule in enumerate(schema.get("x-rules", ())):
                yield ("properties", field_name, "x-rules", index), rule

    def type_of(self, name: str) -> FieldType | None:
        return self.types.get(name) or names.STANDARD_COLUMNS.get(name)

    @cached_property
    def expression_fields(self) -> Mapping[str, FieldType]:
        """What expressions on this object may name: the standard columns and every property.

        A property whose definition is broken keeps its name (it is reported once, where it is
        broken) with STRING standing in for its unknown type: `check` reads names only.
        """
        fields = dict(names.STANDARD_COLUMNS)
        fields.update({name: self.types.get(name, FieldType.STRING) for name in self.properties})
        return MappingProxyType(fields)


def _check_item_name(name: str, all_names: Sequence[str], check: Callable[[str], str | None],
                     report: _Report) -> None:
    """A valid API name, unique ignoring case among its kind (files on macOS and Windows are)."""
    problem = check(name)
    if problem:
        report.add((), problem)
    twins = [other for other in all_names if other.lower() == name.lower() and other != name]
    if twins:
        report.add((), f"'{name}' and '{twins[0]}' differ only by case; names must be unique ignoring case")


def _check_document(name: str, document: Mapping[str, Any], report: _Report) -> _Object | None:
    """Passes one and two for one object document; None when it has no usable `properties`."""
    broken_fields: set[str] = set()
    broken_keys: set[str] = set()
    for parts in _meta_check("object", document, report):
        if len(parts) >= 2 and parts[0] == "properties":
            broken_fields.add(str(parts[1]))
        elif parts:
            broken_keys.add(str(parts[0]))
    if "properties" in broken_keys or not isinstance(document.get("properties"), dict):
        return None  # every check from here on is about fields
    properties = {k: v if isinstance(v, dict) else {} for k, v in document["properties"].items()}
    obj = _Object(name, document, report, properties, frozenset(broken_keys))
    for field_name, schema in properties.items():
        problem = names.check_field_name(field_name)
        if problem:
            report.add(("properties", field_name), problem)
        if field_name not in broken_fields:
            obj.sound[field_name] = schema
            field_type = _check_field(("properties", field_name), schema, report)
            if field_type is not None:
                obj.types[field_name] = field_type
    lookups = [f for f, schema in obj.sound.items() if "x-ref" in schema]
    for field_name, problem in names.field_clashes(properties, lookups).items():
        report.add(("properties", field_name), problem)
    _check_field_lists(obj)
    _check_rule_names(obj)
    return obj


def _meta_check(kind: str, document: Mapping[str, Any], report: _Report) -> list[list[str | int]]:
    """Pass one: the document against its kind's meta-schema; reports each error and returns
    their paths, so later passes can skip the parts that are broken."""
    paths: list[list[str | int]] = []
    for error in META_VALIDATORS[kind].iter_errors(document):
        paths.append(list(error.absolute_path))
        for where, message in translate(error):
            report.add(where, message)
    return paths


def _sound_grants(document: Mapping[str, Any], report: _Report) -> Mapping[str, Mapping[str, Any]]:
    """Passes one and two for a role document: the per-object grants that passed the meta-schema."""
    broken: set[str] = set()
    for parts in _meta_check("role", document, report):
        if parts == ["objects"]:
            return {}
        if len(parts) >= 2 and parts[0] == "objects":
            broken.add(str(parts[1]))
    return {obj: grant for obj, grant in grants_of(document).items() if obj not in broken}


def _check_field(parts: Parts, schema: Mapping[str, Any], report: _Report) -> FieldType | None:
    """Checks of one property that passed the meta-schema; its FieldType if it has one."""
    field_type = classify(schema)
    if field_type is None:
        report.add((*parts, "type"), f"unsupported field type: {_why_unsupported(schema)}")
        return None
    for keyword in schema:
        fits = _KEYWORD_FITS.get(keyword)
        if fits is not None and field_type not in fits:
            allowed = ", ".join(sorted(t.value for t in fits))
            message = f"{keyword} does not apply to {article(field_type.value)} field (only to {allowed})"
            report.add((*parts, keyword), message)
    if "x-kind" in schema:
        problem = _kind_problem(schema, field_type)
        if problem:
            report.add((*parts, "x-kind"), problem)
    if field_type is FieldType.ENUM and (None in schema["enum"]) != isinstance(schema["type"], list):
        report.add((*parts, "enum"), 'enum must list null exactly when the type allows null (["string", "null"])')
    computed = [k for k in ("x-formula", "x-rollup") if k in schema]
    if len(computed) == 2:
        report.add((*parts, "x-rollup"), "a field is a formula (x-formula) or a rollup (x-rollup), not both")
    if computed and "default" in schema:
        report.add((*parts, "default"), f"a computed field ({computed[0]}) cannot have a default")
    elif "default" in schema:
        _check_default(parts, schema, report)
    if "x-rollup" in schema and field_type not in _NUMERIC:
        message = f"a rollup field must be an integer, number, currency or percent; this one is {field_type.value}"
        report.add((*parts, "type"), message)
    if "x-reverse" in schema:
        problem = names.check_field_name(schema["x-reverse"])
        if problem:
            report.add((*parts, "x-reverse"), f"x-reverse names a relation on the target: {problem}")
    return field_type


def _why_unsupported(schema: Mapping[str, Any]) -> str:
    declared = json_type(schema)
    if "x-ref" in schema:
        return f"a lookup (x-ref) must have type string; got {declared}"
    if declared == "array":
        return 'an array is a multi-select and needs "items": {"type": "string", "enum": [...]}'
    return f"{json.dumps(schema.get('type'))} is not a type a field can have"


def _kind_problem(schema: Mapping[str, Any], field_type: FieldType) -> str | None:
    kind = schema["x-kind"]
    needed_type, tolerated_format = _KIND_NEEDS[kind]
    if field_type is FieldType.LOOKUP:
        return f"x-kind {kind} does not apply to a lookup"
    declared = json_type(schema)
    if declared != needed_type:
        return f"x-kind {kind} needs type {needed_type}; this field is {declared}"
    if "enum" in schema:
        return f"x-kind {kind} does not apply to a picklist (enum)"
    if "format" in schema and schema["format"] != tolerated_format:
        return f"x-kind {kind} does not fit format {schema['format']}"
    return None


def _check_default(parts: Parts, schema: Mapping[str, Any], report: _Report) -> None:
    """The default must itself be a valid value of the field."""
    plain = {k: v for k, v in schema.items() if not k.startswith("x-") and k not in _ANNOTATIONS}
    validator = Draft202012Validator(plain, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(schema["default"]):
        message = f"the default is not a valid value of this field: {sentence(error)}"
        report.add((*parts, "default", *error.absolute_path), message)


def _check_field_lists(obj: _Object) -> None:
    """`required`, `x-index` and `x-unique` may only name fields of the object."""
    for index, item in enumerate(obj.top("required", ())):
        computed = next((k for k in ("x-formula", "x-rollup") if k in obj.properties.get(item, {})), None)
        if item not in obj.properties:
            obj.report.add(("required", index), _not_a_field("required", item, obj))
        elif computed:
            obj.report.add(("required", index), f"'{item}' is computed ({computed}), so it cannot be required")
    for keyword in ("x-index", "x-unique"):
        for group_index, group in enumerate(obj.top(keyword, ())):
            for index, item in enumerate(group):
                if item not in obj.properties:
                    obj.report.add((keyword, group_index, index), _not_a_field(keyword, item, obj))


def _not_a_field(keyword: str, item: str, obj: _Object) -> str:
    return f"{keyword} names '{item}', which is not a field{suggest(item, obj.properties)}"


def _check_rule_names(obj: _Object) -> None:
    first_seen: dict[str, Parts] = {}
    for parts, rule in obj.rules():
        earlier = first_seen.setdefault(rule["name"], parts)
        if earlier != parts:
            message = f"a rule named '{rule['name']}' already exists at {json_path(earlier)}"
            obj.report.add((*parts, "name"), message)


def _check_plurals(objects: Mapping[str, _Object]) -> None:
    """An x-plural names the list query of an object: it must not collide with another name."""
    plurals: dict[str, str] = {}
    for name, obj in objects.items():
        plural = obj.top("x-plural")
        if plural is None:
            continue
        if plural == name:
            obj.report.add(("x-plural",), f"x-plural '{plural}' must differ from the object name")
        elif plural in objects:
            obj.report.add(("x-plural",), f"x-plural '{plural}' is the name of another object")
        elif plural in plurals:
            obj.report.add(("x-plural",), f"x-plural '{plural}' is also the plural of '{plurals[plural]}'")
        plurals.setdefault(plural, name)


class _CrossChecks:
    """Pass three: everything that needs other documents to be judged."""

    def __init__(self, objects: Mapping[str, _Object], all_names: Sequence[str]):
        self.objects = objects
        self.all_names = all_names  # every object in the set, even one too broken to check
        self.reverse_users: dict[tuple[str, str], list[str]] = {}  # (target, reverse) -> ["obj.field"]
        for obj in objects.values():
            for field_name, schema in obj.sound.items():
                if "x-reverse" in schema:
                    key = (schema["x-ref"], schema["x-reverse"])
                    self.reverse_users.setdefault(key, []).append(f"{obj.name}.{field_name}")

    def check(self, obj: _Object) -> None:
        formulas = _formula_reads(obj)
        self.check_lookups(obj)
        self.check_expressions(obj)
        _check_formula_cycles(obj, formulas)
        _check_live_indexes(obj, formulas)
        for field_name, schema in obj.sound.items():
            if "x-rollup" in schema:
                self.check_rollup(obj, ("properties", field_name, "x-rollup"), schema["x-rollup"])

    def lookups_of(self, obj: _Object) -> dict[str, Mapping[str, FieldType]]:
        """Each lookup of `obj` whose target can be checked, mapped to the target's fields."""
        return {
            f: self.objects[schema["x-ref"]].expression_fields
            for f, schema in obj.sound.items()
            if schema.get("x-ref") in self.objects
        }

    def known_objects(self, name: str) -> str:
        listed = ", ".join(sorted(self.all_names)[:20]) or "none"
        return f" (objects: {listed}){suggest(name, self.all_names)}"

    def check_lookups(self, obj: _Object) -> None:
        for field_name, schema in obj.sound.items():
            target, reverse = schema.get("x-ref"), schema.get("x-reverse")
            if target is not None and target not in self.all_names:
                message = f"the lookup points to '{target}', which is not an object"
                obj.report.add(("properties", field_name, "x-ref"), message + self.known_objects(target))
            elif reverse is not None and target in self.objects:
                self.check_reverse(obj, field_name, target, reverse)

    def check_reverse(self, obj: _Object, field_name: str, target: str, reverse: str) -> None:
        parts = ("properties", field_name, "x-reverse")
        if reverse in self.objects[target].properties:
            obj.report.add(parts, f"x-reverse '{reverse}' clashes with the field '{reverse}' of '{target}'")
        for user in self.reverse_users[(target, reverse)]:
            if user != f"{obj.name}.{field_name}":
                obj.report.add(parts, f"x-reverse '{reverse}' on '{target}' is also used by {user}")

    def check_expressions(self, obj: _Object) -> None:
        lookups = self.lookups_of(obj)
        for parts, source in _expression_sites(obj):
            for problem in check(source, obj.expression_fields, lookups):
                obj.report.add(parts, problem)

    def check_rollup(self, obj: _Object, parts: Parts, rollup: Mapping[str, Any]) -> None:
        child_name = rollup["object"]
        if child_name not in self.all_names:
            message = f"x-rollup object '{child_name}' does not exist"
            obj.report.add((*parts, "object"), message + self.known_objects(child_name))
            return
        child = self.objects.get(child_name)
        if child is None:
            return  # too broken to check; reported in its own file
        problem = _via_problem(child, rollup["via"], obj.name)
        if problem:
            obj.report.add((*parts, "via"), problem)
        function = rollup["function"]
        if "field" in rollup:
            need = f"{function} needs a number field"
            _check_child_field(obj, (*parts, "field"), child, rollup["field"], _NUMERIC, need)
        elif function != "count":
            obj.report.add(parts, f"x-rollup with function {function} needs a field")
        if "window" in rollup:
            need = "a window needs a date field"
            _check_child_field(obj, (*parts, "window", "field"), child, rollup["window"]["field"], _DATES, need)
        if "filter" in rollup:
            for problem in check(rollup["filter"], child.expression_fields, self.lookups_of(child)):
                obj.report.add((*parts, "filter"), problem)


def _via_problem(child: _Object, via: str, parent: str) -> str | None:
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


def _check_child_field(
    obj: _Object, parts: Parts, child: _Object, name: str, fits: frozenset[FieldType], need: str
) -> None:
    """A field a rollup reads on its child object: it exists and has a type that fits."""
    field_type = child.type_of(name)
    if name not in child.expression_fields:
        known = child.expression_fields
        obj.report.add(parts, f"'{name}' is not a field of '{child.name}'{suggest(name, known)}")
    elif field_type is not None and field_type not in fits:
        obj.report.add(parts, f"'{name}' on '{child.name}' is {article(field_type.value)} field; {need}")


def _expression_sites(obj: _Object) -> Iterator[tuple[Parts, str]]:
    """Every formula and rule condition of an object, with its path."""
    for field_name, schema in obj.sound.items():
        if "x-formula" in schema:
            yield ("properties", field_name, "x-formula"), schema["x-formula"]
    for parts, rule in obj.rules():
        yield (*parts, "condition"), rule["condition"]


def _formula_reads(obj: _Object) -> dict[str, frozenset[str]]:
    """Each formula field that parses, with the fields of its object it reads."""
    reads: dict[str, frozenset[str]] = {}
    for field_name, schema in obj.sound.items():
        if "x-formula" in schema:
            try:
                analysis = analyse(schema["x-formula"])
            except ExpressionError:
                continue  # reported by check_expressions
            reads[field_name] = analysis.names | {base for base, _ in analysis.attributes}
    return reads


def _check_formula_cycles(obj: _Object, formulas: Mapping[str, frozenset[str]]) -> None:
    graph = {f: sorted(reads & formulas.keys()) for f, reads in formulas.items()}
    for cycle in find_cycles(graph):
        obj.report.add(("properties", cycle[0], "x-formula"), f"formula cycle: {' -> '.join(cycle)}")


def _check_live_indexes(obj: _Object, formulas: Mapping[str, frozenset[str]]) -> None:
    """A formula that reads the clock has no column, so nothing can index it."""
    live = live_formulas({f: obj.sound[f] for f in formulas})
    reason = "reads the clock (today() or now()), so it is computed on read and has no column to index"
    for field_name in sorted(live):
        for keyword in ("x-index", "x-unique"):
            if obj.sound[field_name].get(keyword):
                obj.report.add(("properties", field_name, keyword), f"'{field_name}' {reason}")
    for keyword in ("x-index", "x-unique"):
        for group_index, group in enumerate(obj.top(keyword, ())):
            for index, item in enumerate(group):
                if item in live:
                    obj.report.add((keyword, group_index, index), f"'{item}' {reason}")
