"""`set_fields` and `reject`: applied to the record before it is saved, by the records
service's before-save rules (automation/on_save.py), never planned or delivered. They are
registered so the registry names every action type; planning or performing one is a bug in
the caller, said as such.
"""

from __future__ import annotations

from trellis.runtime.automation.actions.base import Delivery, Firing, PerformContext, PlanContext, PlannedDelivery
from trellis.runtime.automation.rules import CompiledAction
from trellis.runtime.channels import DeliveryError
from trellis.runtime.expressions import EvaluationError


class BeforeSaveAction:
    after_save = False
    atomic = False

    def __init__(self, name: str):
        self.name = name

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        raise EvaluationError(f"{self.name} cannot run after a save")

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        raise DeliveryError(f"{self.name} runs before a save and has nothing to deliver", retryable=False)
