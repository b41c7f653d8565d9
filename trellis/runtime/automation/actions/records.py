"""Record actions: `update_record` (the triggering record, or the one a lookup field points at)
and `create_record` (one record, or one per child row with `for_each`: a quote's lines copied into
a contract's). Both write through the records service as the system, so validation,
formulas, audit and the rules of the written object apply exactly as to a user's write.

They write to the tenant's own database, so they are atomic: the write commits with the mark
that the ledger row was sent, or not at all. The row carries `depth + 1`, so rules that keep
triggering each other stop at on_save.MAX_DEPTH.
"""

from __future__ import annotations

from typing import Any

from trellis.runtime.access import Actor
from trellis.runtime.automation.actions.base import Delivery, Firing, PerformContext, PlanContext, PlannedDelivery
from trellis.runtime.automation.rules import CompiledAction


class UpdateRecord:
    name = "update_record"
    after_save = True
    atomic = True

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        target = action.spec.get("target", "record")
        if target == "record":
            object_name, target_id = firing.rule.object, firing.record_id
        else:
            object_name = ctx.registry.objects[firing.rule.object].fields[target].ref or ""
            target_id = firing.record.get(target) or ""
            if not target_id:
                return []  # nothing to update: the lookup is blank
        payload = {"object": object_name, "id": target_id, "values": ctx.values(firing, action),
                   "depth": ctx.depth + 1}
        return [PlannedDelivery(action.index, self.name, "", target_id, payload)]

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        payload = delivery.payload
        ctx.records(payload.get("depth", 1)).update(Actor.system(), payload["object"], payload["id"], payload["values"])


class CreateRecord:
    name = "create_record"
    after_save = True
    atomic = True

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        if "for_each" in action.spec:
            return [PlannedDelivery(action.index, self.name, "", child["id"], self._payload(
                action, ctx.values(firing, action, item=child), firing, ctx)) for child in ctx.children(firing, action)]
        return [PlannedDelivery(action.index, self.name, "", "", self._payload(action, ctx.values(firing, action),
                                                                                 firing, ctx))]

    @staticmethod
    def _payload(action: CompiledAction, values: dict[str, Any], firing: Firing, ctx: PlanContext) -> dict[str, Any]:
        return {"object": action.spec["object"], "values": values, "source": firing.about(), "depth": ctx.depth + 1}

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        payload = delivery.payload
        ctx.records(payload.get("depth", 1)).create_many(Actor.system(), payload["object"], [payload["values"]])
