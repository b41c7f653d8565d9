"""Workflow rule documents (`workflow_rules/<name>.json`): each mistake an admin can make gives one
error naming the file, the JSON path and what was expected, and nothing else is reported beside it.
A rule on an object that is itself broken is not blamed for it. Pure: no database."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import load_errors
from trellis.metadata import MetadataError, MetadataSet, load_documents, load_folder, validate_set
from trellis.metadata.cron import CronError, parse_cron
from trellis.metadata.documents import pretty_json
from trellis.metadata.export import write_folder
from trellis.metadata.metaschemas import meta_schema
from trellis.metadata.model import FieldType
from trellis.metadata.workflow_rules import ACTION_TYPES, ObjectFields, check_rule

FIXTURE = Path(__file__).parents[1] / "fixtures" / "crm"

Rule = dict[str, Any]
Objects = dict[str, dict[str, Any]]

NOTIFY_OWNER: Rule = {
    "type": "notify",
    "channel": "email",
    "to": [{"user_field": "owner_id"}],
    "subject": "Contract {{ record.number }}",
    "body": "{{ record.name }} is now {{ record.status }}.",
}

#: One sound rule of each trigger type, using every action it may use (start_approval, which
#: needs an approval process in the set: test_metadata_approval_processes.py).
RECORD: Rule = {
    "x-label": {"en": "Contract activated", "zh-CN": "合同生效"},
    "description": "Tell the owner and the managers, and follow up.",
    "active": True,
    "object": "contract",
    "trigger": {"type": "record", "events": ["created", "updated"], "fields": ["status", "amount"],
                "timing": "after_save"},
    "condition": "status == '生效' and account.tier == '战略'",
    "actions": [
        NOTIFY_OWNER,
        {"type": "notify", "channel": "in_app",
         "to": [{"role": "manager"}, {"user_field": "account.owner_id"}, {"field": "account.phone"},
                {"address": "sales@example.com"}],
         "body": "{% if record.amount > 100000 %}Big deal{% else %}Deal{% endif %}: {{ record.name }}"},
        {"type": "update_record", "values": {"auto_renew": "True", "owner_id": "created_by"}},
        {"type": "update_record", "target": "account", "values": {"notes": "'Active contract ' + number"}},
        {"type": "create_record", "object": "ticket",
         "values": {"subject": "'Onboard ' + name", "account": "account", "priority": "'高'"}},
        {"type": "create_task", "title": "Call about {{ record.name }}", "description": "Kick-off",
         "assignee": {"role": "sales_rep"}, "due_in_days": 3},
        {"type": "create_task", "title": "Review", "assignee": {"user": "boss@example.com"}},
        {"type": "webhook", "url": "https://hooks.example.com/contract", "event": "contract_active"},
    ],
}
BEFORE_SAVE: Rule = {
    "object": "contract",
    "trigger": {"type": "record", "events": ["created", "updated"], "fields": ["status"], "timing": "before_save"},
    "condition": "discount > 50",
    "actions": [
        {"type": "set_fields", "values": {"discount": "50", "status": "'草稿'"}},
        {"type": "reject", "message": {"en": "Ask a manager.", "zh-CN": "请联系经理。"}},
    ],
}
DATE: Rule = {
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": [-90, -30, -7, 0], "unit": "days", "at": "09:30",
                "timezone": "Asia/Shanghai"},
    "condition": "status == '生效'",
    "catch_up": {"policy": "send_late", "within_days": 3},
    "actions": [NOTIFY_OWNER],
}
SCHEDULE: Rule = {
    "object": "ticket",
    "trigger": {"type": "schedule", "cron": "0 9 * * MON-FRI", "timezone": "Europe/Berlin"},
    "condition": "status != '已关闭' and priority == '高'",
    "catch_up": {"policy": "skip"},
    "actions": [{"type": "notify", "channel": "wecom", "to": [{"role": "manager"}], "body": "{{ record.subject }}"}],
}
BASES: dict[str, Rule] = {"record": RECORD, "before_save": BEFORE_SAVE, "date": DATE, "schedule": SCHEDULE}

ROLES = {"manager": {}, "sales_rep": {}}


def fixture_objects() -> Objects:
    return {f.stem: json.loads(f.read_text("utf-8")) for f in sorted((FIXTURE / "objects").glob("*.json"))}


def documents(rules: dict[str, Rule], objects: Objects | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    items: dict[tuple[str, str], dict[str, Any]] = {}
    items.update({("object", name): doc for name, doc in (fixture_objects() if objects is None else objects).items()})
    items.update({("role", name): doc for name, doc in ROLES.items()})
    items.update({("workflow_rule", name): doc for name, doc in rules.items()})
    return items


def errors_of(rules: dict[str, Rule], objects: Objects | None = None) -> list[MetadataError]:
    return validate_set(MetadataSet(documents(rules, objects)))


def shown(errors: list[MetadataError]) -> str:
    return "\n".join(map(str, errors)) or "no errors"


# --- changes to a rule --------------------------------------------------------------------------


def put(*where: str | int, value: Any) -> Callable[[Rule], None]:
    """Set the value at a path of keys and indexes (the last one created if missing)."""
    def change(rule: Rule) -> None:
        node: Any = rule
        for step in where[:-1]:
            node = node[step]
        node[where[-1]] = value
    return change


def drop(*where: str | int) -> Callable[[Rule], None]:
    def change(rule: Rule) -> None:
        node: Any = rule
        for step in where[:-1]:
            node = node[step]
        del node[where[-1]]
    return change


def acting(*actions: Rule) -> Callable[[Rule], None]:
    """Replace the rule's actions."""
    return put("actions", value=list(actions))


