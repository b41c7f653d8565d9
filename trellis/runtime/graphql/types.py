"""Output types: one per object (plain fields read from the row dict; relations through
DataLoaders), Relay connections, aggregate groups, and the platform's own `User`, `PageInfo`
and `DeletedRecord`."""

from __future__ import annotations

from collections.abc import Callable

from strawberry.types.field import StrawberryField

from trellis.metadata.model import FieldDef, FieldType, ObjectDef
from trellis.runtime.graphql import resolvers
from trellis.runtime.graphql.inputs import (
    Inputs,
    api_field_name,
    custom_names,
    describe,
    groupable,
    numeric,
    scalar_of,
    standard,
)
from trellis.runtime.graphql.maker import Arg, TypeMaker
from trellis.runtime.graphql.names import NameTable, ObjectNames, camel
from trellis.runtime.query.columns import STANDARD_FIELDS
from trellis.runtime.registry import Registry


def page_args(names: ObjectNames) -> list[Arg]:
    return [
        Arg("where", "where", f"{names.of('Where')} | None"),
        Arg("order_by", "orderBy", f"list[{names.of('OrderBy')}] | None"),
        Arg("first", "first", "int | None", "at most this many records from the start (or after `after`)"),
        Arg("after", "after", "str | None", "a cursor: the records after it"),
        Arg("last", "last", "int | None", "at most this many records from the end (or before `before`)"),
        Arg("before", "before", "str | None", "a cursor: the records before it"),
    ]


