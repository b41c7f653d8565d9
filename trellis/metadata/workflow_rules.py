"""What a workflow rule must satisfy beyond its meta-schema: names that exist, types that fit.

A rule names its object, a date field, fields to watch or set, roles, approval processes,
expressions and message templates; each is checked here against the rest of the set, so a rule
that publishes is a rule the runtime can run. Each action type has its own check
(`ACTION_TYPES`, the action types of the meta-schema); the runtime performs each of them. Pure:
the checks read the set's object fields and names, nothing else.

A webhook's URL is refused here when it can be judged without resolving anything: `localhost`
or an address literal (however spelt: `2130706433`, `[::ffff:127.0.0.1]`) in a range the
outbound guard refuses (trellis.platform.outbound). Always, also where the installation's
allow-list (TRELLIS_OUTBOUND_ALLOW) would let that address through at run time: metadata is
checked without knowing the installation, and a rule set that publishes in one installation
must publish in every other. An internal receiver is written with a DNS name, and the operator
allows the address it resolves to (or the name itself) at run time, where the guard checks the
address it actually connects to. Tests post to receivers on 127.0.0.1 the same way: a name
their injected resolver answers with 127.0.0.1, allowed by their policy.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from trellis.metadata.cron import CronError, parse_cron
from trellis.metadata.definitions import DATE_TYPES, FieldType
from trellis.metadata.errors import Parts
from trellis.metadata.expressions import check
from trellis.metadata.kind import ItemProblem, Kind, Problem, SetView, sound_document
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.names import SETTABLE_SYSTEM_FIELDS, STANDARD_COLUMNS, check_object_name
from trellis.metadata.object_checks import ObjectView, sound_objects
from trellis.metadata.suggestions import suggest
from trellis.metadata.template_checks import check_template
from trellis.metadata.templates import RULE_TEMPLATE_NAMES
from trellis.metadata.wording import article
from trellis.platform.outbound import ALLOW_SETTING, literal_refusal

#: Action types a before-save rule may use, and the ones only other rules may use.
BEFORE_SAVE_ACTIONS = frozenset({"set_fields", "reject"})
DEFAULT_AT = "09:00"
DEFAULT_CATCH_UP: Mapping[str, Any] = {"policy": "send_late", "within_days": 3}
_TEXTUAL = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.ENUM})
#: Standard columns the platform maintains: a rule may set only the others (handing a record over).
_MAINTAINED = frozenset(STANDARD_COLUMNS) - SETTABLE_SYSTEM_FIELDS
#: The one key each kind of recipient object holds.
_RECIPIENT_KEYS = {"to": ("user_field", "manager_of", "role", "field", "address"),
                   "assignee": ("user_field", "manager_of", "role", "user")}


@dataclass(frozen=True)
class ObjectFields:
    """What the rule checks need of one object: its fields' types, the targets of its lookups
    and which fields are computed (they cannot be set). `untyped` are fields whose definition is
    broken: their names count, their types (a stand-in in `fields`) are not checked, since the
    definition is reported in the object's own file."""

    fields: Mapping[str, FieldType]
    lookups: Mapping[str, str]
    computed: Collection[str]
    untyped: Collection[str] = frozenset()


def object_fields(obj: ObjectView) -> ObjectFields:
    """What the rule checks need of an object that passed its own checks."""
    computed = {f for f, schema in obj.sound.items() if "x-formula" in schema or "x-rollup" in schema}
    lookups = {f: schema["x-ref"] for f, schema in obj.sound.items() if "x-ref" in schema}
    return ObjectFields(fields=obj.expression_fields, lookups=lookups, computed=frozenset(computed),
                        untyped=frozenset(obj.properties.keys() - obj.types.keys()))


def check_rules(view: SetView) -> Iterator[ItemProblem]:
    """Every rule of the set against its objects, roles and approval processes."""
    rules = view.sound("workflow_rule")
    if not rules:
        return
    objects = {name: object_fields(obj) for name, obj in sound_objects(view).items()}
    for name, document in rules.items():
        problems = check_rule(document, objects, view.all_names("object"), view.all_names("role"),
                              approval_processes=view.all_names("approval_process"))
        for parts, message in problems:
            yield name, parts, message