def adding(action: Rule) -> Callable[[Rule], None]:
    return lambda rule: rule["actions"].append(action)


def notify(*to: dict[str, Any], **keys: Any) -> Rule:
    return {"type": "notify", "channel": "email", "to": list(to), "body": "Hello", **keys}


def zone_field(path: str) -> Callable[[Rule], None]:
    """A date trigger that reads its time zone from a field instead of naming one."""
    def change(rule: Rule) -> None:
        del rule["trigger"]["timezone"]
        rule["trigger"]["timezone_field"] = path
    return change


def without(action: Rule, key: str) -> Rule:
    return {k: v for k, v in action.items() if k != key}


def update(values: dict[str, str], **keys: Any) -> Rule:
    return {"type": "update_record", "values": values, **keys}


def create(obj: str, values: dict[str, str]) -> Rule:
    return {"type": "create_record", "object": obj, "values": values}


def task(assignee: dict[str, Any], **keys: Any) -> Rule:
    return {"type": "create_task", "title": "Follow up", "assignee": assignee, **keys}


@dataclass(frozen=True)
class Case:
    """One mistake: a change to one of the sound rules and the one error it must give."""

    id: str
    base: str  # a key of BASES
    change: Callable[[Rule], Any]
    path: str
    words: tuple[str, ...]
    absent: tuple[str, ...] = ()  # words the message must not hold
    name: str = "renewal"  # the rule's file stem

    @property
    def file(self) -> str:
        return f"workflow_rules/{self.name}.json"


