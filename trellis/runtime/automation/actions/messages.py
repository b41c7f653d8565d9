"""Messages: `notify` (email, SMS, WeCom robot or in-app, to the recipients a rule names) and
`webhook` (the record as signed JSON to a URL). Both are sent through the channel adapters.

Neither shows more than its reader may read (readers.py): a notify template renders once per
recipient with that recipient's permissions; a webhook carries the fields the rule names
(`fields`), else those the record owner's roles may read (anyone's, without an active owner).

A message leaves for the outside world, which no transaction can take back, so these types are
not atomic: the dispatcher sends first and marks the row sent once the receiver acknowledged it;
a send repeated after a crash carries the same delivery id, which receivers dedupe on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from trellis.runtime.automation.actions.base import (
    Delivery,
    Firing,
    PerformContext,
    PlanContext,
    PlannedDelivery,
    read_path,
)
from trellis.runtime.automation.actions.readers import can_read
from trellis.runtime.automation.rules import CompiledAction
from trellis.runtime.channels import OutgoingMessage
from trellis.runtime.identity.people import Person
from trellis.runtime.values.coercion import to_json


class _Message:
    after_save = True
    atomic = False

    def perform(self, delivery: Delivery, ctx: PerformContext) -> None:
        payload = delivery.payload
        ctx.channels.channel(delivery.channel).send(OutgoingMessage(
            id=delivery.id, channel=delivery.channel, recipient=delivery.recipient,
            subject=payload.get("subject", ""), body=payload.get("body", ""), data=payload))


class Notify(_Message):
    """One message per distinct address the `to` entries resolve to on the rule's channel."""

    name = "notify"

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        spec = action.spec
        channel = spec["channel"]
        out: list[PlannedDelivery] = []
        seen: set[str] = set()
        for target in spec["to"]:
            for address, person in _addresses(firing, channel, target, ctx):
                if address in seen:
                    continue  # named twice (a role and a user field): one message
                seen.add(address)
                context = ctx.template_context(firing, person, address)
                subject = ctx.templates.render(spec["subject"], context) if spec.get("subject") \
                    else firing.rule.title(ctx.locale)
                payload = {"subject": subject, "body": ctx.templates.render(spec["body"], context),
                           **firing.about(), "recipient_name": person.name if person else address}
                out.append(PlannedDelivery(action.index, self.name, channel, address, payload))
        return out


class Webhook(_Message):
    """The record, the rule and the firing as JSON to the rule's URL (signed by the channel)."""

    name = "webhook"

    def plan(self, firing: Firing, action: CompiledAction, ctx: PlanContext) -> list[PlannedDelivery]:
        spec = action.spec
        payload = {"event": spec.get("event", firing.rule.name), "rule": firing.rule.name, **firing.about(),
                   "trigger": firing.trigger, "due_at": to_json(firing.due_at),
                   "record": {k: to_json(v) for k, v in _sent_fields(firing, spec, ctx).items()}}
        return [PlannedDelivery(action.index, self.name, "webhook", spec["url"], payload)]


def _sent_fields(firing: Firing, spec: Mapping[str, Any], ctx: PlanContext) -> dict[str, Any]:
    """The fields `spec` names, else those the record's owner may read (anyone's without one)."""
    if "fields" in spec:
        return {name: firing.record.get(name) for name in spec["fields"]}
    owner_id = firing.record.get("owner_id")
    owner = ctx.people.by_id(str(owner_id)) if owner_id else None
    obj, policy = firing.rule.object, ctx.readers.policy(owner)
    if not can_read(policy, owner.id if owner else None, obj, firing.record):
        return {}
    return {k: v for k, v in firing.record.items() if policy.can_read_field(obj, k)}


def _addresses(firing: Firing, channel: str, target: Mapping[str, Any],
               ctx: PlanContext) -> list[tuple[str, Person | None]]:
    """Where one recipient entry sends to on a channel: (address, person when it is a user)."""
    (key, value), = target.items()
    if key in ("user_field", "manager_of", "role"):
        people = ctx.people_named(firing, target)
        if channel == "in_app":
            return [(p.id, p) for p in people]
        if channel == "email":
            return [(p.email, p) for p in people]
        return []  # users have no phone number or WeCom robot: name those with field/address
    address = read_path(firing, value) if key == "field" else value
    if address is None or str(address).strip() == "":
        return []
    address = str(address).strip()
    if channel == "in_app":
        person = ctx.people.by_email(address) if "@" in address else ctx.people.by_id(address)
        return [(person.id, person)] if person else []
    if channel == "email":  # a user's address: they read it with their permissions
        return [(address, ctx.people.by_email(address))]
    return [(address, None)]
