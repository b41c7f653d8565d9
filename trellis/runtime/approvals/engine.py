"""The approval engine: submit, approve, reject, recall and reassign, one transaction each.

Every call opens one write transaction; record reads and writes inside it go through the
records service joined to that transaction (`JoinedDatabase`), so a request, its tasks, its
history, the outcome's record changes and the ledger rows of its messages commit together or
not at all. Concurrency: the request row is locked first (`FOR UPDATE` on PostgreSQL; SQLite
has one writer under `BEGIN IMMEDIATE`) and every decision bumps its `version` with a
compare-and-set, so two approvers racing on an `any` step give one decision and one CONFLICT,
and an `all` step counts each approver once. A record has at most one pending request
(`uq_approval_requests__open`), even when two submit at once.

A request is pinned to the release it started under (`ProcessBook.at`). Outcome actions use
the workflow-rule vocabulary: `set_fields` changes the record in this transaction (audited as
the person who decided, with the process's authority); the others, and the messages asking
approvers, are planned into the delivery ledger by automation's planner and performed by the
dispatcher, exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from trellis.metadata.suggestions import suggest
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database, JoinedDatabase
from trellis.platform.ids import new_id
from trellis.runtime.access import FULL_ACCESS, SYSTEM_USER, Actor, Scope
from trellis.runtime.approvals.approvers import resolve
from trellis.runtime.approvals.processes import Process, ProcessBook, Step
from trellis.runtime.approvals.tables import approval_events, approval_requests, approval_tasks
from trellis.runtime.approvals.views import RequestView, read_request
from trellis.runtime.automation.firing import Firing, Plan, Planner, insert_new
from trellis.runtime.automation.rules import compile_rule
from trellis.runtime.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound, RuntimeProblem
from trellis.runtime.expressions import EvaluationContext, EvaluationError, compile_expression, evaluate
from trellis.runtime.identity.people import People, Person
from trellis.runtime.records.hooks import WriteHook
from trellis.runtime.records.service import RecordsService, UpdateItem
from trellis.runtime.registry import Registry

SYSTEM = SYSTEM_USER

# The statements of every decision, built once: building a statement costs more than running it.
_r, _t = approval_requests.c, approval_tasks.c
_REQUEST = select(approval_requests).where(_r.id == bindparam("b_request"))
_REQUEST_LOCKED = _REQUEST.with_for_update()
_MY_TASK = select(approval_tasks).where(_t.request_id == bindparam("b_request"), _t.step == bindparam("b_step"),
                                        _t.approver_id == bindparam("b_user"))
_BUMP = update(approval_requests).where(_r.id == bindparam("b_request"), _r.version == bindparam("b_version"),
                                        _r.status == "pending").values(version=_r.version + 1)
_DECIDE = update(approval_tasks).where(_t.id == bindparam("b_task"), _t.status == "pending").values(
    status=bindparam("b_status"), comment=bindparam("b_comment"), decided_at=bindparam("b_at"))
_END = update(approval_requests).where(_r.id == bindparam("b_request")).values(
    status=bindparam("b_status"), open_record=None, step=None, decided_at=bindparam("b_at"))
_CLOSE_TASKS = update(approval_tasks).where(_t.request_id == bindparam("b_request"), _t.status == "pending").values(
    status="closed", decided_at=bindparam("b_at"))


@dataclass
class TimerReport:
    reminded: int = 0  # steps whose approvers were reminded
    escalated: int = 0  # steps escalated


class _Call:
    """What one engine call works with, inside its one transaction. The planner (templates,
    people) is made only when the call plans something or reads a record."""

    def __init__(self, conn: Connection, context: EvaluationContext, records: RecordsService, registry: Registry,
                 locale: str):
        self.conn = conn
        self.context = context
        self.records = records
        self.registry = registry
        self.locale = locale
        self.plans: list[Plan] = []
        self.events: list[dict[str, Any]] = []  # history rows, written together by _finish_call
        self.seen: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}  # records read, until written
        self._planner: Planner | None = None
        self._people: People | None = None

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            self._planner = Planner(self.conn, self.registry, self.context, self.locale)
            self._people = self._planner.plan_context.people
        return self._planner

    @property
    def people(self) -> People:
        if self._people is None:
            self._people = People(self.conn)
        return self._people


class ApprovalEngine:
    """Approval requests of one tenant, over its current release (`registry`)."""

    def __init__(self, db: Database, registry: Registry, book: ProcessBook, timezone_name: str, locale: str,
                 clock: Clock = utc_now, *, hooks: Sequence[WriteHook] = ()):
        self.db = db
        self.registry = registry
        self.book = book
        self.timezone = ZoneInfo(timezone_name)
        self.locale = locale
        self.clock = clock
        self.hooks = tuple(hooks)

    # -- the calls -----------------------------------------------------------------------------

    def submit(self, actor: Actor, object_name: str, record_id: str, process_name: str,
               comment: str | None = None) -> RequestView:
        """Start `process_name` for a record; the first step whose condition holds asks its approvers."""
        process = ProcessBook.of(self.registry.metadata, process_name)
        if process is None or not process.active:
            names = sorted(self.registry.metadata.names("approval_process"))
            raise InvalidInput("no such approval process", [FieldProblem(
                "process", f"no active approval process named '{process_name}' "
                           f"(approval processes: {', '.join(names) or 'none'}){suggest(process_name, names)}")])
        if process.object != object_name:
            raise InvalidInput("the process is for another object", [FieldProblem(
                "object", f"approval process '{process_name}' is for {process.object} records, not {object_name}")])
        with self.db.write() as conn:
            call = self._call(conn)
            call.records.get(actor, object_name, record_id)  # NotFound unless the actor may see it
            stored, related = self._record(call, object_name, record_id)
            if not _may_submit(actor, process, stored):
                raise Forbidden(f"you may not submit this {object_name} for {process_name}: "
                                f"submitters are {_submitters(process)}")
            if process.entry_condition is not None:
                holds = _holds(process.entry_condition, stored, related, call.context, "entry_condition")
                if not holds:
                    raise InvalidInput(f"the {object_name} does not meet the entry condition of {process_name}",
                                       [FieldProblem("$", f"entry_condition is false: {process.entry_condition.source}")])
            self._refuse_pending(conn, object_name, record_id)
            request_id = new_id()
            try:
                with conn.begin_nested():
                    conn.execute(insert(approval_requests).values(
                        id=request_id, process=process_name, release=self.registry.release, object=object_name,
                        record_id=record_id, open_record=record_id, status="pending", step=None,
                        lock=json.dumps(process.locked_fields), submitted_by=actor.user_id,
                        submitted_at=call.context.now, comment=comment, decided_at=None, version=1))
            except IntegrityError:
                raise Conflict(f"the {object_name} was submitted for approval by someone else just now") from None
            _event(call, request_id, actor.user_id, "submitted", None, comment=comment)
            self._start(call, process, {"id": request_id, "object": object_name, "record_id": record_id,
                                        "submitted_by": actor.user_id}, 0, actor)
            return self._finish_call(call, request_id)

    def approve(self, actor: Actor, request_id: str, comment: str | None = None) -> RequestView:
        return self._decide(actor, request_id, "approved", comment)

    def reject(self, actor: Actor, request_id: str, comment: str | None) -> RequestView:
        """Rejecting needs a comment saying why: the submitter has to know what to change."""
        if comment is None or not comment.strip():
            raise InvalidInput("a rejection needs a comment", [FieldProblem("comment", "say why the request is rejected")])
        return self._decide(actor, request_id, "rejected", comment)

    def recall(self, actor: Actor, request_id: str, comment: str | None = None) -> RequestView:
        """The submitter (or an admin) withdraws a pending request; the record unlocks."""
        with self.db.write() as conn:
            call = self._call(conn)
            request = self._pending(conn, request_id)
            process = self._pinned(request)
            if actor.user_id != request["submitted_by"] and not _human_admin(actor):
                raise Forbidden("only the submitter or an admin may recall a request")
            if not process.allow_recall:
                raise Forbidden(f"approval process '{process.name}' does not allow recall")
            self._bump(conn, request)
            _event(call, request_id, actor.user_id, "recalled", request["step"], comment=comment)
            self._close(call, process, request, "recalled", "on_recalled", actor)
            return self._finish_call(call, request_id)

    def reassign(self, actor: Actor, request_id: str, to_email: str, from_email: str | None = None) -> RequestView:
        """An admin hands a pending approver's task to someone else (`from_email` may be left out
        when the current step waits for one person only)."""
        if not _human_admin(actor):
            raise Forbidden("only admins may reassign approvals")
        with self.db.write() as conn:
            call = self._call(conn)
            request = self._pending(conn, request_id)
            t = approval_tasks.c
            pending = [dict(row) for row in conn.execute(select(approval_tasks).where(
                t.request_id == request_id, t.step == request["step"], t.status == "pending")).mappings()]
            to = call.people.by_email(to_email)
            if to is None:
                raise InvalidInput("no such user", [FieldProblem("to", f"no active user with email {to_email}")])
            task: dict[str, Any] | None
            if from_email is None:
                if len(pending) != 1:
                    raise InvalidInput("say whose task to reassign", [FieldProblem(
                        "from", f"the step waits for {len(pending)} approvers; name the one to replace")])
                task = pending[0]
            else:
                source = call.people.by_email(from_email)
                task = next((p for p in pending if source and p["approver_id"] == source.id), None)
                if task is None:
                    raise InvalidInput("no such pending approver", [FieldProblem(
                        "from", f"{from_email} has no pending task in the current step")])
            if any(p["approver_id"] == to.id for p in pending):
                raise Conflict(f"{to.email} is already asked in this step")
            self._bump(conn, request)
            conn.execute(update(approval_tasks).where(t.id == task["id"]).values(
                status="reassigned", decided_at=call.context.now))
            step = self._pinned(request).steps[request["step"]]
            self._ask(call, self._pinned(request), request, step, [(to, None)], task, tag="ra")
            _event(call, request_id, actor.user_id, "reassigned", request["step"],
                   detail={"from": task["approver_id"], "to": to.id})
            return self._finish_call(call, request_id)

    def get(self, actor: Actor, request_id: str) -> RequestView:
        """A request with its tasks and history, for its participants, admins and whoever may
        read the record (anyone else is told it does not exist)."""
        with self.db.read() as conn:
            view = read_request(conn, request_id)
            if actor.policy.is_admin or actor.user_id in view.participants():
                return view
        try:
            self._records(self.db).get(actor, view.object, view.record_id)
        except RuntimeProblem:
            raise NotFound(f"no approval request with id '{request_id}'") from None
        return view

    # -- deciding ------------------------------------------------------------------------------

    def _decide(self, actor: Actor, request_id: str, decision: str, comment: str | None) -> RequestView:
        with self.db.write() as conn:
            call = self._call(conn)
            request = self._pending(conn, request_id)
            process = self._pinned(request)
            step = process.steps[request["step"]]
            t = approval_tasks.c
            mine = conn.execute(_MY_TASK, {"b_request": request_id, "b_step": step.index,
                                           "b_user": actor.user_id}).mappings().first()
            if mine is None or mine["status"] == "reassigned":
                raise Forbidden(f"you are not an approver of step '{step.name}' of this request" +
                                (" (your task was reassigned)" if mine is not None else ""))
            if mine["status"] != "pending":
                raise Conflict(f"you can no longer decide step '{step.name}': your task is {mine['status']}")
            self._bump(conn, request)
            done = conn.execute(_DECIDE, {"b_task": mine["id"], "b_status": decision, "b_comment": comment,
                                          "b_at": call.context.now})
            if done.rowcount != 1:
                raise Conflict(f"step '{step.name}' was decided by someone else just now; reload the request")
            _event(call, request_id, actor.user_id, decision, step.index, comment=comment)
            if decision == "rejected":
                self._close(call, process, request, "rejected", "on_rejected", actor)
                return self._finish_call(call, request_id)
            asked, approved = (1, 1) if step.mode == "any" else conn.execute(select(  # one approval decides "any"
                func.count(), func.count().filter(t.status == "approved")).where(
                t.request_id == request_id, t.step == step.index, t.status != "reassigned")).one()
            if approved >= step.needed(asked):
                _event(call, request_id, SYSTEM, "step_approved", step.index,
                       detail={"approvals": approved, "needed": step.needed(asked)})
                self._start(call, process, request, step.index + 1, actor, closing=step.index)
            return self._finish_call(call, request_id)

    # -- timed firings: reminders and escalations -----------------------------------------------

    def run_timers(self, batch: int = 100) -> TimerReport:
        """Send the reminders and run the escalations that are due. Each happens once: its key
        (`remind:<step>:<due>`, `escalate:<step>`) goes into the request's history in the same
        transaction, so a second worker, a restart or a re-run finds it done."""
        now = self.clock()
        t = approval_tasks.c
        with self.db.read() as conn:
            reminders = conn.execute(select(t.request_id, t.step).where(t.status == "pending", t.remind_at <= now)
                                     .group_by(t.request_id, t.step).limit(batch)).all()
            escalations = conn.execute(select(t.request_id, t.step).where(t.status == "pending", t.escalate_at <= now)
                                       .group_by(t.request_id, t.step).limit(batch)).all()
        report = TimerReport()
        for request_id, step in reminders:
            report.reminded += self._timed(request_id, step, self._remind)
        for request_id, step in escalations:
            report.escalated += self._timed(request_id, step, self._escalate)
        return report

    def _timed(self, request_id: str, step_index: int,
               action: Callable[[_Call, Process, dict[str, Any], Step], int]) -> int:
        with self.db.write() as conn:
            call = self._call(conn)
            try:
                request = self._pending(conn, request_id)
            except (Conflict, NotFound):
                return 0  # decided or recalled since it was seen due
            if request["step"] != step_index:
                return 0
            process = self._pinned(request)
            done = action(call, process, request, process.steps[step_index])
            self._finish_call(call, request_id)
            return done

    def _remind(self, call: _Call, process: Process, request: dict[str, Any], step: Step) -> int:
        t = approval_tasks.c
        now = call.context.now
        due = [dict(r) for r in call.conn.execute(select(approval_tasks).where(
            t.request_id == request["id"], t.step == step.index, t.status == "pending", t.remind_at <= now)).mappings()]
        if not due or step.reminder is None:
            return 0
        first = min(task["remind_at"] for task in due)
        if not _event(call, request["id"], SYSTEM, "reminded", step.index, key=f"remind:{step.index}:{first.isoformat()}",
                      detail={"approvers": [task["approver_id"] for task in due]}):
            return 0
        for task in due:
            following = task["remind_at"] + step.reminder
            while following <= now:  # the worker was away: one reminder now, the next on the usual beat
                following += step.reminder
            call.conn.execute(update(approval_tasks).where(t.id == task["id"]).values(remind_at=following))
        people = [p for task in due if (p := call.people.by_id(task["approver_id"])) is not None]
        title = f"Reminder: {process.title(self.locale)}: {step.title(self.locale)}"
        self._plan(call, process, request, f"r{step.index}", [
            {"type": "notify", "channel": channel, "subject": title,
             "to": [{"address": p.id if channel == "in_app" else p.email} for p in people],
             "body": f"{title} — {request['object']} {request['record_id']} still waits for your approval"}
            for channel in process.channels] if people else [])
        return 1

    def _escalate(self, call: _Call, process: Process, request: dict[str, Any], step: Step) -> int:
        """The step's escalation, once: notify someone, reassign the step, or decide it."""
        escalation = step.escalation
        if escalation is None or not _event(call, request["id"], SYSTEM, "escalated", step.index,
                                            key=f"escalate:{step.index}", detail={"action": escalation["action"]}):
            return 0
        t = approval_tasks.c
        pending = (t.request_id == request["id"], t.step == step.index, t.status == "pending")
        call.conn.execute(update(approval_tasks).where(*pending).values(escalate_at=None))
        action = escalation["action"]
        if action == "reject":
            self._close(call, process, request, "rejected", "on_rejected", Actor.system())
            return 1
        if action == "approve":
            call.conn.execute(update(approval_tasks).where(*pending).values(status="closed", decided_at=call.context.now))
            _event(call, request["id"], SYSTEM, "step_approved", step.index, detail={"escalated": True})
            self._start(call, process, request, step.index + 1, Actor.system())
            return 1
        stored, related = self._record(call, request["object"], request["record_id"])
        target = replace(step, approvers=(escalation["to"],),
                         expressions={0: compile_expression(escalation["to"]["expression"])}
                         if "expression" in escalation["to"] else {})
        found = resolve(call.conn, call.people, process, target, stored, related, request["submitted_by"], call.context)
        if action == "reassign":
            already = set(call.conn.execute(select(t.approver_id).where(
                t.request_id == request["id"], t.step == step.index)).scalars())
            call.conn.execute(update(approval_tasks).where(*pending).values(status="reassigned",
                                                                         decided_at=call.context.now))
            fresh = [(a.person, a.delegated_from) for a in found.asked if a.person.id not in already]
            if fresh:
                self._ask(call, process, request, step, fresh, None, tag="e", escalates=False)
            return 1
        title = f"Escalated: {process.title(self.locale)}: {step.title(self.locale)}"
        self._plan(call, process, request, f"e{step.index}", [
            {"type": "notify", "channel": channel, "subject": title,
             "to": [{"address": a.person.id if channel == "in_app" else a.person.email} for a in found.asked],
             "body": f"{title} — {request['object']} {request['record_id']} has waited {escalation['after_hours']} h"}
            for channel in process.channels] if found.asked else [])
        return 1

    # -- steps ---------------------------------------------------------------------------------

    def _start(self, call: _Call, process: Process, request: Mapping[str, Any], first: int, actor: Actor,
               closing: int | None = None) -> None:
        """Start the first step from `first` whose condition holds; past the last, approve.
        `closing` is the step just decided, whose other approvers' tasks close now."""
        request_id, submitter_id = request["id"], request["submitted_by"]
        for step in process.steps[first:]:
            record, related = self._record(call, request["object"], request["record_id"])
            if step.condition is not None:
                holds = _holds(step.condition, record, related, call.context, f"steps[{step.index}].condition")
                if not holds:
                    _event(call, request_id, SYSTEM, "step_skipped", step.index,
                           detail={"condition": step.condition.source, "value": False})
                    continue
            resolution = resolve(call.conn, call.people, process, step, record, related, submitter_id, call.context)
            if not resolution.asked:
                raise InvalidInput(f"step '{step.name}' has nobody to ask", [FieldProblem(
                    f"steps[{step.index}].approvers", "; ".join(resolution.notes))])
            call.conn.execute(update(approval_requests).where(approval_requests.c.id == request_id)
                              .values(step=step.index))
            if closing is not None:
                t = approval_tasks.c
                call.conn.execute(update(approval_tasks).where(
                    t.request_id == request_id, t.step == closing, t.status == "pending").values(
                    status="closed", decided_at=call.context.now))
            _event(call, request_id, SYSTEM, "step_started", step.index,
                   detail={"mode": step.mode, "needed": step.needed(len(resolution.asked)), "notes": resolution.notes})
            self._ask(call, process, request, step, [(a.person, a.delegated_from) for a in resolution.asked], None)
            return
        self._close(call, process, request, "approved", "on_approved", actor)

    def _ask(self, call: _Call, process: Process, request: Mapping[str, Any], step: Step,
             people: Sequence[tuple[Person, Person | None]], replacing: Mapping[str, Any] | None,
             tag: str = "ask", escalates: bool = True) -> None:
        """One pending task per person, and a message to each on the process's channels."""
        now = call.context.now
        escalate = now + step.escalate_after if step.escalate_after and escalates else None
        remind = now + step.reminder if step.reminder else None
        call.conn.execute(insert(approval_tasks), [{
            "id": new_id(), "request_id": request["id"], "step": step.index, "step_name": step.name,
            "approver_id": person.id, "delegated_from": stand_in.id if stand_in else
            (replacing["delegated_from"] if replacing else None), "status": "pending", "comment": None,
            "created_at": now, "decided_at": None, "remind_at": remind,
            "escalate_at": replacing["escalate_at"] if replacing else escalate} for person, stand_in in people])
        title = f"{process.title(self.locale)}: {step.title(self.locale)}"
        actions = [{"type": "notify", "channel": channel,
                    "to": [{"address": person.id if channel == "in_app" else person.email} for person, _ in people],
                    "subject": title, "body": f"{title} — {request['object']} {request['record_id']} waits for your approval"}
                   for channel in process.channels]
        self._plan(call, process, request, f"{tag}{step.index}", actions)

    def _close(self, call: _Call, process: Process, request: Mapping[str, Any], status: str, outcome: str,
               actor: Actor) -> None:
        """End the request: unlock the record, close open tasks, run the outcome's actions."""
        now = call.context.now
        call.conn.execute(_END, {"b_request": request["id"], "b_status": status, "b_at": now})
        call.conn.execute(_CLOSE_TASKS, {"b_request": request["id"], "b_at": now})
        _event(call, request["id"], SYSTEM, status, None)
        actions = process.outcomes[outcome]
        values = [a for a in actions if a["type"] == "set_fields"]
        if values:
            stored, related = self._record(call, request["object"], request["record_id"])
            changes: dict[str, Any] = {}
            for action in values:
                for name, source in action["values"].items():
                    changes[name] = _value(source, stored, related, call.context)
            deciding = Actor(actor.user_id, actor.email, actor.roles, FULL_ACCESS)  # the process's authority
            call.records.update_many(deciding, request["object"], [UpdateItem(request["record_id"], changes)])
            call.seen.pop((request["object"], request["record_id"]), None)
        others = [a for a in actions if a["type"] != "set_fields"]
        if others:
            self._plan(call, process, request, outcome.removeprefix("on_"), others)

    def _plan(self, call: _Call, process: Process, request: Mapping[str, Any], tag: str,
              actions: Sequence[Mapping[str, Any]]) -> None:
        """Actions planned into the ledger as a firing of the process (rule `<process>.<tag>`),
        keyed by the request, so each is delivered once."""
        if not actions:
            return
        rule = compile_rule(f"{process.name[:52]}.{tag}"[:64], {
            "x-label": dict(process.label), "object": request["object"],
            "trigger": {"type": "record", "events": ["updated"]}, "actions": list(actions)})
        stored, related = self._record(call, request["object"], request["record_id"])
        key = request["id"].replace("-", "")[:26]
        firing = Firing(rule, stored, related, "approval", call.context.now, step=f"{key}:{tag}"[:32])
        call.plans.append(call.planner.plan(firing))

    # -- helpers -------------------------------------------------------------------------------

    def _records(self, db: Database) -> RecordsService:
        return RecordsService(db, self.registry, str(self.timezone), self.locale, self.clock, hooks=self.hooks)

    def _call(self, conn: Connection) -> _Call:
        context = EvaluationContext(timezone=self.timezone, now=self.clock())
        return _Call(conn, context, self._records(JoinedDatabase(self.db, conn)), self.registry, self.locale)

    def _finish_call(self, call: _Call, request_id: str) -> RequestView:
        failed = [p for p in call.plans if p.outcome == "failed"]
        if failed:
            raise InvalidInput("the approval's actions could not be planned",
                               [FieldProblem("$", p.reason or "failed") for p in failed])
        if call.plans:
            call.planner.record(call.plans)
        if call.events:
            call.conn.execute(insert(approval_events), call.events)
        return read_request(call.conn, request_id)

    def _record(self, call: _Call, object_name: str, record_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The record as the system reads it (live formulas computed) and its related records,
        read once per call until the call writes it."""
        key = (object_name, record_id)
        if key not in call.seen:
            record = call.records.get(Actor.system(), object_name, record_id)
            (stored, related), = call.planner.prepare(self.registry.compiled[object_name], [record])
            call.seen[key] = (stored, related)
        return call.seen[key]

    def _pending(self, conn: Connection, request_id: str) -> dict[str, Any]:
        """The request, locked for this transaction; it must still be pending."""
        statement = _REQUEST_LOCKED if self.db.dialect == "postgresql" else _REQUEST
        row = conn.execute(statement, {"b_request": request_id}).mappings().first()
        if row is None:
            raise NotFound(f"no approval request with id '{request_id}'")
        if row["status"] != "pending":
            raise Conflict(f"the request is already {row['status']}; nothing is left to decide")
        return dict(row)

    @staticmethod
    def _bump(conn: Connection, request: Mapping[str, Any]) -> None:
        """Compare-and-set on the request's version: a second decision on the same state fails."""
        done = conn.execute(_BUMP, {"b_request": request["id"], "b_version": request["version"]})
        if done.rowcount != 1:
            raise Conflict("the request was decided by someone else just now; reload it")

    def _pinned(self, request: Mapping[str, Any]) -> Process:
        process = self.book.at(request["release"], request["process"])
        if process is None:  # a pinned release holds the process it started under, by construction
            raise NotFound(f"release {request['release']} has no approval process '{request['process']}'")
        return process

    @staticmethod
    def _refuse_pending(conn: Connection, object_name: str, record_id: str) -> None:
        r = approval_requests.c
        pending = conn.execute(select(r.id, r.process).where(r.object == object_name, r.open_record == record_id)).first()
        if pending is not None:
            raise Conflict(f"the {object_name} already waits for approval ({pending.process}, request {pending.id}); "
                           "recall it or wait for its outcome")


def _event(call: _Call, request_id: str, actor_id: str, event: str, step: int | None, *,
           comment: str | None = None, detail: Mapping[str, Any] | None = None, key: str | None = None) -> bool:
    """Add to the history; with a `key`, only once per request (False when it was there already)."""
    body = {**(detail or {}), **({"comment": comment} if comment else {})}
    row = {"id": new_id(), "request_id": request_id, "at": call.context.now, "actor_id": actor_id, "event": event,
           "step": step, "detail": json.dumps(body, ensure_ascii=False, default=str) if body else None, "key": key}
    if key is None:
        call.events.append(row)  # written with the others when the call ends: one statement
        return True
    return bool(insert_new(call.conn, approval_events, [row], "id"))


def _holds(expression: Any, record: Mapping[str, Any], related: Mapping[str, Any], context: EvaluationContext,
           path: str) -> bool:
    try:
        return bool(evaluate(expression, record, related, context))
    except EvaluationError as error:
        raise InvalidInput("a condition of the approval process could not be checked",
                           [FieldProblem(path, f"{expression.source}: {error}")]) from None


def _value(source: str, record: Mapping[str, Any], related: Mapping[str, Any], context: EvaluationContext) -> Any:
    try:
        return evaluate(compile_expression(source), record, related, context)
    except EvaluationError as error:
        raise InvalidInput("an outcome value could not be computed", [FieldProblem("$", f"{source}: {error}")]) from None


def _human_admin(actor: Actor) -> bool:
    """Admins override locks and reassign; automation acting as the system does not."""
    return actor.policy.is_admin and not actor.is_system


def _may_submit(actor: Actor, process: Process, record: Mapping[str, Any]) -> bool:
    if actor.policy.is_admin:
        return True
    owner = record.get("owner_id") == actor.user_id
    for submitter in process.submitters:
        if submitter == "owner" and owner:
            return True
        if submitter == "update_access":
            scope = actor.policy.scope(process.object, "update")
            if scope is Scope.ALL or (scope is Scope.OWN and owner):
                return True
        if isinstance(submitter, Mapping) and submitter["role"] in actor.roles:
            return True
    return False


def _submitters(process: Process) -> str:
    return ", ".join(s if isinstance(s, str) else f"role {s['role']}" for s in process.submitters)


__all__ = ["ApprovalEngine", "TimerReport"]
