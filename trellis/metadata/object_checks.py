"""One `object` document beyond its meta-schema: what a single definition must satisfy on its own.

Field types and the keywords that fit them, `x-kind`, defaults that are valid values, field and
reverse-relation names, fields the API would spell alike, `required`/`x-index`/`x-unique` naming
real fields and rule names used once. The result, an `ObjectView`, keeps only the parts that
passed, so the checks across the set (`trellis.metadata.object_references`, roles, workflow
rules) judge sound parts and one mistake gives one error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from trellis.metadata import names
from trellis.metadata.definitions import DATE_TYPES, NUMBER_TYPES, FieldType
from trellis.metadata.errors import Parts, json_path
from trellis.metadata.kind import Report, SetView
from trellis.metadata.objects import classify, english_plural, json_type
from trellis.metadata.suggestions import suggest
from trellis.metadata.wording import article, sentence

_TEXTUAL = frozenset(
    {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.URL, FieldType.ENUM}
)

#: Keywords that mean something only for some field types.
_KEYWORD_FITS: Mapping[str, frozenset[FieldType]] = MappingProxyType({
    "minimum": NUMBER_TYPES,
    "maximum": NUMBER_TYPES,
    "exclusiveMinimum": NUMBER_TYPES,
    "exclusiveMaximum": NUMBER_TYPES,
    "multipleOf": NUMBER_TYPES,
    "minLength": _TEXTUAL,
    "maxLength": _TEXTUAL,
    "pattern": _TEXTUAL,
    "format": DATE_TYPES | {FieldType.EMAIL, FieldType.URL},
    "enum": frozenset({FieldType.ENUM}),
    "x-renamed-choices": frozenset({FieldType.ENUM}),
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


@dataclass
class ObjectView:
    """One object document after its own checks: what the checks across the set may rely on."""

    name: str
    document: Mapping[str, Any]
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


def sound_objects(view: SetView) -> Mapping[str, ObjectView]:
    """The objects of a set that other kinds may check against (those with usable properties)."""
    return view.sound("object")


def check_object(name: str, document: Mapping[str, Any], broken: Sequence[Parts], report: Report) -> ObjectView | None:
    """The checks of one object document after its meta-schema; None when it has no usable
    `properties`, since every later check is about fields."""
    broken_fields: set[str] = set()
    broken_keys: set[str] = set()
    for parts in broken:
        if len(parts) >= 2 and parts[0] == "properties":
            broken_fields.add(str(parts[1]))
        elif parts:
            broken_keys.add(str(parts[0]))
    if "properties" in broken_keys or not isinstance(document.get("properties"), dict):
        return None
    properties: dict[str, Mapping[str, Any]] = {
        k: v if isinstance(v, dict) else {} for k, v in document["properties"].items()
    }
    obj = ObjectView(name, document, properties, frozenset(broken_keys))
    _check_api_names(obj, report)
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
    _check_field_lists(obj, report)
    _check_rule_names(obj, report)
    return obj


def _check_api_names(obj: ObjectView, report: Report) -> None:
    """The GraphQL names the object generates must leave the platform's own alone."""
    problem = names.platform_type_clash(obj.name)
    if problem:
        report.add((), problem)
    plural = obj.top("x-plural")
    problem = names.platform_query_clash(obj.name, plural if isinstance(plural, str) else english_plural(obj.name))
    if problem:
        report.add(("x-plural",) if isinstance(plural, str) else (), problem)


def _check_field(parts: Parts, schema: Mapping[str, Any], report: Report) -> FieldType | None:
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
    if "x-renamed-choices" in schema and field_type is FieldType.ENUM:
        _check_renamed_choices((*parts, "x-renamed-choices"), schema, report)
    if "x-rollup" in schema:
        _check_rollup_type(parts, schema["x-rollup"], field_type, report)
    if "x-reverse" in schema:
        problem = names.check_field_name(schema["x-reverse"])
        if problem:
            report.add((*parts, "x-reverse"), f"x-reverse names a relation on the target: {problem}")
    return field_type


def _check_renamed_choices(parts: Parts, schema: Mapping[str, Any], report: Report) -> None:
    """Each new choice is one of the field's, and the one it replaces is gone from them (else
    records holding it would have two homes); no old choice is claimed twice."""
    choices = schema["enum"]
    claimed: dict[str, str] = {}
    for new, old in schema["x-renamed-choices"].items():
        if new not in choices:
            report.add((*parts, new), f"'{new}' is not a choice of this field{suggest(new, [c for c in choices if c])}")
        elif old in choices:
            report.add((*parts, new), f"'{old}' is still a choice of this field; remove it from enum to rename it "
                                      f"to '{new}'")
        elif old in claimed:
            report.add((*parts, new), f"'{old}' is already renamed to '{claimed[old]}'")
        claimed.setdefault(old, new)


def _check_rollup_type(parts: Parts, rollup: Mapping[str, Any], field_type: FieldType, report: Report) -> None:
    """A count, sum or average is a number; a minimum or maximum may also be a date or date-time
    (the earliest contract end, the latest ticket); whether the summarised field fits is checked
    against the child object (object_references)."""
    function = rollup.get("function")
    if field_type in DATE_TYPES:
        if function not in ("min", "max"):
            message = (f"a {field_type.value} rollup takes the min or max of a {field_type.value} field; "
                       f"{function} gives a number (use an integer, number, currency or percent field)")
            report.add((*parts, "x-rollup", "function"), message)
    elif field_type not in NUMBER_TYPES:
        message = ("a rollup field must be an integer, number, currency or percent (or a date or date-time "
                   f"for min/max); this one is {field_type.value}")
        report.add((*parts, "type"), message)


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


def _check_default(parts: Parts, schema: Mapping[str, Any], report: Report) -> None:
    """The default must itself be a valid value of the field."""
    plain = {k: v for k, v in schema.items() if not k.startswith("x-") and k not in _ANNOTATIONS}
    validator = Draft202012Validator(plain, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for error in validator.iter_errors(schema["default"]):
        message = f"the default is not a valid value of this field: {sentence(error)}"
        report.add((*parts, "default", *error.absolute_path), message)


def _check_field_lists(obj: ObjectView, report: Report) -> None:
    """`required`, `x-index` and `x-unique` may only name fields of the object."""
    for index, item in enumerate(obj.top("required", ())):
        computed = next((k for k in ("x-formula", "x-rollup") if k in obj.properties.get(item, {})), None)
        if item not in obj.properties:
            report.add(("required", index), _not_a_field("required", item, obj))
        elif computed:
            report.add(("required", index), f"'{item}' is computed ({computed}), so it cannot be required")
    for keyword in ("x-index", "x-unique"):
        for group_index, group in enumerate(obj.top(keyword, ())):
            for index, item in enumerate(group):
                if item not in obj.properties:
                    report.add((keyword, group_index, index), _not_a_field(keyword, item, obj))


def _not_a_field(keyword: str, item: str, obj: ObjectView) -> str:
    return f"{keyword} names '{item}', which is not a field{suggest(item, obj.properties)}"


def _check_rule_names(obj: ObjectView, report: Report) -> None:
    first_seen: dict[str, Parts] = {}
    for parts, rule in obj.rules():
        earlier = first_seen.setdefault(rule["name"], parts)
        if earlier != parts:
            message = f"a rule named '{rule['name']}' already exists at {json_path(earlier)}"
            report.add((*parts, "name"), message)