class Outputs:
    def __init__(self, maker: TypeMaker, names: NameTable, inputs: Inputs, registry: Registry,
                 record_fields: Callable[[ObjectDef], list[StrawberryField]] = lambda obj: []):
        """`record_fields`: the platform's fields on every record type (a record's approval
        requests), after the object's own (a field of the same name wins)."""
        self.maker = maker
        self.names = names
        self.inputs = inputs
        self.registry = registry
        self.record_fields = record_fields
        self._shared()

    def _shared(self) -> None:
        f = self.maker.field
        self.maker.object_type("User", [f("id", "id", "ID"), f("email", "email", "str"), f("name", "name", "str")],
                               "A user of this tenant.")
        self.maker.object_type("PageInfo", [
            f("has_next_page", "hasNextPage", "bool"), f("has_previous_page", "hasPreviousPage", "bool"),
            f("start_cursor", "startCursor", "str | None"), f("end_cursor", "endCursor", "str | None"),
        ], "Where a page sits in the whole list.")
        self.maker.object_type("DeletedRecord", [f("id", "id", "ID")], "A record that was deleted (restorable).")

    def value_annotation(self, obj: ObjectDef, field: FieldDef) -> str:
        if field.type is FieldType.ENUM:
            return self.inputs.choice_annotation(obj, field)
        if field.type is FieldType.MULTI_ENUM:
            return f"list[{self.inputs.choice_annotation(obj, field)}]"
        return scalar_of(field)

    def build(self, obj: ObjectDef) -> None:
        names = self.names.objects[obj.name]
        f = self.maker.field
        taken = custom_names(obj)
        fields: list[StrawberryField] = [x for x in (
            f("id", "id", "ID"), f("created_at", "createdAt", "DateTime"), f("updated_at", "updatedAt", "DateTime"),
            f("version", "version", "int", description="incremented by every change; send it as expectedVersion"),
            f("owner_id", "ownerId", "ID | None"),
            f("owner__user", "owner", "User | None", resolver=resolvers.owner, description="the owning user"),
            f("created_by", "createdBy", "str | None", description="the id of the user who created the record"),
        ) if x.graphql_name not in taken]  # the object's own fields win (a field named `owner`)
        for field in obj.fields.values():
            description = describe(field.label, self._note(field))
            if field.type is FieldType.LOOKUP:
                if field.ref in self.names.objects:
                    target = self.names.objects[field.ref].type
                    fields.append(f(f"{field.name}__object", camel(field.name), f"{target} | None",
                                    resolver=resolvers.lookup(field.name, field.ref), description=description))
                fields.append(f(field.name, api_field_name(field), "ID | None", description=description))
                continue
            fields.append(f(field.name, camel(field.name), f"{self.value_annotation(obj, field)} | None",
                            description=description))
        used = {x.graphql_name for x in fields}
        for reverse, (child, via) in self.registry.compiled[obj.name].reverse.items():
            if camel(reverse) in used or child not in self.names.objects:
                continue  # a field of the same name wins; the relation stays reachable from the child
            child_names = self.names.objects[child]
            fields.append(f(f"{reverse}__reverse", camel(reverse), child_names.of("Connection"),
                            resolver=resolvers.children(child, via), args=page_args(child_names),
                            description=f"the {child} records whose {via} is this {obj.name}"))
        used = {x.graphql_name for x in fields}
        fields += [x for x in self.record_fields(obj) if x.graphql_name not in used]
        self.maker.object_type(names.type, fields, describe(obj.label, obj.schema.get("description", "")))
        self.maker.object_type(names.of("Edge"), [f("node", "node", names.type), f("cursor", "cursor", "str")])
        self.maker.object_type(names.of("Connection"), [
            f("edges", "edges", f"list[{names.of('Edge')}]"), f("nodes", "nodes", f"list[{names.type}]"),
            f("page_info", "pageInfo", "PageInfo"),
            f("total_count", "totalCount", "int | None", description="all matching records; counted only when asked"),
        ], f"A page of {obj.name} records.")
        self._aggregates(obj, names)

    @staticmethod
    def _note(field: FieldDef) -> str:
        if field.type is FieldType.ENUM and field.choices:
            return "One of: " + ", ".join(field.choices) + "."
        if field.formula:
            return f"Computed: {field.formula}."
        if field.rollup:
            return "Computed from related records."
        return ""

    def _aggregates(self, obj: ObjectDef, names: ObjectNames) -> None:
        f = self.maker.field
        key_fields = [f(service, api, f"{scalar} | None") for service, api, _, scalar in standard(obj)
                      if service not in ("id", "version")]
        key_fields += [f(field.name, api_field_name(field), f"{self.value_annotation(obj, field)} | None")
                       for field in obj.fields.values() if groupable(field)]
        self.maker.object_type(names.of("GroupKey"), key_fields,
                               "The values a group shares; a date-time grouped by period reads as the period's start "
                               "(00:00 in the tenant's time zone).")
        numbers = [field for field in obj.fields.values() if numeric(field)]
        group_fields = [f("group", "group", names.of("GroupKey")), f("count", "count", "int")]
        if numbers:
            for function, suffix in (("sum", "SumValues"), ("avg", "AvgValues"), ("min", "MinValues"),
                                     ("max", "MaxValues")):
                self.maker.object_type(names.of(suffix), [
                    f(field.name, camel(field.name), f"{self._metric_annotation(function, field)} | None")
                    for field in numbers])
                group_fields.append(f(function, function, f"{names.of(suffix)} | None"))
        self.maker.object_type(names.of("AggregateGroup"), group_fields, f"One group of {obj.name} records.")

    @staticmethod
    def _metric_annotation(function: str, field: FieldDef) -> str:
        if field.type.is_decimal:
            return "Decimal"
        if function == "sum" and field.type is FieldType.INTEGER:
            return "BigInt"  # exact, and beyond GraphQL's 32-bit Int
        if function in ("sum", "avg"):
            return "float"
        return scalar_of(field)

    # -- root fields ---------------------------------------------------------------------------

    def query_fields(self, obj: ObjectDef) -> list[StrawberryField]:
        names = self.names.objects[obj.name]
        f = self.maker.field
        fields = {name: field for name, field in obj.fields.items()}
        fields.update({name: STANDARD_FIELDS[name] for name, *_ in standard(obj)})
        metric_fields = {camel(field.name): field.name for field in obj.fields.values() if numeric(field)}
        lookups = {camel(field.name): (field.name, field.ref) for field in obj.fields.values()
                   if field.type is FieldType.LOOKUP and field.ref in self.names.objects}
        return [
            f(names.one, names.one, f"{names.type} | None", resolver=resolvers.one(obj.name),
              args=[Arg("id", "id", "ID")], description=f"One {obj.name} by id (NOT_FOUND if there is none)."),
            f(names.many, names.many, names.of("Connection"), resolver=resolvers.many(obj.name, lookups), args=page_args(names),
              description=f"{obj.name} records: filtered, sorted, a page at a time."),
            f(names.aggregate, names.aggregate, f"list[{names.of('AggregateGroup')}]",
              resolver=resolvers.aggregate(obj.name, metric_fields, fields),
              args=[Arg("where", "where", f"{names.of('Where')} | None"),
                    Arg("group_by", "groupBy", f"list[{names.of('GroupBy')}] | None")],
              description=f"Counts and sums of {obj.name} records, in groups."),
        ]

    def mutation_fields(self, obj: ObjectDef) -> list[StrawberryField]:
        names = self.names.objects[obj.name]
        f = self.maker.field
        renames = self.inputs.renames(obj)
        version = Arg("expected_version", "expectedVersion", "int | None",
                      "refuse with CONFLICT unless the record still has this version")
        verb = names.mutation
        return [
            f(verb("create"), verb("create"), names.type, resolver=resolvers.create(obj.name, renames),
              args=[Arg("input", "input", names.of("CreateInput"))]),
            f(verb("update"), verb("update"), names.type, resolver=resolvers.update(obj.name, renames),
              args=[Arg("id", "id", "ID"), Arg("input", "input", names.of("UpdateInput")), version]),
            f(verb("delete"), verb("delete"), "DeletedRecord", resolver=resolvers.delete(obj.name),
              args=[Arg("id", "id", "ID"), version], description="A soft delete: the record can be restored."),
            f(verb("restore"), verb("restore"), names.type, resolver=resolvers.restore(obj.name),
              args=[Arg("id", "id", "ID")]),
            f(verb("create", True), verb("create", True), f"list[{names.type} | None]",
              resolver=resolvers.create_many(obj.name, renames),
              args=[Arg("inputs", "inputs", f"list[{names.of('CreateInput')}]")],
              description="All or nothing: when one record is invalid, none is created."),
            f(verb("update", True), verb("update", True), f"list[{names.type} | None]",
              resolver=resolvers.update_many(obj.name, renames),
              args=[Arg("items", "items", f"list[{names.of('UpdateItem')}]")],
              description="All or nothing: when one change is invalid (or stale), none is written."),
            f(verb("delete", True), verb("delete", True), "list[DeletedRecord | None]",
              resolver=resolvers.delete_many(obj.name), args=[Arg("ids", "ids", "list[ID]")],
              description="Each record on its own: one that fails is null, with its error at its position."),
        ]
