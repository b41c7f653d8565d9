"""Approvals in every tenant schema: submit, decide, recall and reassign; read requests.

Mutations `submitForApproval(object, id, process, comment)`, `approveRequest(id, comment)`,
`rejectRequest(id, comment)`, `recallRequest(id, comment)`, `reassignApproval(id, to, from)`,
`delegateApprovals(delegate, from, to, user, object, process)`; queries `approvalRequest(id)`,
`approvalRequests(where, first, after)`, `myPendingApprovals(first)`, `myDelegations` and
`simulateApproval(object, id, values, process, submitter)`; on every record type,
`approvalRequests(status)`. Each resolver calls the approvals engine or its queries in the
thread pool; errors keep the runtime's codes (FORBIDDEN for a non-approver, CONFLICT for a
decided step, BAD_USER_INPUT with the argument's path, NOT_FOUND).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from trellis.metadata.model import ObjectDef
from trellis.runtime.approvals.delegations import delegate as delegate_for
from trellis.runtime.approvals.delegations import delegations_of
from trellis.runtime.approvals.engine import ApprovalEngine
from trellis.runtime.approvals.processes import ProcessBook
from trellis.runtime.approvals.queries import DEFAULT_PAGE, list_requests, pending_for, requests_of_records
from trellis.runtime.approvals.simulator import simulate
from trellis.runtime.approvals.views import RequestView
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.graphql.errors import api_error, bad_input
from trellis.runtime.graphql.inbox import InboxFields, PlatformFields
from trellis.runtime.graphql.maker import Arg, Resolver, TypeMaker
from trellis.runtime.graphql.resolvers import _call, context, given
from trellis.runtime.releases import MetadataStore


def _engine(info: Info) -> ApprovalEngine:
    records = context(info).records
    return ApprovalEngine(records.db, records.registry, ProcessBook(MetadataStore(records.db)), str(records.timezone),
                          records.locale, records.clock, hooks=records.hooks)


def _request(view: RequestView) -> dict[str, Any]:
    found = asdict(view)
    found["events"] = [{**e, "detail": json.dumps(e["detail"], ensure_ascii=False, default=str) if e["detail"] else None}
                       for e in found["events"]]
    return found


# -- resolvers -------------------------------------------------------------------------------------

async def submit_for_approval(root: Any, info: Info, object: str, id: str, process: str,
                              comment: str | None = None) -> dict[str, Any]:
    engine = _engine(info)
    return _request(await _call(engine.submit, context(info).actor, object, id, process, given(comment)))


async def approve_request(root: Any, info: Info, id: str, comment: str | None = None) -> dict[str, Any]:
    return _request(await _call(_engine(info).approve, context(info).actor, id, given(comment)))


async def reject_request(root: Any, info: Info, id: str, comment: str | None = None) -> dict[str, Any]:
    return _request(await _call(_engine(info).reject, context(info).actor, id, given(comment)))


async def recall_request(root: Any, info: Info, id: str, comment: str | None = None) -> dict[str, Any]:
    return _request(await _call(_engine(info).recall, context(info).actor, id, given(comment)))


async def reassign_approval(root: Any, info: Info, id: str, to: str, from_: str | None = None) -> dict[str, Any]:
    return _request(await _call(_engine(info).reassign, context(info).actor, id, to, given(from_)))


async def approval_request(root: Any, info: Info, id: str) -> dict[str, Any]:
    return _request(await _call(_engine(info).get, context(info).actor, id))


async def approval_requests(root: Any, info: Info, status: str | None = None, object: str | None = None,
                            record_id: str | None = None, first: int = DEFAULT_PAGE,
                            after: str | None = None) -> dict[str, Any]:
    ctx = context(info)
    page = await _call(lambda: list_requests(ctx.records.db, ctx.actor, status=given(status),
                                             object_name=given(object), record_id=given(record_id),
                                             first=first, after=given(after)))
    nodes = [_request(v) for v in page.requests]
    return {"nodes": nodes, "page_info": {
        "has_next_page": page.has_next, "has_previous_page": after not in (None, UNSET),
        "start_cursor": nodes[0]["id"] if nodes else None, "end_cursor": nodes[-1]["id"] if nodes else None}}


async def my_pending_approvals(root: Any, info: Info, first: int = DEFAULT_PAGE) -> list[dict[str, Any]]:
    ctx = context(info)
    return [_request(v) for v in await _call(pending_for, ctx.records.db, ctx.actor, first)]


async def simulate_approval(root: Any, info: Info, object: str, id: str | None = None, values: str | None = None,
                            process: str | None = None, submitter: str | None = None) -> dict[str, Any]:
    ctx = context(info)
    try:
        draft = json.loads(values) if values not in (None, UNSET) else None
    except json.JSONDecodeError as error:
        raise bad_input("values", f"expected a JSON object of field values: {error}") from None
    if draft is not None and not isinstance(draft, dict):
        raise bad_input("values", "expected a JSON object of field values")
    records = ctx.records
    found = await _call(lambda: simulate(records.db, records.registry, ctx.actor, object, given(id), draft,
                                         process=given(process), submitter=given(submitter),
                                         timezone=str(records.timezone), locale=records.locale, clock=records.clock))
    return asdict(found)


async def delegate_approvals(root: Any, info: Info, delegate: str, starts_at: datetime, ends_at: datetime,
                             user: str | None = None, object: str | None = None,
                             process: str | None = None) -> dict[str, Any]:
    ctx = context(info)
    records = ctx.records
    user_email = given(user) or ctx.actor.email
    found = await _call(lambda: delegate_for(records.db, ctx.actor, user_email, delegate, starts_at, ends_at,
                                             object_name=given(object), process=given(process), clock=records.clock))
    return asdict(found)


async def my_delegations(root: Any, info: Info) -> list[dict[str, Any]]:
    ctx = context(info)
    return [asdict(d) for d in await _call(delegations_of, ctx.records.db, ctx.actor.user_id)]


def record_requests(object_name: str) -> Resolver:
    """A record's approval requests, batched for the records of a page (one query)."""
    async def resolve(root: Mapping[str, Any], info: Info, status: str | None = None) -> list[dict[str, Any]]:
        ctx = context(info)
        wanted = given(status)
        loader = ctx.loaders.batched(f"approval_requests:{object_name}:{wanted}", lambda ids: requests_of_records(
            ctx.records.db, object_name, ids, wanted))
        try:
            return [_request(view) for view in await loader.load(root["id"])]
        except RuntimeProblem as error:
            raise api_error(error) from None
    return resolve


