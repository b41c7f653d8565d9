"""Input types: filters, sorts, grouping and record values, and their translation.

Every input reaches the resolvers already in the records service's terms: snake_case field
names, `{"end_date": "ASC"}` sorts, the filter grammar of `trellis.runtime.query.filters`. The
translation happens in one place, the `from_input` hook of each input type (see `maker`), from
tables built once per schema:

    {endDate: {_gte: "2026-01-01"}, account: {tier: {_eq: "战略"}}, accountId: {_in: [..]}}
    -> {"end_date": {"_gte": date(2026, 1, 1)}, "account": {"tier": {"_eq": "战略"}}, "_and": [...]}
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

from trellis.metadata.model import FieldDef, FieldType, ObjectDef, localized
from trellis.runtime.graphql.maker import Translator, TypeMaker
from trellis.runtime.graphql.names import NameTable, camel, is_enum_value
from trellis.runtime.graphql.scalars import INT32
from trellis.runtime.query.aggregates import BUCKETS, GroupBy
from trellis.runtime.query.filters import OPERATORS
from trellis.runtime.query.ordering import DIRECTIONS, UNSORTABLE
from trellis.runtime.registry import Registry

#: GraphQL scalar annotation of each field type (as resolved in the maker's namespace).
SCALARS: Mapping[FieldType, str] = {
    FieldType.STRING: "str", FieldType.TEXT: "str", FieldType.EMAIL: "str", FieldType.PHONE: "str",
    FieldType.URL: "str", FieldType.INTEGER: "int", FieldType.NUMBER: "float", FieldType.CURRENCY: "Decimal",
    FieldType.PERCENT: "Decimal", FieldType.BOOLEAN: "bool", FieldType.DATE: "Date", FieldType.DATETIME: "DateTime",
    FieldType.LOOKUP: "ID",
}
def scalar_of(field: FieldDef) -> str:
    """The scalar of a field's values: an integer whose bounds (`minimum`/`maximum`) do not keep it
    within 32 bits is a `BigInt`, since GraphQL's `Int` cannot carry it (a count is an `Int`)."""
    if field.type is not FieldType.INTEGER:
        return SCALARS[field.type]
    if field.rollup is not None and field.rollup.get("function") == "count":
        return "int"  # a count of records
    low, high = field.schema.get("minimum"), field.schema.get("maximum")
    fits = low is not None and high is not None and INT32[0] <= low and high <= INT32[1]
    return "int" if fits else "BigInt"


#: The shared filter input of each field type, and the scalar its operands have.
FILTERS: Mapping[str, tuple[FieldType, str]] = {
    "StringFilter": (FieldType.STRING, "str"), "IntFilter": (FieldType.INTEGER, "int"),
    "BigIntFilter": (FieldType.INTEGER, "BigInt"),
    "FloatFilter": (FieldType.NUMBER, "float"), "DecimalFilter": (FieldType.CURRENCY, "Decimal"),
    "DateFilter": (FieldType.DATE, "Date"), "DateTimeFilter": (FieldType.DATETIME, "DateTime"),
    "BooleanFilter": (FieldType.BOOLEAN, "bool"), "IDFilter": (FieldType.LOOKUP, "ID"),
    "ChoiceFilter": (FieldType.ENUM, "str"), "MultiChoiceFilter": (FieldType.MULTI_ENUM, "str"),
}
_FILTER_OF: Mapping[FieldType, str] = {
    FieldType.STRING: "StringFilter", FieldType.TEXT: "StringFilter", FieldType.EMAIL: "StringFilter",
    FieldType.PHONE: "StringFilter", FieldType.URL: "StringFilter", FieldType.INTEGER: "IntFilter",
    FieldType.NUMBER: "FloatFilter", FieldType.CURRENCY: "DecimalFilter", FieldType.PERCENT: "DecimalFilter",
    FieldType.DATE: "DateFilter", FieldType.DATETIME: "DateTimeFilter", FieldType.BOOLEAN: "BooleanFilter",
    FieldType.LOOKUP: "IDFilter", FieldType.ENUM: "ChoiceFilter", FieldType.MULTI_ENUM: "MultiChoiceFilter",
}
#: Standard fields in the API: (service name, API name, filter, scalar).
STANDARD = (("id", "id", "IDFilter", "ID"), ("created_at", "createdAt", "DateTimeFilter", "DateTime"),
            ("updated_at", "updatedAt", "DateTimeFilter", "DateTime"), ("version", "version", "IntFilter", "int"),
            ("owner_id", "ownerId", "IDFilter", "ID"), ("created_by", "createdBy", "IDFilter", "str"))
