"""The registry of workflow action types: each type plans at firing and performs at delivery.

An after-save action has two halves that run at different times. `plan` runs when the rule
fires, inside the transaction that saved the record or scanned the rule, and turns the rule's
action spec and the firing into ledger rows (`PlannedDelivery`: who it is for, what exactly to
do, rendered now). `perform` runs later in the dispatcher, once per claimed ledger row
(`Delivery`). The ledger row's `kind` is the action type's name, which is how the dispatcher
finds the type again; nothing outside this package branches on action types.

Adding an action type — `create_task` as the example:

1. The metadata language: add `"create_task"` to the `enum` of the action `type` in
   `trellis/metadata/meta_schemas/workflow_rule.schema.json`, with the shape of its spec
   (`title`, `description`, `assignee`, `due_in_days`), and its publish-time checks (templates
   that compile, a role or user field that exists) in `trellis/metadata/workflow_rules.py`.
2. A module in this package, `tasks.py`, with a class that has
   * `name = "create_task"`;
   * `after_save = True` (False only for types on_save.py applies to the record before it is
     saved, like `set_fields`: those are never planned);
   * `atomic = True`, because it writes to the tenant's own database: the dispatcher then
     performs it inside the transaction that marks the ledger row sent, so the task exists
     exactly once. A type that calls the outside world (a message) is `atomic = False`: the
     dispatcher marks the row sent after the receiver acknowledged it, and the receiver must
     dedupe on `delivery.id`, because a crash in between sends it again;
   * `plan(firing, action, ctx) -> list[PlannedDelivery]`: one row per assignee the spec names
     (`ctx.people_named`), or one with recipient `''`; `channel` is `''` (it is the message
     channel, for messages only); the payload is JSON holding everything `perform` will need —
     title and description rendered with `ctx.templates` and `ctx.template_context`, the due
     date computed — because the rule may change before the row is performed. The ledger's
     unique key is (rule, record, step, due instant, action, channel, recipient): two rows of
     one action need different recipients. Raise EvaluationError or TemplateError when the
     firing cannot be planned; the run is recorded failed with that reason. No query per
     firing beyond what `ctx.people` caches: a date rule may fire for thousands of records;
   * `perform(delivery, ctx) -> None`: write the task through `ctx.db` (for an atomic type,
     the marking transaction) and notify the assignee through `ctx.channels`. Raise
     DeliveryError(reason, retryable=…) on failure, or let a RuntimeProblem of the records
     service through (a Conflict is retried with backoff, anything else is a dead letter).
3. Register an instance in `ACTIONS` below. tests/runtime/automation/test_actions.py checks
   that the registry and the meta-schema name the same types.
4. Tests: the ledger rows a firing plans (tests/runtime/automation/test_on_save.py) and what
   performing them does (`World.dispatch()`), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from trellis.metadata.suggestions import suggest
from trellis.runtime.automation.actions.approvals import StartApproval
from trellis.runtime.automation.actions.base import (
    ActionType,
    Delivery,
    Firing,
    PerformContext,
    PlanContext,
    PlannedDelivery,
)
from trellis.runtime.automation.actions.before_save import BeforeSaveAction
from trellis.runtime.automation.actions.messages import Notify, Webhook
from trellis.runtime.automation.actions.records import CreateRecord, UpdateRecord
from trellis.runtime.automation.actions.tasks import CreateTask

_TYPES: tuple[ActionType, ...] = (
    BeforeSaveAction("set_fields"),
    BeforeSaveAction("reject"),
    UpdateRecord(),
    CreateRecord(),
    CreateTask(),
    Notify(),
    Webhook(),
    StartApproval(),
)

#: Every action type by name.
ACTIONS: Mapping[str, ActionType] = MappingProxyType({t.name: t for t in _TYPES})


class UnknownActionType(LookupError):
    """A name no registered action type has: a ledger row written by another version, or a bug."""


def action_type(name: str) -> ActionType:
    try:
        return ACTIONS[name]
    except KeyError:
        raise UnknownActionType(f"no action type {name!r} (action types: {', '.join(ACTIONS)})"
                                f"{suggest(name, list(ACTIONS))}") from None


__all__ = [
    "ACTIONS",
    "ActionType",
    "Delivery",
    "Firing",
    "PerformContext",
    "PlanContext",
    "PlannedDelivery",
    "UnknownActionType",
    "action_type",
]
