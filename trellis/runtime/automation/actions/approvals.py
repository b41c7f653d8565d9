"""`start_approval`: a rule submits a record to an approval process (`trellis.runtime.approvals`).

Planned at firing with the record's owner as the submitter (whose manager chain the steps
follow); performed at delivery inside the transaction that marks the ledger row sent, so the
request exists exactly once. The rule acts with the authority of the admin who published it:
the owner need not be a listed submitter. A record that no longer meets the entry condition, or
already waits for approval, is a dead letter saying so (retrying would not change it).
"""

from __future__ import annotations

from trellis.runtime.access import FULL_ACCESS, SYSTEM_USER, Actor
from trellis.runtime.automation.actions.base import Delivery, Firing, PerformContext, PlanContext, PlannedDelivery
from trellis.runtime.automation.rules import CompiledAction
from trellis.runtime.channels import DeliveryError
from trellis.runtime.errors import Conflict, InvalidInput
from trellis.runtime.identity.people import People


class StartApproval:
    name = "start_approval"
    after_save = True
    atomic = True  # the request's rows are written with the mark that the ledger row was sent

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        payload = {"process": action.spec["process"], "submitter": firing.record.get("owner_id") or SYSTEM_USER,
                   **firing.about()}
        return [PlannedDelivery(action.index, self.name, "", "", payload)]

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        # Imported here: approvals builds on automation (its outcomes are rule actions), so
        # automation can reach the engine only once both are loaded.
        from trellis.runtime.approvals.engine import ApprovalEngine
        from trellis.runtime.approvals.processes import ProcessBook
        from trellis.runtime.releases import MetadataStore

        payload = delivery.payload
        records = ctx.records(1)
        with ctx.db.read() as conn:
            person = People(conn).by_id(payload["submitter"])
        submitter = Actor(person.id, person.email, (), FULL_ACCESS) if person else Actor.system()
        engine = ApprovalEngine(ctx.db, ctx.registry, ProcessBook(MetadataStore(ctx.db)), str(ctx.timezone),
                                ctx.locale, ctx.clock, hooks=records.hooks)
        try:
            engine.submit(submitter, payload["object"], payload["record_id"], payload["process"])
        except (InvalidInput, Conflict) as refused:
            raise DeliveryError(f"approval process '{payload['process']}' did not start: {refused}",
                                retryable=False) from None