def check_rule(document: Mapping[str, Any], objects: Mapping[str, ObjectFields],
               all_objects: Collection[str], roles: Collection[str], *,
               approval_processes: Collection[str] = ()) -> list[Problem]:
    """Every problem of one rule that passed its meta-schema. `objects` are the objects sound
    enough to check; `all_objects`, `roles` and `approval_processes` every name in the set."""
    unknown = unknown_object(document["object"], objects, all_objects)
    if unknown is not None:
        return unknown
    return list(_RuleCheck(document, objects, all_objects, roles, approval_processes).problems())


def unknown_object(object_name: str, objects: Mapping[str, ObjectFields],
                   all_objects: Collection[str]) -> list[Problem] | None:
    """None when an item's `object` can be checked against; else its problems: none when the
    object exists but is too broken to check (reported in its own file), or that it is unknown."""
    if object_name in objects:
        return None
    if object_name in all_objects:
        return []
    known = ", ".join(sorted(all_objects)) or "none"
    return [(("object",), f"'{object_name}' is not an object (objects: {known}){suggest(object_name, all_objects)}")]


def check_outcome_actions(object_name: str, actions: list[Mapping[str, Any]], parts: Parts,
                          objects: Mapping[str, ObjectFields], all_objects: Collection[str],
                          roles: Collection[str]) -> list[Problem]:
    """Actions run for a record outside a rule (an approval's outcome), each checked as in an
    after-save rule on `object_name` (which must be in `objects`); `set_fields` writes the record
    itself, so it is checked as `update_record` is."""
    document = {"object": object_name, "trigger": {"type": "record", "events": ["updated"]}, "actions": actions}
    checker = _RuleCheck(document, objects, all_objects, roles, ())
    return [problem for index, action in enumerate(actions)
            for problem in _ACTION_CHECKS[action["type"]](checker, (*parts, index), action)]


def date_offsets(trigger: Mapping[str, Any]) -> tuple[int, ...]:
    """A date trigger's offsets as a sorted tuple, whether written as one number or a list."""
    offset = trigger["offset"]
    return tuple(sorted(offset if isinstance(offset, list) else [offset]))


#: What a `for_each` action's values call the child they are computed for (item.<field>).
ITEM = "item"