CASES = [
    # -- the document itself
    Case("missing object", "record", drop("object"), "$", ('expected the keyword "object"', "missing")),
    Case("missing trigger", "date", drop("trigger"), "$", ('expected the keyword "trigger"', "missing")),
    Case("missing actions", "schedule", drop("actions"), "$", ('expected the keyword "actions"', "missing")),
    Case("no actions", "record", acting(), "$.actions", ("expected at least 1 item", "got 0")),
    Case("misspelt top-level key", "record", put("conditon", value="true"),
         "$.conditon", ("unknown keyword conditon", "did you mean condition?", "known: $comment")),
    Case("misspelt label", "record", put("x-lable", value="Renewal"),
         "$.x-lable", ("unknown keyword x-lable", "did you mean x-label?")),
    Case("unknown top-level key far from any", "record", put("colour", value="red"),
         "$.colour", ("unknown keyword colour", "known: $comment, $schema, actions, active"), ("did you mean",)),
    Case("active is text", "record", put("active", value="yes"), "$.active", ("expected a boolean", '"yes"')),
    Case("CamelCase rule name", "record", lambda rule: None,
         "$", ("'Renewal' is not a valid workflow rule name", "snake_case"), name="Renewal"),
    Case("SQL word as rule name", "record", lambda rule: None,
         "$", ("'select' is a reserved word in SQL",), name="select"),
    # -- the trigger's shape
    Case("unknown trigger type", "record", put("trigger", "type", value="recrod"),
         "$.trigger.type", ("expected one of record, date, schedule", '"recrod"')),
    Case("trigger without a type", "record", drop("trigger", "type"),
         "$.trigger", ('expected the keyword "type"', "missing")),
    Case("trigger is a list", "record", put("trigger", value=["record"]),
         "$.trigger", ('expected a trigger: {"type": "record", ...}', "got a list")),
    Case("misspelt record trigger key", "record", put("trigger", "feilds", value=["status"]),
         "$.trigger.feilds", ("unknown keyword feilds", "did you mean fields?", "known: events, fields, timing, type")),
    Case("date key on a record trigger", "record", put("trigger", "offset", value=3),
         "$.trigger.offset", ("unknown keyword offset", "known: events, fields, timing, type")),
    Case("misspelt date trigger key", "date", put("trigger", "ofset", value=-7),
         "$.trigger.ofset", ("unknown keyword ofset", "did you mean offset?")),
    Case("misspelt schedule trigger key", "schedule", put("trigger", "timezon", value="UTC"),
         "$.trigger.timezon", ("unknown keyword timezon", "did you mean timezone?", "known: cron, timezone, type")),
    # -- record triggers
    Case("record trigger without events", "record", drop("trigger", "events"),
         "$.trigger", ('expected the keyword "events"', "missing")),
    Case("unknown event", "record", put("trigger", "events", 1, value="saved"),
         "$.trigger.events[1]", ("expected one of created, updated, deleted", '"saved"')),
    Case("unknown timing", "record", put("trigger", "timing", value="before"),
         "$.trigger.timing", ("expected one of before_save, after_save", '"before"')),
    Case("fields without an update event", "record", put("trigger", "events", value=["created", "deleted"]),
         "$.trigger.fields", ("fields name what an update must change", 'add "updated" to events')),
    Case("watched field that does not exist", "record", put("trigger", "fields", 1, value="amout"),
         "$.trigger.fields[1]", ("'amout' is not a field of contract", "did you mean 'amount'?")),
    Case("before_save on deletion", "before_save", put("trigger", "events", value=["updated", "deleted"]),
         "$.trigger.events", ("a before_save rule runs on created or updated records", "deletion")),
    Case("before_save that notifies", "before_save", adding(NOTIFY_OWNER),
         "$.actions[2].type", ("a before_save rule may only set_fields or reject", "notify runs after the save")),
    Case("before_save that updates", "before_save", acting(update({"discount": "0"})),
         "$.actions[0].type", ("may only set_fields or reject", "update_record runs after the save")),
    Case("after_save with set_fields", "record", adding({"type": "set_fields", "values": {"discount": "0"}}),
         "$.actions[8].type", ("set_fields needs a record trigger", '"timing": "before_save"')),
    Case("after_save with reject", "record", adding({"type": "reject", "message": "No"}),
         "$.actions[8].type", ("reject needs a record trigger", '"timing": "before_save"')),
    Case("set_fields on a date trigger", "date", acting({"type": "set_fields", "values": {"discount": "0"}}),
         "$.actions[0].type", ("set_fields needs a record trigger",)),
    Case("catch_up on a record trigger", "record", put("catch_up", value={"policy": "skip"}),
         "$.catch_up", ("catch_up applies to date and schedule triggers",)),
    # -- date triggers
    Case("date trigger on a number", "date", put("trigger", "field", value="amount"),
         "$.trigger.field", ("'amount' is a currency field", "a date trigger needs a date or date-time field")),
    Case("date trigger on a text field", "date", put("trigger", "field", value="name"),
         "$.trigger.field", ("'name' is a string field", "date or date-time")),
    Case("unknown date field", "date", put("trigger", "field", value="end_dat"),
         "$.trigger.field", ("'end_dat' is not a field of contract", "did you mean 'end_date'?")),
    Case("date trigger without offset", "date", drop("trigger", "offset"),
         "$.trigger", ('expected the keyword "offset"', "missing")),
    Case("offset too far after", "date", put("trigger", "offset", value=5000),
         "$.trigger.offset", ("expected a number <= 3660", "got 5000")),
    Case("offset too far before", "date", put("trigger", "offset", value=-3661),
         "$.trigger.offset", ("expected a number >= -3660", "got -3661")),
    Case("offset list item out of range", "date", put("trigger", "offset", value=[-30, 4000]),
         "$.trigger.offset[1]", ("expected a number <= 3660", "got 4000")),
    Case("offset list with a repeat", "date", put("trigger", "offset", value=[-30, 0, -30]),
         "$.trigger.offset", ("expected no repeated items", "-30 appears more than once")),
    Case("empty offset list", "date", put("trigger", "offset", value=[]),
         "$.trigger.offset", ("expected at least 1 item", "got 0")),
    Case("offset as text", "date", put("trigger", "offset", value="-30"),
         "$.trigger.offset", ("expected a whole number of units from the date", "or a list", 'got "-30"')),
    Case("offset with a fraction", "date", put("trigger", "offset", value=1.5),
         "$.trigger.offset", ("expected a whole number of units", "got 1.5")),
    Case("unknown unit", "date", put("trigger", "unit", value="weeks"),
         "$.trigger.unit", ("expected one of minutes, hours, days, months", '"weeks"')),
    Case("at with unit hours", "date", put("trigger", "unit", value="hours"),
         "$.trigger.at", ("at (a time of day) applies to offsets in days or months", "hours")),
    Case("at with unit minutes", "date", put("trigger", "unit", value="minutes"),
         "$.trigger.at", ("applies to offsets in days or months",)),
    Case("at without a leading zero", "date", put("trigger", "at", value="9:00"),
         "$.trigger.at", ("expected a local time of day as HH:MM", "such as 09:00", 'got "9:00"')),
    Case("at 24:00", "date", put("trigger", "at", value="24:00"),
         "$.trigger.at", ("HH:MM, 00:00 to 23:59", 'got "24:00"')),
    Case("at with minute 60", "date", put("trigger", "at", value="09:60"),
         "$.trigger.at", ("HH:MM", 'got "09:60"')),
    Case("unknown time zone", "date", put("trigger", "timezone", value="Asia/Shanghia"),
         "$.trigger.timezone", ("'Asia/Shanghia' is not a known time zone", "e.g. Asia/Shanghai")),
    Case("time zone that is a path", "date", put("trigger", "timezone", value="../../etc/passwd"),
         "$.trigger.timezone", ("is not a known time zone",)),
    Case("timezone and timezone_field", "date", put("trigger", "timezone_field", value="account.name"),
         "$.trigger.timezone_field", ("give timezone or timezone_field, not both",)),
    Case("timezone_field on a number", "date", zone_field("amount"),
         "$.trigger.timezone_field", ("'amount' is a currency field", "a text field holding a time zone name")),
    Case("timezone_field through a lookup to a number", "date", zone_field("account.employee_count"),
         "$.trigger.timezone_field", ("'account.employee_count' is an integer field", "a time zone name")),
    Case("timezone_field through a lookup to nothing", "date", zone_field("account.nme"),
         "$.trigger.timezone_field", ("'nme' is not a field of account", "'account' points to",
                                      "did you mean 'name'?")),
    Case("timezone_field through a misspelt lookup", "date", zone_field("acount.name"),
         "$.trigger.timezone_field", ("'acount' is not a lookup of contract", "did you mean 'account'?")),
    Case("timezone_field through a field that is not a lookup", "date", zone_field("name.tz"),
         "$.trigger.timezone_field", ("'name' is not a lookup of contract",)),
    Case("timezone_field that does not exist", "date", zone_field("tz"),
         "$.trigger.timezone_field", ("'tz' is not a field of contract",)),
    Case("timezone_field two lookups deep", "date", zone_field("a.b.c"),
         "$.trigger.timezone_field", ("expected a field name or lookup.field", '"a.b.c"')),
    # -- schedule triggers
    Case("schedule without cron", "schedule", drop("trigger", "cron"),
         "$.trigger", ('expected the keyword "cron"', "missing")),
    Case("cron hour out of range", "schedule", put("trigger", "cron", value="0 25 * * *"),
         "$.trigger.cron", ("hour: 25 is out of range 0-23",)),
    Case("cron with four fields", "schedule", put("trigger", "cron", value="0 9 * *"),
         "$.trigger.cron", ("5 fields", "4 were given")),
    Case("schedule in an unknown time zone", "schedule", put("trigger", "timezone", value="Mars/Olympus"),
         "$.trigger.timezone", ("'Mars/Olympus' is not a known time zone",)),
    # -- catch_up
    Case("within_days with skip", "date", put("catch_up", value={"policy": "skip", "within_days": 3}),
         "$.catch_up.within_days", ("within_days applies to the send_late policy",)),
    Case("unknown catch_up policy", "schedule", put("catch_up", "policy", value="late"),
         "$.catch_up.policy", ("expected one of send_late, skip", '"late"')),
    Case("within_days over a year", "date", put("catch_up", "within_days", value=400),
         "$.catch_up.within_days", ("expected a number <= 365", "got 400")),
    Case("misspelt catch_up key", "date", put("catch_up", "within_day", value=1),
         "$.catch_up.within_day", ("unknown keyword within_day", "did you mean within_days?")),
    # -- condition
    Case("condition names an unknown field", "record", put("condition", value="stauts == '生效'"),
         "$.condition", ("unknown field 'stauts'", "did you mean 'status'?")),
    Case("condition reads an unknown field through a lookup", "date", put("condition", value="account.tire == '战略'"),
         "$.condition", ("unknown field 'tire' on the object that 'account' points to", "did you mean 'tier'?")),
    Case("condition syntax error", "schedule", put("condition", value="priority == ('高'"),
         "$.condition", ("syntax error", "never closed", "column")),
    Case("condition reaches for Python internals", "record", put("condition", value="name.__class__"),
         "$.condition", ("__class__",)),
    Case("empty condition", "record", put("condition", value=""),
         "$.condition", ("expected at least 1 character",)),
    # -- record values: set_fields, update_record, create_record
    Case("update of an unknown field", "record", acting(update({"stauts": "'已到期'"})),
         "$.actions[0].values.stauts", ("'stauts' is not a field of contract", "did you mean 'status'?")),
    Case("update of a formula field", "record", acting(update({"days_to_end": "0"})),
         "$.actions[0].values.days_to_end", ("'days_to_end' is computed, so it cannot be set",)),
    Case("update of id", "record", acting(update({"id": "'x'"})),
         "$.actions[0].values.id", ("'id' is a standard column the platform maintains", "cannot set it"),
         ("did you mean",)),
    Case("set_fields of version", "before_save", acting({"type": "set_fields", "values": {"version": "1"}}),
         "$.actions[0].values.version", ("'version' is a standard column",), ("did you mean",)),
    Case("create with created_at", "record", acting(create("ticket", {"subject": "name", "created_at": "now()"})),
         "$.actions[0].values.created_at", ("'created_at' is a standard column",)),
    Case("set_fields of an unknown field", "before_save",
         acting({"type": "set_fields", "values": {"discont": "0"}}),
         "$.actions[0].values.discont", ("'discont' is not a field of contract", "did you mean 'discount'?")),
    Case("update value that does not parse", "record", acting(update({"amount": "amount *"})),
         "$.actions[0].values.amount", ("syntax error",)),
    Case("update value naming an unknown field", "record", acting(update({"amount": "amout * 2"})),
         "$.actions[0].values.amount", ("unknown field 'amout'", "did you mean 'amount'?")),
    Case("update with no values", "record", acting(update({})),
         "$.actions[0].values", ("expected at least 1 key", "got 0")),
    Case("update of a field named in capitals", "record", acting(update({"Status": "'x'"})),
         "$.actions[0].values", ("expected an API name", '"Status"')),
    Case("update target that is not a lookup", "record", acting(update({"name": "'x'"}, target="name")),
         "$.actions[0].target", ("target 'name' is not a lookup of contract", "use record or a lookup field (account)")),
    Case("update target misspelt", "record", acting(update({"notes": "'x'"}, target="acount")),
         "$.actions[0].target", ("target 'acount' is not a lookup of contract", "did you mean 'account'?")),
    Case("update through a lookup of an unknown field", "record", acting(update({"nme": "name"}, target="account")),
         "$.actions[0].values.nme", ("'nme' is not a field of account", "did you mean 'name'?")),
    Case("update through a lookup reading the target's field", "record",
         acting(update({"notes": "tier"}, target="account")),
         "$.actions[0].values.notes", ("unknown field 'tier'", "read from the contract record that fired the rule",
                                       "not from its account")),
    Case("create of an unknown object", "record", acting(create("tiket", {"subject": "name"})),
         "$.actions[0].object", ("'tiket' is not an object", "did you mean 'ticket'?")),
    Case("create with an unknown field", "record", acting(create("ticket", {"subjct": "name"})),
         "$.actions[0].values.subjct", ("'subjct' is not a field of ticket", "did you mean 'subject'?")),
    Case("create with a formula field", "record",
         acting(create("contract_line", {"contract": "id", "line_total": "amount"})),
         "$.actions[0].values.line_total", ("'line_total' is computed",)),
    Case("create reading the new record's field", "record", acting(create("ticket", {"subject": "subject"})),
         "$.actions[0].values.subject", ("unknown field 'subject'", "read from the contract record that fired the rule",
                                         "not from the new ticket")),
    Case("create without an object", "record", acting({"type": "create_record", "values": {"subject": "name"}}),
         "$.actions[0]", ('expected the keyword "object"', "missing")),
    # -- notify
    Case("notify an unknown role", "record", acting(notify({"role": "manger"})),
         "$.actions[0].to[0].role", ("'manger' is not a role", "roles: manager, sales_rep", "did you mean 'manager'?")),
    Case("notify a role far from any", "record", acting(notify({"role": "boss"})),
         "$.actions[0].to[0].role", ("'boss' is not a role", "(roles: manager, sales_rep)"), ("did you mean",)),
    Case("notify a user_field that is a number", "record", acting(notify({"user_field": "amount"})),
         "$.actions[0].to[0].user_field", ("'amount' is a currency field", "a text field holding a user id")),
    Case("notify a user_field that does not exist", "record", acting(notify({"user_field": "ownr_id"})),
         "$.actions[0].to[0].user_field", ("'ownr_id' is not a field of contract", "did you mean 'owner_id'?")),
    Case("notify an address field through a lookup to a number", "record",
         acting(notify({"field": "account.annual_revenue"})),
         "$.actions[0].to[0].field", ("'account.annual_revenue' is a currency field", "holding an address")),
    Case("notify nobody", "record", acting(notify()), "$.actions[0].to", ("expected at least 1 item", "got 0")),
    Case("notify an empty recipient", "record", acting(notify({})),
         "$.actions[0].to[0]", ("expected exactly one of user_field, manager_of, role, field or address", "got none")),
    Case("notify a recipient with two keys", "record", acting(notify({"role": "manager", "user_field": "owner_id"})),
         "$.actions[0].to[0]", ("expected exactly one of user_field, manager_of, role, field or address",
                                "got role and user_field")),
    Case("notify a misspelt recipient key", "record", acting(notify({"rol": "manager"})),
         "$.actions[0].to[0].rol", ("unknown keyword rol", "did you mean role?")),
    Case("notify by an unknown channel", "record", acting(notify({"role": "manager"}, channel="emial")),
         "$.actions[0].channel", ("expected one of email, sms, wecom, in_app", '"emial"')),
    Case("notify without a body", "record", acting(without(notify({"role": "manager"}), "body")),
         "$.actions[0]", ('expected the keyword "body"', "missing")),
    Case("notify with a misspelt key", "record", acting(notify({"role": "manager"}, subjct="Hi")),
         "$.actions[0].subjct", ("unknown keyword subjct", "did you mean subject?", "known: body, channel")),
    Case("subject that does not parse", "record", acting(notify({"role": "manager"}, subject="Hi {{ record.name")),
         "$.actions[0].subject", ("template syntax error on line 1",)),
    Case("body that does not parse on line 3", "date",
         acting(notify({"role": "manager"}, body="Dear {{ record.name }},\n\n{% if record.amount %}big\n")),
         "$.actions[0].body", ("template syntax error on line 3", "endif")),
    Case("body reaching Python internals", "record", acting(notify({"role": "manager"}, body="{{ ''.__class__ }}")),
         "$.actions[0].body", ("line 1: '__class__' starts with an underscore", "Python internals")),
    Case("body with an unknown filter", "date",
         acting(notify({"role": "manager"}, body="Dear {{ recipient.name }},\n{{ record.end_date|dat }}")),
         "$.actions[0].body", ("line 2: there is no filter 'dat'", "did you mean 'date'?")),
    Case("subject with an unknown name", "record", acting(notify({"role": "manager"}, subject="{{ contract.name }}")),
         "$.actions[0].subject", ("line 1: 'contract' is undefined", "a template here sees due, offset, recipient")),
    Case("body looping a billion times", "schedule",
         acting(notify({"role": "manager"}, body="{% for i in range(10**9) %}.{% endfor %}")),
         "$.actions[0].body", ("range() here makes 1,000,000,000 numbers", "at most 100,000 times")),
    # -- create_task
    Case("task title that does not parse", "record", acting(task({"role": "manager"}, title="{% for %}")),
         "$.actions[0].title", ("template syntax error on line 1",)),
    Case("task description that does not parse", "record",
         acting(task({"role": "manager"}, description="a\n{{ }}")),
         "$.actions[0].description", ("template syntax error on line 2",)),
    Case("task title doubling a text", "record",
         acting(task({"role": "manager"}, title="{% set ns = namespace(t='x') %}{% for r in range(30) %}"
                                                 "{% set ns.t = ns.t ~ ns.t %}{% endfor %}{{ ns.t }}")),
         "$.actions[0].title", ("'ns.t' is built from itself twice on every pass of the loop",)),
    Case("task for an unknown role", "record", acting(task({"role": "managr"})),
         "$.actions[0].assignee.role", ("'managr' is not a role", "did you mean 'manager'?")),
    Case("task for two assignees", "record", acting(task({"role": "manager", "user": "a@example.com"})),
         "$.actions[0].assignee", ("expected exactly one of user_field, manager_of, role or user", "got role and user")),
    Case("task for a user_field that is a date", "record", acting(task({"user_field": "end_date"})),
         "$.actions[0].assignee.user_field", ("'end_date' is a date field", "user id")),
    Case("task for a recipient-only key", "record", acting(task({"field": "name"})),
         "$.actions[0].assignee.field", ("unknown keyword field", "known: manager_of, role, user, user_field")),
    Case("task due far away", "record", acting(task({"role": "manager"}, due_in_days=5000)),
         "$.actions[0].due_in_days", ("expected a number <= 3660",)),
    # -- webhook and start_approval
    Case("webhook over ftp", "record", acting({"type": "webhook", "url": "ftp://files.example.com/drop"}),
         "$.actions[0].url", ("expected an http(s) URL", '"ftp://files.example.com/drop"')),
    Case("webhook without a scheme", "record", acting({"type": "webhook", "url": "hooks.example.com/x"}),
         "$.actions[0].url", ("expected an http(s) URL",)),
    Case("webhook url with a space", "record", acting({"type": "webhook", "url": "https://hooks.example.com/a b"}),
         "$.actions[0].url", ("expected an http(s) URL",)),
    Case("webhook event in capitals", "record",
         acting({"type": "webhook", "url": "https://hooks.example.com", "event": "Renewal"}),
         "$.actions[0].event", ("expected an API name", '"Renewal"')),
    Case("approval without a process", "record", acting({"type": "start_approval"}),
         "$.actions[0]", ('expected the keyword "process"', "missing")),
    Case("approval of a process that does not exist", "record", adding({"type": "start_approval", "process": "big_deal"}),
         "$.actions[8].process", ("no approval process named 'big_deal'", "(approval processes: none)"),
         ("did you mean",)),
    # -- actions' shape
    Case("action without a type", "record", acting({"channel": "email", "to": [{"role": "manager"}], "body": "x"}),
         "$.actions[0]", ('expected the keyword "type"', "missing")),
    Case("unknown action type", "record", put("actions", 0, "type", value="notfy"),
         "$.actions[0].type", ("expected one of set_fields, reject", "notify", '"notfy"')),
    Case("reject with a bad locale", "before_save", put("actions", 1, "message", value={"EN": "No"}),
         "$.actions[1].message", ("expected a locale code such as en or zh-CN", '"EN"')),
    # -- the object
    Case("unknown object", "record", put("object", value="contrat"),
         "$.object", ("'contrat' is not an object",
                      "(objects: account, contact, contract, contract_line, product, ticket)",
                      "did you mean 'contract'?")),
    Case("unknown object far from any", "date", put("object", value="invoice"),
         "$.object", ("'invoice' is not an object", "objects: account"), ("did you mean",)),
    Case("object name in capitals", "record", put("object", value="Contract"),
         "$.object", ("expected an API name", '"Contract"')),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_mistake_gives_one_clear_error(case: Case) -> None:
    rule = copy.deepcopy(BASES[case.base])
    case.change(rule)
    errors = errors_of({case.name: rule})
    assert [(e.file, e.path) for e in errors] == [(case.file, case.path)], shown(errors)
    message = errors[0].message
    assert all(word in message for word in case.words), message
    assert not any(word in message for word in case.absent), message


def test_there_are_enough_mistakes() -> None:
    assert len(CASES) >= 100
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("name", sorted(BASES))
def test_a_sound_rule_of_each_kind_passes(name: str) -> None:
    assert errors_of({name: BASES[name]}) == []


def test_the_smallest_rules_pass() -> None:
    rules = {
        "on_save": {"object": "ticket", "trigger": {"type": "record", "events": ["deleted"]},
                    "actions": [{"type": "webhook", "url": "http://hooks.example.com:8080/hook"}]},
        "on_date": {"object": "ticket", "trigger": {"type": "date", "field": "opened_at", "offset": 30,
                                                      "unit": "minutes"},
                    "actions": [notify({"address": "ops@example.com"}, channel="sms")]},
        "on_tick": {"object": "account", "trigger": {"type": "schedule", "cron": "@daily"},
                    "actions": [task({"user_field": "owner_id"})]},
    }
    assert errors_of(rules) == []


@pytest.mark.parametrize("cron", ["0 25 * * *", "61 * * * *", "0 9 * *", "0 0 30 2 *", "0 9 * * FUNDAY", "@often"])
def test_a_bad_cron_gives_the_cron_modules_sentence(cron: str) -> None:
    with pytest.raises(CronError) as refused:
        parse_cron(cron)
    rule = copy.deepcopy(SCHEDULE)
    rule["trigger"]["cron"] = cron
    errors = errors_of({"weekly": rule})
    assert [(e.file, e.path, e.message) for e in errors] == [
        ("workflow_rules/weekly.json", "$.trigger.cron", str(refused.value))]


def test_start_approval_needs_an_approval_process() -> None:
    """Until a process of that name is in the set, a rule that starts it could never run."""
    contract = ObjectFields(fields={"status": FieldType.STRING}, lookups={}, computed=frozenset())
    rule = {"object": "contract", "trigger": {"type": "record", "events": ["created"]},
            "actions": [{"type": "start_approval", "process": "big_deal"}]}
    assert check_rule(rule, {"contract": contract}, ["contract"], [], approval_processes=["big_deal"]) == []
    refused = check_rule(rule, {"contract": contract}, ["contract"], [], approval_processes=["big_deals", "renewal"])
    assert refused == [(("actions", 0, "process"), "no approval process named 'big_deal' "
                        "(approval processes: big_deals, renewal); did you mean 'big_deals'?")]


def test_every_action_type_of_the_meta_schema_has_a_check() -> None:
    """The runtime's registry of actions is asserted against ACTION_TYPES: it must be the enum."""
    enum = meta_schema("workflow_rule")["$defs"]["action"]["properties"]["type"]["enum"]
    assert ACTION_TYPES == frozenset(enum)


@pytest.mark.parametrize("target", ["record", "account"])
def test_setting_the_owner_is_allowed(target: str) -> None:
    rule = copy.deepcopy(RECORD)
    rule["actions"] = [update({"owner_id": "created_by"}, target=target)]
    assert errors_of({"hand_over": rule}) == []


def test_each_mistake_in_each_rule_is_reported_once() -> None:
    typo = copy.deepcopy(RECORD)
    typo["trigger"]["fields"][0] = "stauts"
    typo["actions"][1]["to"][0] = {"role": "manger"}
    typo["condition"] = "amout > 0"
    late = copy.deepcopy(DATE)
    late["trigger"]["at"] = "9:00"
    late["trigger"]["unti"] = "days"
    errors = errors_of({"typo": typo, "late": late, "fine": SCHEDULE})
    assert [(e.file, e.path) for e in errors] == [
        ("workflow_rules/late.json", "$.trigger.at"),
        ("workflow_rules/late.json", "$.trigger.unti"),
        ("workflow_rules/typo.json", "$.actions[1].to[0].role"),
        ("workflow_rules/typo.json", "$.condition"),
        ("workflow_rules/typo.json", "$.trigger.fields[0]"),
    ]


# --- a rule on an object that is itself broken --------------------------------------------------


def breaking(obj: str, change: Callable[[dict[str, Any]], Any]) -> Objects:
    objects = fixture_objects()
    change(objects[obj])
    return objects


BROKEN_OBJECTS = {
    "properties is a list": ("contract", lambda doc: doc.__setitem__("properties", ["name"]), "$.properties"),
    "properties is text": ("contract", lambda doc: doc.__setitem__("properties", "name"), "$.properties"),
    "properties missing": ("contract", lambda doc: doc.pop("properties"), "$"),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN_OBJECTS))
