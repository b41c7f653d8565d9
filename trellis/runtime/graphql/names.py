"""GraphQL names of a release: PascalCase types, camelCase fields, plurals, and no clashes.

Every name the schema builder uses comes from here, so the spelling rules live in one place:
`contract_line` is the type `ContractLine`, the field `contractLine`, the list `contractLines`
(`x-plural`, else simple English rules), `createContractLine`, `ContractLineWhere`, ...

Names the platform itself defines (`User`, `Task`, `PageInfo`, `StringFilter`, `me`, ...) are
reserved (`trellis.metadata.names`): publish refuses an object that would take one, and the
platform's types always keep them. An object of a release published before that check, or one
whose names meet another object's, gets a suffix instead of breaking the tenant's schema.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from trellis.metadata.model import ObjectDef
from trellis.metadata.names import (
    GENERATED_TYPE_SUFFIXES,
    PLATFORM_QUERY_FIELDS,
    PLATFORM_TYPE_NAMES,
    api_name,
    pascal,
)

GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
#: Words GraphQL gives a meaning to as enum values.
NOT_ENUM_VALUES = frozenset({"true", "false", "null"})

def camel(name: str) -> str:
    """`start_date` -> `startDate` (the metadata's own API-name rule)."""
    return api_name(name)


def is_enum_value(value: str) -> bool:
    """Whether a picklist value can be a GraphQL enum value as it is (Chinese values cannot)."""
    return bool(GRAPHQL_NAME.fullmatch(value)) and value not in NOT_ENUM_VALUES and not value.startswith("__")


def camel_path(path: str) -> str:
    """A service problem path in the API's spelling: `where.end_date._gte` -> `where.endDate._gte`.

    Operators (`_eq`), indexes (`[2]`) and the record itself (`$`) are kept as they are."""
    parts = []
    for part in path.split("."):
        head, bracket, rest = part.partition("[")
        if head and not head.startswith(("_", "$")):
            head = camel(head)
        parts.append(head + bracket + rest)
    return ".".join(parts)


@dataclass(frozen=True)
class ObjectNames:
    """Every GraphQL name generated for one object."""

    object: str
    type: str
    one: str  # contract(id)
    many: str  # contracts(...)
    batch_suffix: str = ""  # when createContracts would be another object's createX

    def of(self, suffix: str) -> str:
        return self.type + suffix

    @property
    def aggregate(self) -> str:
        return self.many + "Aggregate"

    def mutation(self, verb: str, plural: bool = False) -> str:
        return verb + (self.many[:1].upper() + self.many[1:] + self.batch_suffix if plural else self.type)


class NameTable:
    """The names of one release, allocated once so that no two things share a name.

    Objects are taken in name order, so the same release always gets the same names; one whose
    natural names are taken gets a suffix (`Record`, `List`, `Batch`) instead of breaking the
    schema of the whole tenant."""

    def __init__(self, objects: dict[str, ObjectDef]):
        self.taken: set[str] = set(PLATFORM_TYPE_NAMES)
        self.objects: dict[str, ObjectNames] = {}
        roots: set[str] = set(PLATFORM_QUERY_FIELDS)
        for name in sorted(objects):
            base = self._free_type(pascal(name))
            one = _free_root(camel(name), roots, ("Record", "Object"))
            plural = camel(objects[name].plural)
            many = _free_root(plural if plural != one else one + "List", roots, ("List", "Records"))
            self.objects[name] = ObjectNames(name, base, one, many)
        singles = {verb + n.type for n in self.objects.values() for verb in ("create", "update", "delete")}
        for name, names in self.objects.items():
            if any(names.mutation(verb, plural=True) in singles for verb in ("create", "update", "delete")):
                self.objects[name] = dataclasses.replace(names, batch_suffix="Batch")
        self.enums: dict[tuple[str, str], str] = {}

    def _free_type(self, preferred: str) -> str:
        """`preferred` unless it or a name generated from it is taken; else with a suffix."""
        for candidate in (preferred, preferred + "Record", preferred + "Object"):
            generated = {candidate, *(candidate + s for s in GENERATED_TYPE_SUFFIXES)}
            if not generated & self.taken:
                self.taken |= generated
                return candidate
        raise ValueError(f"cannot find a free GraphQL type name for {preferred}")

    def enum(self, object_name: str, field_name: str) -> str:
        key = (object_name, field_name)
        if key not in self.enums:
            base = self.objects[object_name].type + pascal(field_name)
            name = next(c for c in (base, base + "Choice", base + "Enum", base + "Value")
                        if not {c, c + "Filter", c + "ListFilter"} & self.taken)
            self.taken |= {name, name + "Filter", name + "ListFilter"}
            self.enums[key] = name
        return self.enums[key]


def _free_root(preferred: str, roots: set[str], suffixes: tuple[str, ...]) -> str:
    """A root field name (and its `Aggregate`) no other object has taken."""
    for candidate in (preferred, *(preferred + s for s in suffixes)):
        if not {candidate, candidate + "Aggregate"} & roots:
            roots |= {candidate, candidate + "Aggregate"}
            return candidate
    raise ValueError(f"cannot find a free GraphQL field name for {preferred}")