_OPERATOR_DOCS = {
    "_eq": "equals", "_neq": "differs from (blanks included)", "_gt": "greater than", "_gte": "at least",
    "_lt": "less than", "_lte": "at most", "_in": "one of", "_nin": "none of (blanks included)",
    "_is_null": "true: blank; false: not blank", "_like": "matches a pattern (% any text, _ one character)",
    "_ilike": "matches a pattern, ignoring case", "_contains": "holds all of these choices",
}
_LIST_OPERATORS = {"_in", "_nin", "_contains"}
_FILTER_DOCS = {False: "Conditions on one value; all must hold.", True: "Conditions on the choices a multi-select holds."}
_ORDER = ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null", "_like", "_ilike", "_contains")


def plain(value: Any) -> Any:
    """An input value as data: enum members become their value, lists item by item."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _operators(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {op: plain(value) for op, value in raw.items()}


def api_field_name(field: FieldDef) -> str:
    """A field's name where the API sends its stored value: lookups as `<name>Id`."""
    return camel(field.name) + ("Id" if field.type is FieldType.LOOKUP else "")


def custom_names(obj: ObjectDef) -> set[str]:
    """The API names an object's own fields take (a lookup takes two)."""
    return {camel(f.name) for f in obj.fields.values()} | {api_field_name(f) for f in obj.fields.values()}


def standard(obj: ObjectDef) -> list[tuple[str, str, str, str]]:
    """The standard fields as `STANDARD` lists them, less those whose API name one of the
    object's own fields takes (a field `owner` wins over the standard `owner`): names the admin
    chose are never hidden by the platform's."""
    taken = custom_names(obj)
    return [entry for entry in STANDARD if entry[1] not in taken]


def groupable(field: FieldDef) -> bool:
    return field.type is not FieldType.MULTI_ENUM


def numeric(field: FieldDef) -> bool:
    return field.type in (FieldType.INTEGER, FieldType.NUMBER, FieldType.CURRENCY, FieldType.PERCENT)


