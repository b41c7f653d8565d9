"""API-name rules for objects and fields.

One name serves as a file stem, a table or column name, a GraphQL name (camelCased) and a name in
expressions, so it must be safe in all four: snake_case, short enough for index names, and none
of the words those languages reserve.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from simpleeval import DISALLOW_METHODS, DISALLOW_PREFIXES

from trellis.metadata.definitions import FieldType
from trellis.metadata.errors import coded
from trellis.metadata.expressions import FUNCTIONS

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
MAX_OBJECT_NAME = 40
MAX_FIELD_NAME = 50

#: Columns every object table has; expressions may read them like fields.
STANDARD_COLUMNS: Mapping[str, FieldType] = MappingProxyType({
    "id": FieldType.STRING,
    "created_at": FieldType.DATETIME,
    "updated_at": FieldType.DATETIME,
    "created_by": FieldType.STRING,
    "owner_id": FieldType.STRING,
    "version": FieldType.INTEGER,
    "deleted_at": FieldType.DATETIME,
})

#: Standard columns a caller or a rule may set: the owner (handing a record over). The platform
#: maintains the others.
SETTABLE_SYSTEM_FIELDS = frozenset({"owner_id"})

#: PostgreSQL's reserved key words, plus a few more that SQLite or the SQL standard reserve.
SQL_RESERVED = frozenset("""
    all alter analyse analyze and any array as asc asymmetric authorization between binary both
    by case cast check collate collation column concurrently constraint create cross
    current_catalog current_date current_role current_schema current_time current_timestamp
    current_user default deferrable delete desc distinct do drop else end escape except exists
    false fetch for foreign freeze from full grant group having ilike in index initially inner
    insert intersect into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps placing
    primary references returning right select session_user set similar some symmetric
    system_user table tablesample then to trailing true union unique update user using values
    variadic verbose view when where window with
""".split())

#: Python's keywords in lower case (so `true`, `false`, `none` too): expressions are Python syntax.
EXPRESSION_RESERVED = frozenset(word.lower() for word in keyword.kwlist)

#: Field names an expression could not read through a lookup (`account.items`): simpleeval
#: refuses some attribute names, and on a dict it finds the dict's own methods before the key.
UNREADABLE_THROUGH_LOOKUP = frozenset(DISALLOW_METHODS) | {n for n in dir(dict) if not n.startswith("_")}


#: GraphQL type names the platform defines in every tenant's schema: no object may take one, nor
#: may a type generated for an object (`<Type>Where`, ...). The schema builder refuses to define
#: a platform type missing from this list (runtime/graphql), so the list cannot fall behind.
PLATFORM_TYPE_NAMES = frozenset({
    "Query", "Mutation", "Subscription", "User", "PageInfo", "DeletedRecord", "OrderDirection", "DateBucket",
    "Date", "DateTime", "Decimal", "BigInt", "JSON", "ID", "String", "Int", "Float", "Boolean",
    "StringFilter", "IntFilter", "BigIntFilter", "FloatFilter", "DecimalFilter", "DateFilter", "DateTimeFilter",
    "BooleanFilter", "IDFilter", "ChoiceFilter", "MultiChoiceFilter",
    "Notification", "NotificationConnection", "Task", "RulePreviewItem",
    "ApprovalTask", "ApprovalEvent", "ApprovalRequest", "ApprovalRequestConnection", "SimulatedApprover",
    "SimulatedApprovalStep", "ApprovalSimulation", "ApprovalDelegation",
    "HandoverObject", "HandoverResult",
    "ScoreFactor", "ScoreSnapshot", "ScoreExplanation", "MetricGroup", "MetricRecord", "MetricRecordConnection",
    "MetricResult",
})

#: Root query fields the platform defines in every tenant's schema (same rule as the types).
PLATFORM_QUERY_FIELDS = frozenset({
    "me", "notifications", "unreadNotificationCount", "myTasks", "rulePreview",
    "approvalRequest", "approvalRequests", "myPendingApprovals", "simulateApproval", "myDelegations",
    "explainScore", "metric",
})

#: Suffixes of the types generated per object: `Contract` comes with `ContractWhere`, ...
GENERATED_TYPE_SUFFIXES = ("Where", "OrderBy", "CreateInput", "UpdateInput", "UpdateItem", "Connection", "Edge",
                           "RelationFilter", "GroupBy", "GroupField", "AggregateGroup", "GroupKey", "SumValues",
                           "AvgValues", "MinValues", "MaxValues")


def pascal(name: str) -> str:
    """The GraphQL type spelling of a snake_case name: `contract_line` -> `ContractLine`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def platform_type_clash(name: str) -> str | None:
    """None when the GraphQL types of an object `name` leave the platform's alone, else why not."""
    type_name = pascal(name)
    taken = sorted({type_name, *(type_name + s for s in GENERATED_TYPE_SUFFIXES)} & PLATFORM_TYPE_NAMES)
    if not taken:
        return None
    return (f"object '{name}' would be the GraphQL type '{type_name}', but the platform's type "
            f"'{taken[0]}' has that name in every tenant's API; name the object differently, "
            f"e.g. '{_free_alternative(name)}'")


