"""The `approval_process` kind: who must approve a record before it counts, step by step.

A process (`approval_processes/<name>.json`) names its object, an entry condition, who may
submit, ordered steps (each with an optional condition that skips it, its approvers, a mode —
any, all or at least N — an escalation and reminders), how the record is locked while pending
and the actions run on approval, rejection or recall (the workflow-rule action vocabulary,
checked by `workflow_rules.check_outcome_actions`). Everything is checked at publish, so a
process that publishes is one the engine (`trellis.runtime.approvals`) can run.

Users are not metadata: a `{"user": email}` approver is checked for its shape here and
resolved when the step starts (an unknown or inactive user is reported by the simulator and
the step falls back as the engine documents).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from trellis.metadata.definitions import FieldType
from trellis.metadata.errors import Parts
from trellis.metadata.expressions import check
from trellis.metadata.kind import ItemProblem, Kind, Problem, Report, SetView
from trellis.metadata.metaschemas import meta_validator
from trellis.metadata.names import check_object_name
from trellis.metadata.object_checks import sound_objects
from trellis.metadata.suggestions import suggest
from trellis.metadata.workflow_rules import ObjectFields, check_outcome_actions, object_fields, unknown_object

OUTCOMES = ("on_approved", "on_rejected", "on_recalled")
#: Approver entries that name exactly one person: N-of-M can be judged at publish over these.
_SINGLE = frozenset({"user", "user_field", "manager"})
_TEXTUAL = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.ENUM, FieldType.LOOKUP})


def at_least(mode: Any) -> int | None:
    """N of an `{"at_least": N}` mode, else None."""
    return mode["at_least"] if isinstance(mode, Mapping) else None


def sound_process(name: str, document: Mapping[str, Any], broken: Sequence[Parts], report: Report) -> Any:
    """What one document can be judged on alone: unique step names, N against the approvers
    that are one person each, escalations that say whom they mean."""
    if broken:
        return None
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for index, step in enumerate(document["steps"]):
        parts: Parts = ("steps", index)
        if step["name"] in seen:
            problems.append(((*parts, "name"), f"step '{step['name']}' is also the name of step {seen[step['name']] + 1}; "
                                         "step names must be unique"))
        seen.setdefault(step["name"], index)
        n = at_least(step.get("mode", "any"))
        approvers = step["approvers"]
        if n is not None and all(next(iter(a)) in _SINGLE for a in approvers) and n > len(approvers):
            problems.append(((*parts, "mode", "at_least"),
                             f"at_least {n} needs {n} approvers, but the step names {len(approvers)} "
                             f"(each a single person); lower N or add approvers"))
        escalation = step.get("escalation")
        if escalation is not None:
            needs_to = escalation["action"] in ("notify", "reassign")
            if needs_to and "to" not in escalation:
                problems.append(((*parts, "escalation"), f"escalation {escalation['action']} needs \"to\": whom to "
                                 f"{escalation['action']} (e.g. {{\"role\": \"manager\"}})"))
            elif not needs_to and "to" in escalation:
                problems.append(((*parts, "escalation", "to"), f"escalation {escalation['action']} decides the "
                                 "step itself; \"to\" applies to notify and reassign"))
    for parts, message in problems:
        report.add(parts, message)
    return None if problems else document


def check_processes(view: SetView) -> Iterator[ItemProblem]:
    """Every process against its object, its fields and the roles of the set."""
    objects = {name: object_fields(obj) for name, obj in sound_objects(view).items()}
    for name, document in view.sound("approval_process").items():
        for parts, message in check_process(document, objects, view.all_names("object"), view.all_names("role")):
            yield name, parts, message


def check_process(document: Mapping[str, Any], objects: Mapping[str, ObjectFields],
                  all_objects: Collection[str], roles: Collection[str]) -> list[Problem]:
    """Every problem of one process that passed its own checks."""
    unknown = unknown_object(document["object"], objects, all_objects)
    if unknown is not None:
        return unknown
    return list(_ProcessCheck(document, objects, all_objects, roles).problems())


class _ProcessCheck:
    def __init__(self, document: Mapping[str, Any], objects: Mapping[str, ObjectFields],
                 all_objects: Collection[str], roles: Collection[str]):
        self.document = document
        self.objects = objects
        self.all_objects = all_objects
        self.roles = roles
        self.name = document["object"]
        self.object = objects[self.name]
        self.lookups = {f: objects[target].fields for f, target in self.object.lookups.items() if target in objects}

    def problems(self) -> Iterator[Problem]:
        document = self.document
        if "entry_condition" in document:
            yield from self.expression(("entry_condition",), document["entry_condition"])
        for index, submitter in enumerate(document.get("submitters", ())):
            if isinstance(submitter, Mapping):
                yield from self.role(("submitters", index, "role"), submitter["role"])
        for index, step in enumerate(document["steps"]):
            parts: Parts = ("steps", index)
            if "condition" in step:
                yield from self.expression((*parts, "condition"), step["condition"])
            for position, approver in enumerate(step["approvers"]):
                yield from self.approver((*parts, "approvers", position), approver)
            escalation = step.get("escalation", {})
            if "to" in escalation:
                yield from self.approver((*parts, "escalation", "to"), escalation["to"])
        lock = document.get("lock", "record")
        if isinstance(lock, Mapping):
            for index, field_name in enumerate(lock["fields"]):
                if field_name not in self.object.fields:
                    yield ("lock", "fields", index), f"'{field_name}' is not a field of {self.name}" \
                                                     f"{suggest(field_name, self.object.fields)}"
        for outcome in OUTCOMES:
            if outcome in document:
                yield from check_outcome_actions(self.name, document[outcome], (outcome,), self.objects,
                                                 self.all_objects, self.roles)

    def approver(self, parts: Parts, approver: Mapping[str, Any]) -> Iterator[Problem]:
        (key, value), = approver.items()
        if key == "role":
            yield from self.role((*parts, "role"), value)
        elif key == "user_field":
            yield from self.user_field((*parts, "user_field"), value)
        elif key == "expression":
            yield from self.expression((*parts, "expression"), value)

    def role(self, parts: Parts, role: str) -> Iterator[Problem]:
        if role not in self.roles and role != "admin":
            known = ", ".join(sorted(self.roles)) or "none"
            yield parts, f"'{role}' is not a role (roles: {known}){suggest(role, self.roles)}"

    def user_field(self, parts: Parts, path: str) -> Iterator[Problem]:
        """A field (or lookup.field) holding a user id, such as owner_id or account.owner_id."""
        base, _, attr = path.partition(".")
        fields: Mapping[str, FieldType] = self.object.fields
        where = self.name
        if attr:
            if base not in self.object.lookups:
                yield parts, f"'{base}' is not a lookup of {self.name}{suggest(base, self.object.lookups)}"
                return
            if base not in self.lookups:
                return  # the target is broken; reported in its own file
            fields, where = self.lookups[base], f"{self.object.lookups[base]} (the object '{base}' points to)"
        name = attr or base
        field_type = fields.get(name)
        if field_type is None:
            yield parts, f"'{name}' is not a field of {where}{suggest(name, fields)}"
        elif field_type not in _TEXTUAL:
            yield parts, f"'{path}' is a {field_type.value} field; it must be a text field holding a user id"

    def expression(self, parts: Parts, source: str) -> Iterator[Problem]:
        for problem in check(source, self.object.fields, self.lookups):
            yield parts, problem


KIND = Kind(
    name="approval_process",
    folder="approval_processes",
    meta_validator=meta_validator("approval_process", borrowing="workflow_rule"),
    check_name=partial(check_object_name, what="approval process"),
    check_document=sound_process,
    check_set=check_processes,
)

__all__ = ["KIND", "OUTCOMES", "at_least", "check_process", "check_processes"]