def record_fields(maker: TypeMaker) -> Callable[[ObjectDef], list[StrawberryField]]:
    """The field every record type gets: `approvalRequests(status)`."""
    def fields(obj: ObjectDef) -> list[StrawberryField]:
        return [maker.field("approval_requests__platform", "approvalRequests", "list[ApprovalRequest]",
                            resolver=record_requests(obj.name),
                            args=[Arg("status", "status", "str | None", "pending, approved, rejected or recalled")],
                            description="The approval requests of this record, newest first.")]
    return fields


# -- the schema's part -----------------------------------------------------------------------------

class ApprovalFields(PlatformFields):
    """The approval types and root fields, named beside the inbox's (`platform` allots names)."""

    def __init__(self, platform: InboxFields):
        self.platform = platform
        f = platform.maker.field
        self.task = platform.maker.object_type(platform._type("ApprovalTask"), [
            f("id", "id", "ID"), f("step", "step", "int"), f("step_name", "stepName", "str"),
            f("approver_id", "approverId", "ID"),
            f("delegated_from", "delegatedFrom", "ID | None", description="The user this delegate stands in for."),
            f("status", "status", "str", description="pending, approved, rejected, closed or reassigned"),
            f("comment", "comment", "str | None"), f("created_at", "createdAt", "DateTime"),
            f("decided_at", "decidedAt", "DateTime | None")],
            "One approver's part in one step of a request.").__name__
        self.event = platform.maker.object_type(platform._type("ApprovalEvent"), [
            f("at", "at", "DateTime"), f("actor_id", "actorId", "str", description="A user id, or system."),
            f("event", "event", "str"), f("step", "step", "int | None"),
            f("detail", "detail", "str | None", description="JSON: the comment, a skipped step's condition, notes.")],
            "One entry in a request's history.").__name__
        self.request = platform.maker.object_type(platform._type("ApprovalRequest"), [
            f("id", "id", "ID"), f("process", "process", "str"),
            f("release", "release", "int", description="The release the process is pinned to."),
            f("object", "object", "str"), f("record_id", "recordId", "ID"),
            f("status", "status", "str", description="pending, approved, rejected or recalled"),
            f("step", "step", "int | None", description="The current step's position while pending."),
            f("submitted_by", "submittedBy", "ID"), f("submitted_at", "submittedAt", "DateTime"),
            f("comment", "comment", "str | None"), f("decided_at", "decidedAt", "DateTime | None"),
            f("tasks", "tasks", f"list[{self.task}]"), f("events", "events", f"list[{self.event}]")],
            "A record submitted to an approval process, with every step's decisions and its history.").__name__
        self.connection = platform.maker.object_type(platform._type("ApprovalRequestConnection"), [
            f("nodes", "nodes", f"list[{self.request}]"), f("page_info", "pageInfo", "PageInfo")],
            "A page of approval requests, newest first.").__name__
        self.simulated_approver = platform.maker.object_type(platform._type("SimulatedApprover"), [
            f("email", "email", "str"), f("name", "name", "str"),
            f("stands_in_for", "standsInFor", "str | None", description="The email of the person away, "
                                                                       "when a delegate is asked.")],
            "Someone a simulated step would ask.").__name__
        self.simulated_step = platform.maker.object_type(platform._type("SimulatedApprovalStep"), [
            f("name", "name", "str"), f("label", "label", "str"), f("condition", "condition", "str | None"),
            f("condition_value", "conditionValue", "bool | None", description="Null when the step has no condition."),
            f("runs", "runs", "bool"), f("mode", "mode", "str"), f("needed", "needed", "int"),
            f("approvers", "approvers", f"list[{self.simulated_approver}]"),
            f("away", "away", "list[str]", description="Emails of people away without a usable delegate."),
            f("notes", "notes", "list[str]"), f("escalation_at", "escalationAt", "DateTime | None"),
            f("escalation_action", "escalationAction", "str | None"), f("reminder_at", "reminderAt", "DateTime | None")],
            "What one step would do.").__name__
        self.simulation = platform.maker.object_type(platform._type("ApprovalSimulation"), [
            f("process", "process", "str"), f("object", "object", "str"), f("record_id", "recordId", "ID | None"),
            f("release", "release", "int"), f("entry_condition", "entryCondition", "str | None"),
            f("entry_condition_met", "entryConditionMet", "bool"), f("submitter", "submitter", "str"),
            f("steps", "steps", f"list[{self.simulated_step}]")],
            "Who would approve a record, step by step; nothing was written.").__name__
        self.delegation = platform.maker.object_type(platform._type("ApprovalDelegation"), [
            f("id", "id", "ID"), f("user_id", "userId", "ID", description="The user who is away."),
            f("delegate_id", "delegateId", "ID", description="Who approves in their place."),
            f("starts_at", "startsAt", "DateTime"), f("ends_at", "endsAt", "DateTime"),
            f("object", "object", "str | None", description="Only requests of this object; null: all."),
            f("process", "process", "str | None", description="Only this process; null: all.")],
            "While a user is away, a delegate is asked in their place.").__name__

    def query_fields(self) -> list[StrawberryField]:
        field = self.platform._field
        return [
            field("approvalRequest", self.request, approval_request, [("id", "id", "ID", UNSET)],
                  "An approval request, for its submitter, its approvers, admins and readers of its record."),
            field("approvalRequests", self.connection, approval_requests, [
                ("status", "status", "str | None", UNSET), ("object", "object", "str | None", UNSET),
                ("record_id", "recordId", "ID | None", UNSET), ("first", "first", "int", DEFAULT_PAGE),
                ("after", "after", "str | None", UNSET)],
                "Approval requests the caller takes part in (admins: all), newest first; "
                "`after` takes a `pageInfo.endCursor`."),
            field("myPendingApprovals", f"list[{self.request}]", my_pending_approvals,
                  [("first", "first", "int", DEFAULT_PAGE)], "The requests that wait for the caller's decision."),
            field("simulateApproval", self.simulation, simulate_approval, [
                ("object", "object", "str", UNSET), ("id", "id", "ID | None", UNSET),
                ("values", "values", "str | None", UNSET), ("process", "process", "str | None", UNSET),
                ("submitter", "submitter", "str | None", UNSET)],
                "Who would approve a record (by `id`, or draft `values` as a JSON object, or both): each step run "
                "or skipped and why, whom it asks after delegations, escalation times. Nothing is written."),
            field("myDelegations", f"list[{self.delegation}]", my_delegations, [],
                  "The caller's delegations (past, current and future), by start."),
        ]

    def mutation_fields(self) -> list[StrawberryField]:
        field = self.platform._field
        comment = ("comment", "comment", "str | None", UNSET)
        return [
            field("submitForApproval", self.request, submit_for_approval, [
                ("object", "object", "str", UNSET), ("id", "id", "ID", UNSET), ("process", "process", "str", UNSET),
                comment], "Submit a record to an approval process.", query=False),
            field("approveRequest", self.request, approve_request, [("id", "id", "ID", UNSET), comment],
                  "Approve the current step of a request as one of its approvers.", query=False),
            field("rejectRequest", self.request, reject_request, [("id", "id", "ID", UNSET), comment],
                  "Reject a request as one of its approvers; the comment says why and is required.", query=False),
            field("recallRequest", self.request, recall_request, [("id", "id", "ID", UNSET), comment],
                  "Withdraw a pending request (its submitter or an admin).", query=False),
            field("reassignApproval", self.request, reassign_approval, [
                ("id", "id", "ID", UNSET), ("to", "to", "str", UNSET), ("from_", "from", "str | None", UNSET)],
                "Admins: hand a pending approver's task (`from`, an email) to another user (`to`).", query=False),
            field("delegateApprovals", self.delegation, delegate_approvals, [
                ("delegate", "delegate", "str", UNSET), ("starts_at", "from", "DateTime", UNSET),
                ("ends_at", "to", "DateTime", UNSET), ("user", "user", "str | None", UNSET),
                ("object", "object", "str | None", UNSET), ("process", "process", "str | None", UNSET)],
                "Let `delegate` (an email) approve for the caller (admins: for `user`) from `from` until `to`, "
                "for every request or only those of `object` or `process`; steps starting meanwhile ask them.",
                query=False),
        ]