class Inputs:
    """Builds the input types of one schema and knows how to translate each."""

    def __init__(self, maker: TypeMaker, names: NameTable, registry: Registry):
        self.maker = maker
        self.names = names
        self.registry = registry
        self.translators: dict[str, Translator] = {}
        self._shared()

    def translate(self, type_name: str) -> Translator:
        """The translator of a type, looked up when called (types refer to each other)."""
        return lambda raw: self.translators[type_name](raw)

    # -- enums ---------------------------------------------------------------------------------

    def choice_annotation(self, obj: ObjectDef, field: FieldDef) -> str:
        """The annotation of one choice of an enum field: a GraphQL enum when every value can
        be an enum value name, else a string the records service validates."""
        if not field.choices or not all(is_enum_value(c) for c in field.choices):
            return "str"
        name = self.names.enum(obj.name, field.name)
        if name not in self.maker.namespace:
            self.maker.enum(name, field.choices, description=f"The choices of {obj.name}.{field.name}.")
        return name

    def field_filter(self, obj: ObjectDef, field: FieldDef) -> str:
        """The filter input of a field; an enum's own filter is made with the first field that needs it."""
        choice = self.choice_annotation(obj, field) if field.type in (FieldType.ENUM, FieldType.MULTI_ENUM) else "str"
        if choice == "str":
            big = field.type is FieldType.INTEGER and scalar_of(field) == "BigInt"
            return "BigIntFilter" if big else _FILTER_OF[field.type]
        many = field.type is FieldType.MULTI_ENUM
        name = f"{choice}ListFilter" if many else f"{choice}Filter"
        if name not in self.maker.namespace:
            self._filter(name, OPERATORS[field.type], choice, _FILTER_DOCS[many])
        return name

    # -- shared inputs -------------------------------------------------------------------------

    def _shared(self) -> None:
        self.maker.enum("OrderDirection", DIRECTIONS, description=(
            "ASC puts blanks last and DESC puts them first, unless a _NULLS_ direction says otherwise."))
        self.maker.enum("DateBucket", [b.upper() for b in BUCKETS],
                        description="Groups dates by the period that holds them, in the tenant's time zone; "
                                    "weeks start on Monday.")
        for name, (field_type, scalar) in FILTERS.items():
            many = field_type is FieldType.MULTI_ENUM
            self._filter(name, OPERATORS[field_type], scalar, _FILTER_DOCS[many])

    def _filter(self, name: str, operators: frozenset[str], scalar: str, description: str) -> None:
        fields = []
        for op in (o for o in _ORDER if o in operators):
            annotation = "bool" if op == "_is_null" else "str" if op in ("_like", "_ilike") else scalar
            if op in _LIST_OPERATORS:
                annotation = f"list[{annotation}]"
            fields.append(self.maker.input_field(op, f"{annotation} | None", _OPERATOR_DOCS[op]))
        self.maker.input_type(name, fields, _operators, description)
        self.translators[name] = _operators

    # -- per object ----------------------------------------------------------------------------

    def build(self, obj: ObjectDef) -> None:
        self._where(obj)
        self._relation(obj)
        self._order_by(obj)
        self._values(obj, "CreateInput", "The values of a new record; leave a field out for its default.")
        self._values(obj, "UpdateInput", "The fields to change; a field left out keeps its value, null clears it.")
        self._update_item(obj)
        self._group_by(obj)

    def _where(self, obj: ObjectDef) -> None:
        names = self.names.objects[obj.name]
        where = names.of("Where")
        fields = [self.maker.input_field("_and", f"list[{where}] | None", "every condition holds"),
                  self.maker.input_field("_or", f"list[{where}] | None", "at least one condition holds"),
                  self.maker.input_field("_not", f"{where} | None", "the condition does not hold")]
        table: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        for service, api, filter_name, _ in standard(obj):
            fields.append(self.maker.input_field(api, f"{filter_name} | None"))
            table[api] = (service, _operators)
        for field in obj.fields.values():
            if field.type is FieldType.LOOKUP and field.ref in self.names.objects:
                target = self.names.objects[field.ref].of("Where")
                fields.append(self.maker.input_field(camel(field.name), f"{target} | None",
                                                     f"conditions on the {field.ref} this record points to"))
                table[camel(field.name)] = (field.name, self.translate(target))
                fields.append(self.maker.input_field(api_field_name(field), "IDFilter | None"))
                table[api_field_name(field)] = (field.name, _operators)
                continue
            fields.append(self.maker.input_field(camel(field.name), f"{self.field_filter(obj, field)} | None"))
            table[camel(field.name)] = (field.name, _operators)
        taken = {f.graphql_name for f in fields}
        for reverse, (child, _via) in self.registry.compiled[obj.name].reverse.items():
            if camel(reverse) in taken or child not in self.names.objects:
                continue
            relation = self.names.objects[child].of("RelationFilter")
            fields.append(self.maker.input_field(camel(reverse), f"{relation} | None",
                                                 f"conditions on the {child} records that point to this one"))
            table[camel(reverse)] = (reverse, self.translate(relation))
        translate_where = self.translate(where)

        def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            extra: list[dict[str, Any]] = []
            for key, value in raw.items():
                if value is None:
                    continue  # an explicit null condition means "no condition"
                if key in ("_and", "_or"):
                    part: Any = [translate_where(v) for v in value if v is not None]
                    service = key
                elif key == "_not":
                    part, service = translate_where(value), key
                else:
                    service, convert = table[key]
                    part = convert(value)
                if service in out:  # `account: {...}` next to `accountId: {...}`: both must hold
                    extra.append({service: part})
                else:
                    out[service] = part
            if extra:
                out["_and"] = [*out.get("_and", []), *extra]
            return out

        self.maker.input_type(where, fields, translate, f"Conditions on {obj.name} records; all must hold.")
        self.translators[where] = translate

    def _relation(self, obj: ObjectDef) -> None:
        names = self.names.objects[obj.name]
        where = self.translate(names.of("Where"))

        def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
            return {k: where(v) for k, v in raw.items() if v is not None}

        self.maker.input_type(names.of("RelationFilter"), [
            self.maker.input_field("_some", f"{names.of('Where')} | None", "at least one record matches"),
            self.maker.input_field("_none", f"{names.of('Where')} | None", "no record matches"),
        ], translate, f"Conditions on the {obj.name} records of a relation.")
        self.translators[names.of("RelationFilter")] = translate

    def _order_by(self, obj: ObjectDef) -> None:
        names = self.names.objects[obj.name]
        fields = []
        table: dict[str, str] = {}
        for service, api, _, _ in standard(obj):
            fields.append(self.maker.input_field(api, "OrderDirection | None"))
            table[api] = service
        for field in obj.fields.values():
            if field.type in UNSORTABLE:
                continue
            fields.append(self.maker.input_field(api_field_name(field), "OrderDirection | None"))
            table[api_field_name(field)] = field.name

        def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
            return {table[k]: plain(v) for k, v in raw.items() if v is not None}

        self.maker.input_type(names.of("OrderBy"), fields, translate,
                              "One field and its direction; list several for ties. The id always ends the order.")
        self.translators[names.of("OrderBy")] = translate

    def value_fields(self, obj: ObjectDef) -> list[tuple[FieldDef, str]]:
        """The fields a client may set, with their annotations (all optional: the records service
        reports what is missing, with every other problem, in one error)."""
        out = []
        for field in obj.fields.values():
            if field.computed:
                continue
            if field.type is FieldType.ENUM:
                annotation = self.choice_annotation(obj, field)
            elif field.type is FieldType.MULTI_ENUM:
                annotation = f"list[{self.choice_annotation(obj, field)}]"
            else:
                annotation = scalar_of(field)
            out.append((field, annotation))
        return out

    def renames(self, obj: ObjectDef) -> dict[str, str]:
        """Service field names whose API names are not just camelCase (for problem paths)."""
        return {"owner_id": "ownerId"} | {f.name: api_field_name(f) for f in obj.fields.values()
                                          if f.type is FieldType.LOOKUP}

    def _values(self, obj: ObjectDef, suffix: str, description: str) -> None:
        names = self.names.objects[obj.name]
        fields = []
        table: dict[str, str] = {}
        for field, annotation in self.value_fields(obj):
            notes = [describe(field.label) or ""]
            if field.required and "default" not in field.schema:
                notes.append("Required.")
            fields.append(self.maker.input_field(api_field_name(field), f"{annotation} | None",
                                                 " ".join(n for n in notes if n) or None))
            table[api_field_name(field)] = field.name
        if "ownerId" not in table:
            fields.append(self.maker.input_field("ownerId", "ID | None", "the owning user (handover)"))
            table["ownerId"] = "owner_id"

        def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
            return {table[k]: plain(v) for k, v in raw.items()}

        self.maker.input_type(names.of(suffix), fields, translate, description)
        self.translators[names.of(suffix)] = translate

    def _update_item(self, obj: ObjectDef) -> None:
        names = self.names.objects[obj.name]
        values = self.translate(names.of("UpdateInput"))

        def translate(raw: Mapping[str, Any]) -> dict[str, Any]:
            return {"id": raw["id"], "input": values(raw["input"]), "expected_version": raw.get("expectedVersion")}

        self.maker.input_type(names.of("UpdateItem"), [
            self.maker.input_field("id", "ID"),
            self.maker.input_field("input", names.of("UpdateInput")),
            self.maker.input_field("expectedVersion", "int | None", "refuse with CONFLICT unless the record still "
                                                                    "has this version"),
        ], translate, "One record of a batch update.")
        self.translators[names.of("UpdateItem")] = translate

    def _group_by(self, obj: ObjectDef) -> None:
        names = self.names.objects[obj.name]
        fields = {api: service for service, api, _, _ in standard(obj) if service not in ("id", "version")}
        fields |= {api_field_name(f): f.name for f in obj.fields.values() if groupable(f)}
        self.maker.enum(names.of("GroupField"), fields, description=f"The fields {obj.name} records group by.")

        def translate(raw: Mapping[str, Any]) -> GroupBy:
            bucket = plain(raw.get("bucket"))
            return GroupBy(fields[plain(raw["field"])], bucket.lower() if bucket else None)

        self.maker.input_type(names.of("GroupBy"), [
            self.maker.input_field("field", names.of("GroupField")),
            self.maker.input_field("bucket", "DateBucket | None", "for a date or date-time field: group by period"),
        ], translate, "One grouping: a field, and for dates the period.")
        self.translators[names.of("GroupBy")] = translate


def describe(labels: Mapping[str, str], extra: str = "") -> str | None:
    """A description from `x-label`: `Amount (合同金额)`."""
    english = localized(labels, "en", "") or None
    chinese = labels.get("zh-CN")
    text = " ".join(t for t in (english, f"({chinese})" if chinese and chinese != english else "") if t)
    return " ".join(t for t in (text, extra) if t) or None