def platform_query_clash(name: str, plural: str) -> str | None:
    """None when the root queries of an object `name` listed as `plural` leave the platform's
    alone, else why not."""
    one, many = api_name(name), api_name(plural)
    taken = sorted({one, many, one + "Aggregate", many + "Aggregate"} & PLATFORM_QUERY_FIELDS)
    if not taken:
        return None
    return (f"object '{name}' would be queried as '{taken[0]}', but the platform's own query '{taken[0]}' "
            f"has that name in every tenant's API; set another x-plural or name the object differently")


def _free_alternative(name: str) -> str:
    return next(candidate for candidate in (f"{name}_record", f"{name}_item", f"custom_{name}")
                if not {pascal(candidate)} & PLATFORM_TYPE_NAMES)


def check_object_name(name: str, what: str = "object") -> str | None:
    """None when `name` may name an object, else the sentence saying why not.

    Other items that are files and API names (roles) follow the same rules; `what` names them
    in the sentence.
    """
    return _check(name, what, MAX_OBJECT_NAME) or _reserved(name, field=False)


def check_field_name(name: str) -> str | None:
    """None when `name` may name a field (or a reverse relation), else the sentence saying why not."""
    return _check(name, "field", MAX_FIELD_NAME) or _reserved(name, field=True)


def api_name(name: str) -> str:
    """The GraphQL spelling of a snake_case name: `start_date` -> `startDate`."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def field_clashes(fields: Iterable[str], lookups: Iterable[str]) -> dict[str, str]:
    """Fields whose GraphQL names collide, each with the sentence saying with what.

    The API exposes every field under its camelCase name and each lookup `x` also as `xId`,
    so `account_id` next to a lookup `account` (or `a_1` next to `a1`) cannot both exist.
    """
    owners: dict[str, list[str]] = {}
    for field in fields:
        owners.setdefault(api_name(field), []).append(field)
    clashes: dict[str, str] = {}
    for lookup in lookups:
        id_name = api_name(lookup) + "Id"
        for field in owners.get(id_name, ()):
            clashes[field] = (
                f"'{field}' clashes with the lookup '{lookup}': the API exposes that lookup "
                f"as '{api_name(lookup)}' and '{id_name}'"
            )
    for spelled, group in owners.items():
        for field in group[1:] if len(group) > 1 else ():
            clashes.setdefault(field, f"'{field}' and '{group[0]}' are both '{spelled}' in the API")
    return clashes


def _check(name: str, what: str, limit: int) -> str | None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        return coded("name.invalid", f"'{name}' is not a valid {what} name: use snake_case, a lowercase letter "
                     "followed by lowercase letters, digits or _", name=name, what=what)
    if "__" in name:
        return coded("name.double_underscore", f"'{name}' is not a valid {what} name: '__' is kept for generated "
                     "names", name=name, what=what)
    if name.endswith("_"):
        return coded("name.trailing_underscore", f"'{name}' is not a valid {what} name: it must not end with _",
                     name=name, what=what)
    if len(name) > limit:
        return coded("name.too_long", f"'{name}' is {len(name)} characters long; {what} names are at most {limit}",
                     name=name, what=what, count=len(name), limit=limit)
    return None


def _reserved(name: str, field: bool) -> str | None:
    """Objects avoid SQL and Python words; fields, which expressions read, avoid more."""
    if field and name in STANDARD_COLUMNS:
        columns = ", ".join(STANDARD_COLUMNS)
        return coded("name.standard_column", f"'{name}' is a standard column every object has ({columns})",
                     name=name, columns=columns)
    if name in SQL_RESERVED:
        return coded("name.sql_reserved", f"'{name}' is a reserved word in SQL", name=name)
    if name in EXPRESSION_RESERVED:
        return coded("name.python_reserved", f"'{name}' is a reserved word (a Python keyword, as in expressions)",
                     name=name)
    if field and name in FUNCTIONS:
        return coded("name.function", f"'{name}' is the name of the expression function {name}()", name=name)
    if field and (name in UNREADABLE_THROUGH_LOOKUP or name.startswith(tuple(DISALLOW_PREFIXES))):
        return f"'{name}' is reserved by the expression evaluator: account.{name} could not be read"
    return None