class _RuleCheck:
    def __init__(self, document: Mapping[str, Any], objects: Mapping[str, ObjectFields],
                 all_objects: Collection[str], roles: Collection[str], approval_processes: Collection[str]):
        self.document = document
        self.objects = objects
        self.all_objects = all_objects
        self.roles = roles
        self.approval_processes = approval_processes
        self.object = objects[document["object"]]
        self.lookup_objects = {name: objects[target] for name, target in self.object.lookups.items()
                               if target in objects}
        self.lookup_fields = {name: target.fields for name, target in self.lookup_objects.items()}

    def problems(self) -> Iterator[Problem]:
        trigger = self.document["trigger"]
        kind = trigger["type"]
        if kind == "record":
            yield from self.record_trigger(trigger)
        elif kind == "date":
            yield from self.date_trigger(trigger)
        else:
            yield from self.schedule_trigger(trigger)
        if "catch_up" in self.document:
            yield from self.catch_up(kind, self.document["catch_up"])
        if "condition" in self.document:
            yield from self.expression(("condition",), self.document["condition"])
        before_save = kind == "record" and trigger.get("timing") == "before_save"
        for index, action in enumerate(self.document["actions"]):
            yield from self.action(("actions", index), action, before_save)

    # -- triggers ------------------------------------------------------------------------------

    def record_trigger(self, trigger: Mapping[str, Any]) -> Iterator[Problem]:
        parts = ("trigger",)
        if "fields" in trigger and "updated" not in trigger["events"]:
            yield (*parts, "fields"), 'fields name what an update must change; add "updated" to events or remove fields'
        for index, name in enumerate(trigger.get("fields", ())):
            if name not in self.object.fields:
                yield (*parts, "fields", index), self.unknown(name)
        if trigger.get("timing") == "before_save" and "deleted" in trigger["events"]:
            yield (*parts, "events"), "a before_save rule runs on created or updated records; a deletion has no values to set"

    def date_trigger(self, trigger: Mapping[str, Any]) -> Iterator[Problem]:
        parts = ("trigger",)
        field_type = self.object.fields.get(trigger["field"])
        if field_type is None:
            yield (*parts, "field"), self.unknown(trigger["field"])
        elif field_type not in DATE_TYPES and trigger["field"] not in self.object.untyped:
            yield (*parts, "field"), f"'{trigger['field']}' is {_a_field(field_type)}; a date trigger needs a date or " \
                                     "date-time field"
        if "at" in trigger and trigger.get("unit", "days") not in ("days", "months"):
            yield (*parts, "at"), "at (a time of day) applies to offsets in days or months, not in minutes or hours"
        if "timezone" in trigger and "timezone_field" in trigger:
            yield (*parts, "timezone_field"), "give timezone or timezone_field, not both"
        yield from self.timezone(parts, trigger)
        if "timezone_field" in trigger:
            yield from self.path((*parts, "timezone_field"), trigger["timezone_field"], _TEXTUAL, "a time zone name")

    def schedule_trigger(self, trigger: Mapping[str, Any]) -> Iterator[Problem]:
        try:
            parse_cron(trigger["cron"])
        except CronError as error:
            yield ("trigger", "cron"), str(error)
        yield from self.timezone(("trigger",), trigger)

    @staticmethod
    def timezone(parts: Parts, trigger: Mapping[str, Any]) -> Iterator[Problem]:
        if "timezone" not in trigger:
            return
        try:
            ZoneInfo(trigger["timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            yield (*parts, "timezone"), f"'{trigger['timezone']}' is not a known time zone (e.g. Asia/Shanghai)"

    @staticmethod
    def catch_up(kind: str, catch_up: Mapping[str, Any]) -> Iterator[Problem]:
        if kind == "record":
            yield ("catch_up",), "catch_up applies to date and schedule triggers; a record trigger fires as the record is saved"
        elif catch_up["policy"] == "skip" and "within_days" in catch_up:
            yield ("catch_up", "within_days"), "within_days applies to the send_late policy"

    # -- actions -------------------------------------------------------------------------------

    def action(self, parts: Parts, action: Mapping[str, Any], before_save: bool) -> Iterator[Problem]:
        kind = action["type"]
        if before_save and kind not in BEFORE_SAVE_ACTIONS:
            yield (*parts, "type"), f"a before_save rule may only set_fields or reject; {kind} runs after the save"
        elif not before_save and kind in BEFORE_SAVE_ACTIONS:
            yield (*parts, "type"), f'{kind} needs a record trigger with "timing": "before_save"'
        yield from _ACTION_CHECKS[kind](self, parts, action)

    def notify(self, parts: Parts, action: Mapping[str, Any]) -> Iterator[Problem]:
        for index, recipient in enumerate(action["to"]):
            yield from self.recipient((*parts, "to", index), recipient, _RECIPIENT_KEYS["to"])
        yield from self.templates(parts, action, ("subject", "body"))

    def task(self, parts: Parts, action: Mapping[str, Any]) -> Iterator[Problem]:
        yield from self.recipient((*parts, "assignee"), action["assignee"], _RECIPIENT_KEYS["assignee"])
        yield from self.templates(parts, action, ("title", "description"))

    def approval(self, parts: Parts, action: Mapping[str, Any]) -> Iterator[Problem]:
        """The process must exist in the set, so that the runtime has something to start."""
        process = action["process"]
        if process not in self.approval_processes:
            known = ", ".join(sorted(self.approval_processes)) or "none"
            yield (*parts, "process"), f"no approval process named '{process}' (approval processes: {known})" \
                                       f"{suggest(process, self.approval_processes)}"

    def nothing_more(self, parts: Parts, action: Mapping[str, Any]) -> Iterator[Problem]:
        """An action whose meta-schema says all there is to check (a rejection)."""
        yield from ()

    def webhook(self, parts: Parts, action: Mapping[str, Any]) -> Iterator[Problem]:
        """A URL that is not plainly internal (see the module docstring); fields of the object."""
        refused = literal_refusal(action["url"])
        if refused:
            yield (*parts, "url"), f"refused: {refused}. A rule may not post inside the installation; give an " \
                                   f"internal receiver a DNS name, and the operator allows its address at run " \
                                   f"time with {ALLOW_SETTING}"
        for index, name in enumerate(action.get("fields", ())):
            if name not in self.object.fields:
                yield (*parts, "fields", index), self.unknown(name)

    @staticmethod
    def templates(parts: Parts, action: Mapping[str, Any], keys: tuple[str, ...]) -> Iterator[Problem]:
        """Message templates, against what a rule's templates see (RULE_TEMPLATE_NAMES)."""
        for key in keys:
            for problem in check_template(action[key], RULE_TEMPLATE_NAMES) if key in action else ():
                yield (*parts, key), problem

    def values(self, parts: Parts, action: Mapping[str, Any]) -> Iterator[Problem]:
        object_name = self.document["object"]
        target_name, target = object_name, self.object
        if action["type"] == "create_record":
            target_name = action["object"]
            if target_name not in self.objects:
                if target_name not in self.all_objects:
                    yield (*parts, "object"), f"'{target_name}' is not an object{suggest(target_name, self.all_objects)}"
                return
            target = self.objects[target_name]
            if "for_each" in action:
                yield from self.for_each((*parts, "for_each"), action["for_each"])
        elif action.get("target", "record") != "record":
            lookup = action["target"]
            if lookup not in self.object.lookups:
                yield (*parts, "target"), f"target '{lookup}' is not a lookup of {object_name}; use record or " \
                                          f"a lookup field ({_listing(self.object.lookups)})" \
                                          f"{suggest(lookup, self.object.lookups)}"
                return
            target_name = self.object.lookups[lookup]
            if target_name not in self.objects:
                return
            target = self.objects[target_name]
        settable = [f for f in target.fields if f not in _MAINTAINED and f not in target.computed]
        # Values are read from the record that fired the rule, whatever record they are written to.
        written = f"the new {target_name}" if action["type"] == "create_record" else f"its {target_name}"
        read_from = "" if target_name == object_name else \
            f"Values are read from the {object_name} record that fired the rule, not from {written}."
        for name, source in action["values"].items():
            if name in _MAINTAINED:
                yield (*parts, "values", name), f"'{name}' is a standard column the platform maintains; " \
                                                "a rule cannot set it"
            elif name not in target.fields:
                yield (*parts, "values", name), f"'{name}' is not a field of {target_name}{suggest(name, settable)}"
            elif name in target.computed:
                yield (*parts, "values", name), f"'{name}' is computed, so it cannot be set"
            for where, problem in self.expression((*parts, "values", name), source, action):
                if read_from and problem.startswith("unknown field"):
                    problem = f"{problem}{'' if problem.endswith('?') else '.'} {read_from}"
                yield where, problem

    def recipient(self, parts: Parts, recipient: Mapping[str, Any], keys: tuple[str, ...]) -> Iterator[Problem]:
        if len(recipient) != 1:
            found = " and ".join(sorted(recipient)) or "none"
            yield parts, f"expected exactly one of {', '.join(keys[:-1])} or {keys[-1]}; got {found}"
            return
        (key, value), = recipient.items()
        if key == "role" and value not in self.roles:
            known = ", ".join(sorted(self.roles)) or "none"
            yield (*parts, "role"), f"'{value}' is not a role (roles: {known}){suggest(value, self.roles)}"
        elif key in ("user_field", "manager_of"):
            yield from self.path((*parts, key), value, _TEXTUAL, "a user id")
        elif key == "field":
            yield from self.path((*parts, key), value, _TEXTUAL, "an address")

    # -- names ---------------------------------------------------------------------------------

    def path(self, parts: Parts, path: str, fits: frozenset[FieldType], holding: str) -> Iterator[Problem]:
        """A `field` or `lookup.field` that holds text (a user id, an address, a time zone)."""
        base, _, attr = path.partition(".")
        owner, name, where = self.object, base, self.document["object"]
        if attr:
            if base not in self.object.lookups:
                yield parts, f"'{base}' is not a lookup of {where}{suggest(base, self.object.lookups)}"
                return
            if base not in self.lookup_objects:
                return  # the target is broken; reported in its own file
            owner, name = self.lookup_objects[base], attr
            where = f"{self.object.lookups[base]} (the object '{base}' points to)"
        field_type = owner.fields.get(name)
        if field_type is None:
            yield parts, f"'{name}' is not a field of {where}{suggest(name, owner.fields)}"
        elif field_type not in fits and name not in owner.untyped:
            yield parts, f"'{path}' is {_a_field(field_type)}; it must be a text field holding {holding}"

    def expression(self, parts: Parts, source: str, action: Mapping[str, Any] | None = None) -> Iterator[Problem]:
        """With a `for_each` action, `item.<field>` reads the child (whose object, when unknown,
        is reported at for_each.object, not again here)."""
        fields, lookups = self.object.fields, self.lookup_fields
        if action is not None and "for_each" in action:
            child = self.objects.get(action["for_each"]["object"])
            fields = {**fields, ITEM: FieldType.LOOKUP}
            lookups = {**lookups, ITEM: child.fields} if child is not None else lookups
        for problem in check(source, fields, lookups):
            yield parts, problem

    def for_each(self, parts: Parts, spec: Mapping[str, Any]) -> Iterator[Problem]:
        """The children exist: an object with the lookup `via`, matched against a lookup of the
        rule's object (`parent`) or the record's own id."""
        child = self.objects.get(spec["object"])
        if child is None:
            yield (*parts, "object"), f"'{spec['object']}' is not an object{suggest(spec['object'], self.all_objects)}"
            return
        if spec["via"] not in child.lookups:
            yield (*parts, "via"), f"'{spec['via']}' is not a lookup of {spec['object']} " \
                                   f"({_listing(child.lookups)}){suggest(spec['via'], child.lookups)}"
        parent = spec.get("parent", "id")
        if parent != "id" and parent not in self.object.lookups:
            yield (*parts, "parent"), f"'{parent}' is not a lookup of {self.document['object']}; use id (the record " \
                                      f"itself) or a lookup ({_listing(self.object.lookups)})"

    def unknown(self, name: str) -> str:
        return f"'{name}' is not a field of {self.document['object']}{suggest(name, self.object.fields)}"


def _a_field(field_type: FieldType) -> str:
    """'a currency field', 'an integer field'."""
    return f"{article(field_type.value)} field"


def _listing(names: Collection[str]) -> str:
    return ", ".join(sorted(names)) or "it has none"


#: The publish-time check of each action type, beyond what its meta-schema says.
_ACTION_CHECKS: Mapping[str, Callable[[_RuleCheck, Parts, Mapping[str, Any]], Iterator[Problem]]] = MappingProxyType({
    "set_fields": _RuleCheck.values,
    "reject": _RuleCheck.nothing_more,
    "update_record": _RuleCheck.values,
    "create_record": _RuleCheck.values,
    "create_task": _RuleCheck.task,
    "notify": _RuleCheck.notify,
    "webhook": _RuleCheck.webhook,
    "start_approval": _RuleCheck.approval,
})

#: Every action type a rule may use: the meta-schema's enum, each with its check here and, in the
#: runtime, its way to run.
ACTION_TYPES = frozenset(_ACTION_CHECKS)

KIND = Kind(
    name="workflow_rule",
    folder="workflow_rules",
    meta_validator=meta_validator("workflow_rule"),
    check_name=partial(check_object_name, what="workflow rule"),
    check_document=sound_document,
    check_set=check_rules,
)

__all__ = ["ACTION_TYPES", "BEFORE_SAVE_ACTIONS", "DEFAULT_AT", "DEFAULT_CATCH_UP", "KIND", "ObjectFields",
           "check_outcome_actions", "check_rule", "check_rules", "date_offsets", "object_fields", "unknown_object"]
