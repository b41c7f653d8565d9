"""`create_task`: a to-do in each assignee's inbox (one per person a role or user field names,
or one unassigned task when nobody resolves), with an in-app notification to the assignee.

Atomic: the task row and the notification commit with the mark that the ledger row was sent.
The notification goes through the in-app channel on that same transaction, so it carries the
delivery id and the channel's guard keeps it to one however often the row is performed.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import insert

from trellis.platform.ids import new_id
from trellis.runtime.automation.actions.base import Delivery, Firing, PerformContext, PlanContext, PlannedDelivery
from trellis.runtime.automation.rules import CompiledAction
from trellis.runtime.channels import InAppChannel, OutgoingMessage
from trellis.runtime.identity.people import Person
from trellis.runtime.inbox.tables import tasks


class CreateTask:
    name = "create_task"
    after_save = True
    atomic = True

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        spec = action.spec
        due = None
        if "due_in_days" in spec:
            due = (ctx.context.today + timedelta(days=spec["due_in_days"])).isoformat()
        assignees: list[Person | None] = [*ctx.people_named(firing, spec["assignee"])] or [None]  # None: unassigned
        out = []
        for person in assignees:
            context = ctx.template_context(firing, person)
            payload = {"title": ctx.templates.render(spec["title"], context),
                       "description": ctx.templates.render(spec["description"], context)
                       if spec.get("description") else "",
                       "assignee_id": person.id if person else None, "due_date": due, **firing.about()}
            out.append(PlannedDelivery(action.index, self.name, "", person.id if person else "", payload))
        return out

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        payload = delivery.payload
        with ctx.db.write() as conn:
            conn.execute(insert(tasks).values(
                id=new_id(), title=payload["title"], description=payload.get("description") or "",
                assignee_id=payload.get("assignee_id"), object=payload.get("object"),
                record_id=payload.get("record_id"),
                due_date=date.fromisoformat(payload["due_date"]) if payload.get("due_date") else None,
                status="open", delivery_id=delivery.id, created_at=ctx.clock(), completed_at=None))
        if payload.get("assignee_id"):
            ctx.channels.channel(InAppChannel.name).send(OutgoingMessage(
                id=delivery.id, channel=InAppChannel.name, recipient=payload["assignee_id"], subject=payload["title"],
                body=payload.get("description") or "", data=payload))