@pytest.mark.parametrize("base", sorted(BASES))
def test_a_rule_on_a_broken_object_is_not_blamed(base: str, breakage: str) -> None:
    obj, change, path = BROKEN_OBJECTS[breakage]
    rule = copy.deepcopy(BASES[base])
    rule["object"] = obj
    rule["condition"] = "nothing_here > 1"  # would be an error if the object could be checked
    errors = errors_of({"renewal": rule}, breaking(obj, change))
    assert [(e.file, e.path) for e in errors] == [(f"objects/{obj}.json", path)], shown(errors)


@pytest.mark.parametrize("action", [
    update({"no_such_field": "1"}, target="account"),
    notify({"field": "account.no_such_field"}),
    task({"user_field": "account.no_such_field"}),
], ids=["update through the lookup", "notify a field through the lookup", "task for a field through the lookup"])
def test_a_rule_reaching_a_broken_object_through_a_lookup_is_not_blamed(action: Rule) -> None:
    rule = copy.deepcopy(RECORD)
    rule["actions"] = [action]
    rule["condition"] = "account.no_such_field == 1"
    errors = errors_of({"renewal": rule}, breaking("account", lambda doc: doc.__setitem__("properties", 3)))
    assert [(e.file, e.path) for e in errors] == [("objects/account.json", "$.properties")], shown(errors)


