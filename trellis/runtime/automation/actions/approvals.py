"""`start_approval`: registered so that rules naming it plan and record like any action, but
there is no approvals engine yet (publish refuses the action for that reason), so performing it
is a dead letter saying so. The approvals engine replaces this module's `perform`.
"""

from __future__ import annotations

from trellis.runtime.automation.actions.base import Delivery, Firing, PerformContext, PlanContext, PlannedDelivery
from trellis.runtime.automation.rules import CompiledAction
from trellis.runtime.channels import DeliveryError


class StartApproval:
    name = "start_approval"
    after_save = True
    atomic = True  # starting a process will write its rows with the mark that the ledger row was sent

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        return [PlannedDelivery(action.index, self.name, "", "", {"process": action.spec["process"], **firing.about()})]

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        raise DeliveryError(f"approval process '{delivery.payload['process']}' cannot start: approvals are not "
                            "available in this installation yet", retryable=False)
