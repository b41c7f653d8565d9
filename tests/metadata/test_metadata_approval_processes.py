"""Approval process documents (`approval_processes/<name>.json`): a sound process of every shape
passes, and each mistake an admin can make gives one error naming the file, the JSON path and
what was expected. Pure: no database."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.metadata.test_metadata_workflow_rules import ROLES, fixture_objects, put, shown
from trellis.metadata import MetadataError, MetadataSet, validate_set

Process = dict[str, Any]

QUOTE_DISCOUNT: Process = {
    "x-label": {"en": "Contract discount", "zh-CN": "合同折扣审批"},
    "object": "contract",
    "entry_condition": "discount > 10",
    "submitters": ["owner", {"role": "sales_rep"}],
    "steps": [
        {"name": "manager", "label": {"en": "Manager", "zh-CN": "经理"},
         "approvers": [{"manager": 1}], "mode": "any",
         "escalation": {"after_hours": 24, "action": "reassign", "to": {"role": "manager"}}, "reminder_hours": 8},
        {"name": "vp", "condition": "discount > 20", "approvers": [{"manager": 2}, {"role": "manager"}],
         "mode": {"at_least": 1}, "escalation": {"after_hours": 48, "action": "reject"}},
        {"name": "finance", "approvers": [{"user": "cfo@example.com"}, {"user_field": "account.owner_id"},
                                          {"expression": "owner_id"}], "mode": "all"},
    ],
    "lock": {"fields": ["discount", "amount"]},
    "notify": ["in_app", "email"],
    "on_approved": [{"type": "set_fields", "values": {"status": "'生效'"}},
                    {"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}], "body": "Approved"}],
    "on_rejected": [{"type": "set_fields", "values": {"discount": "0"}}],
    "on_recalled": [{"type": "webhook", "url": "https://hooks.example.com/recalled"}],
    "allow_recall": True,
    "self_approval": "forbid",
}


def errors_of(processes: dict[str, Process]) -> list[MetadataError]:
    items: dict[tuple[str, str], Any] = {("object", n): d for n, d in fixture_objects().items()}
    items.update({("role", n): d for n, d in ROLES.items()})
    items.update({("approval_process", n): d for n, d in processes.items()})
    return validate_set(MetadataSet(items))


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Process], Any]
    path: str
    words: tuple[str, ...]


CASES = [
    Case("unknown object", put("object", value="contrat"), "$.object",
         ("'contrat' is not an object", "did you mean 'contract'?")),
    Case("entry condition that does not parse", put("entry_condition", value="discount >"), "$.entry_condition",
         ("",)),
    Case("entry condition on an unknown field", put("entry_condition", value="discont > 10"), "$.entry_condition",
         ("unknown field 'discont'", "did you mean 'discount'?")),
    Case("step condition on an unknown field", put("steps", 1, "condition", value="amout > 1"),
         "$.steps[1].condition", ("unknown field 'amout'",)),
    Case("unknown role", put("steps", 1, "approvers", 1, "role", value="manger"), "$.steps[1].approvers[1].role",
         ("'manger' is not a role", "did you mean 'manager'?")),
    Case("unknown submitter role", put("submitters", 1, "role", value="rep"), "$.submitters[1].role",
         ("'rep' is not a role",)),
    Case("unknown user field", put("steps", 2, "approvers", 1, "user_field", value="owner"),
         "$.steps[2].approvers[1].user_field", ("'owner' is not a field of contract",)),
    Case("user field through a non-lookup", put("steps", 2, "approvers", 1, "user_field", value="name.owner_id"),
         "$.steps[2].approvers[1].user_field", ("'name' is not a lookup of contract",)),
    Case("user field of a number", put("steps", 2, "approvers", 1, "user_field", value="amount"),
         "$.steps[2].approvers[1].user_field", ("must be a text field holding a user id",)),
    Case("approver expression on an unknown field", put("steps", 2, "approvers", 2, "expression", value="boss"),
         "$.steps[2].approvers[2].expression", ("unknown field 'boss'",)),
    Case("user that is not an email", put("steps", 2, "approvers", 0, "user", value="cfo"),
         "$.steps[2].approvers[0].user", ("expected a user's email",)),
    Case("empty approver list", put("steps", 0, "approvers", value=[]), "$.steps[0].approvers",
         ("expected at least 1 item",)),
    Case("approver of two kinds", put("steps", 0, "approvers", 0, value={"manager": 1, "role": "manager"}),
         "$.steps[0].approvers[0]", ("",)),
    Case("manager three levels up", put("steps", 0, "approvers", 0, value={"manager": 3}),
         "$.steps[0].approvers[0].manager", ("expected one of 1, 2; got 3",)),
    Case("N above the approver count", put("steps", 0, "mode", value={"at_least": 2}),
         "$.steps[0].mode.at_least", ("at_least 2 needs 2 approvers, but the step names 1",)),
    Case("unknown mode", put("steps", 0, "mode", value="most"), "$.steps[0].mode",
         ('expected "any", "all" or {"at_least": N}; got "most"',)),
    Case("unknown lock", put("lock", value="all"), "$.lock", ('expected "record"',)),
    Case("duplicate step names", put("steps", 1, "name", value="manager"), "$.steps[1].name",
         ("step 'manager' is also the name of step 1",)),
    Case("reassign to nobody", put("steps", 0, "escalation", value={"after_hours": 4, "action": "reassign"}),
         "$.steps[0].escalation", ('escalation reassign needs "to"',)),
    Case("escalate to an unknown role", put("steps", 0, "escalation", "to", "role", value="boss"),
         "$.steps[0].escalation.to.role", ("'boss' is not a role",)),
    Case("lock an unknown field", put("lock", value={"fields": ["discount", "amont"]}), "$.lock.fields[1]",
         ("'amont' is not a field of contract", "did you mean 'amount'?")),
    Case("outcome setting an unknown field", put("on_rejected", 0, "values", value={"discont": "0"}),
         "$.on_rejected[0].values.discont", ("'discont' is not a field of contract",)),
    Case("outcome that is a rule-only action", put("on_rejected", 0, value={"type": "start_approval",
                                                                              "process": "x"}),
         "$.on_rejected[0].type", ("expected one of",)),
    Case("outcome notify to an unknown role", put("on_approved", 1, "to", 0, value={"role": "boss"}),
         "$.on_approved[1].to[0].role", ("'boss' is not a role",)),
    Case("unknown self approval policy", put("self_approval", value="sometimes"), "$.self_approval",
         ("expected one of",)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_a_mistake_gives_one_clear_error(case: Case) -> None:
    process = copy.deepcopy(QUOTE_DISCOUNT)
    case.change(process)
    errors = errors_of({"quote_discount": process})
    assert [(e.file, e.path) for e in errors] == [("approval_processes/quote_discount.json", case.path)], shown(errors)
    assert all(word in errors[0].message for word in case.words), errors[0].message


def test_a_sound_process_passes() -> None:
    assert errors_of({"quote_discount": QUOTE_DISCOUNT}) == []


def test_the_smallest_process_passes() -> None:
    assert errors_of({"simple": {"object": "ticket", "steps": [{"name": "boss", "approvers": [{"role": "manager"}]}]}}) == []


def test_start_approval_names_a_process_of_the_set() -> None:
    """The rule check that waited for this kind: a rule may now start a process that exists."""
    rule = {"object": "contract", "trigger": {"type": "record", "events": ["updated"]},
            "actions": [{"type": "start_approval", "process": "quote_discount"}]}
    items: dict[tuple[str, str], Any] = {("object", n): d for n, d in fixture_objects().items()}
    items.update({("role", n): d for n, d in ROLES.items()})
    items[("approval_process", "quote_discount")] = copy.deepcopy(QUOTE_DISCOUNT)
    items[("workflow_rule", "big_discount")] = rule
    assert validate_set(MetadataSet(items)) == []


def test_the_readme_example_publishes() -> None:
    """The worked example in README.md is a process that publishes against the CRM fixture."""

    readme = (Path(__file__).parents[2] / "README.md").read_text("utf-8")
    section = readme[readme.index("## Approval processes"):]
    example = json.loads(section[section.index("```json") + len("```json"):section.index("```\n")])
    items: dict[tuple[str, str], Any] = {("object", n): d for n, d in fixture_objects().items()}
    items.update({("role", n): {} for n in ("sales_director", "finance")})
    items[("approval_process", "discount")] = example
    assert validate_set(MetadataSet(items)) == []