def test_creating_a_record_of_a_broken_object_is_not_blamed() -> None:
    rule = copy.deepcopy(RECORD)
    rule["actions"] = [create("ticket", {"no_such_field": "name"})]
    errors = errors_of({"renewal": rule}, breaking("ticket", lambda doc: doc.__setitem__("properties", 3)))
    assert [(e.file, e.path) for e in errors] == [("objects/ticket.json", "$.properties")], shown(errors)


def test_a_lookup_to_nowhere_is_blamed_on_the_lookup_only() -> None:
    rule = copy.deepcopy(DATE)
    zone_field("account.name")(rule)
    rule["actions"] = [update({"notes": "name"}, target="account")]
    errors = errors_of({"renewal": rule}, breaking("contract", lambda doc: doc["properties"]["account"].update(
        {"x-ref": "acount"})))
    assert [(e.file, e.path) for e in errors] == [("objects/contract.json", "$.properties.account.x-ref")], shown(errors)


@pytest.mark.parametrize("field_name", ["amount", "days_to_end", "name"])
def test_a_broken_field_is_blamed_on_the_object_only(field_name: str) -> None:
    """A field whose definition is broken still counts as a field: naming it is no error."""
    rule = copy.deepcopy(RECORD)
    rule["trigger"]["fields"] = [field_name]
    rule["condition"] = f"not is_blank({field_name})"
    rule["actions"] = [update({field_name: "None"}), notify({"field": field_name})]
    objects = breaking("contract", lambda doc: doc["properties"][field_name].__setitem__("type", "money"))
    errors = errors_of({"renewal": rule}, objects)
    assert [(e.file, e.path) for e in errors] == [("objects/contract.json", f"$.properties.{field_name}.type")], \
        shown(errors)


def test_a_date_trigger_on_a_broken_field_is_not_blamed() -> None:
    objects = breaking("contract", lambda doc: doc["properties"]["end_date"].__setitem__("x-colour", "red"))
    errors = errors_of({"renewal": DATE}, objects)
    assert [(e.file, e.path) for e in errors] == [("objects/contract.json", "$.properties.end_date.x-colour")], \
        shown(errors)


def test_check_rule_leaves_the_types_of_untyped_fields_alone() -> None:
    """What validate_set must hand check_rule for the test above: the broken field as untyped."""
    contract = ObjectFields(fields={"end_date": FieldType.STRING, "tz": FieldType.STRING, "owner_id": FieldType.STRING},
                            lookups={}, computed=frozenset())
    rule = {**DATE, "trigger": {"type": "date", "field": "end_date", "offset": 0, "timezone_field": "tz"},
            "condition": "True", "actions": [notify({"user_field": "owner_id"})]}
    assert [parts for parts, _ in check_rule(rule, {"contract": contract}, ["contract"], [])] == [("trigger", "field")]
    untyped = ObjectFields(contract.fields, {}, frozenset(), untyped=frozenset({"end_date"}))
    assert check_rule(rule, {"contract": untyped}, ["contract"], []) == []


# --- files ----------------------------------------------------------------------------------------


def write_app(folder: Path, rules: dict[str, Rule], raw: dict[str, bytes] | None = None) -> Path:
    """The CRM fixture's objects, the roles and the given rules as files."""
    for kind_folder, items in (("objects", fixture_objects()), ("roles", ROLES), ("workflow_rules", rules)):
        (folder / kind_folder).mkdir(parents=True, exist_ok=True)
        for name, document in items.items():
            (folder / kind_folder / f"{name}.json").write_text(pretty_json(document), encoding="utf-8")
    for relative, data in (raw or {}).items():
        (folder / relative).write_bytes(data)
    return folder


def test_rules_round_trip_through_a_folder(tmp_path: Path) -> None:
    metadata = load_documents(documents(BASES))
    assert metadata.names("workflow_rule") == ["before_save", "date", "record", "schedule"]
    write_folder(metadata, tmp_path / "out")
    files = sorted(p.name for p in (tmp_path / "out" / "workflow_rules").iterdir())
    assert files == ["before_save.json", "date.json", "record.json", "schedule.json"]
    again = load_folder(tmp_path / "out")
    assert again == metadata
    assert again[("workflow_rule", "record")] == RECORD


def test_a_rule_written_as_a_file_loads(tmp_path: Path) -> None:
    metadata = load_folder(write_app(tmp_path, {"renewal": DATE}))
    assert metadata[("workflow_rule", "renewal")] == DATE


def test_errors_from_files_name_the_rule_file(tmp_path: Path) -> None:
    bad = copy.deepcopy(DATE)
    bad["trigger"]["field"] = "end_dat"
    raw = {"workflow_rules/broken.json": b'{"object": "contract",\n "trigger": }'}
    errors = load_errors(write_app(tmp_path, {"renewal": bad, "fine": SCHEDULE}, raw))
    assert [(e.file, e.path) for e in errors] == [
        ("workflow_rules/broken.json", "$"),
        ("workflow_rules/renewal.json", "$.trigger.field"),
    ]
    assert "invalid JSON at line 2" in errors[0].message
    assert "did you mean 'end_date'?" in errors[1].message


def test_a_rule_on_an_unreadable_object_is_not_blamed(tmp_path: Path) -> None:
    folder = write_app(tmp_path, {"renewal": RECORD})
    (folder / "objects" / "contract.json").write_text("{ not json", encoding="utf-8")
    assert [e.file for e in load_errors(folder)] == ["objects/contract.json"]


def test_a_rule_naming_an_unreadable_role_is_not_blamed(tmp_path: Path) -> None:
    folder = write_app(tmp_path, {"renewal": SCHEDULE})
    (folder / "roles" / "manager.json").write_text("[", encoding="utf-8")
    assert [e.file for e in load_errors(folder)] == ["roles/manager.json"]
