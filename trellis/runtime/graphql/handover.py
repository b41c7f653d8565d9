"""`handover(from, to, objects, where, dryRun)` in every tenant schema, for admins.

The same `trellis.runtime.handover.Handover` the CLI runs, over the request's release and
database; a refusal keeps the runtime's codes (FORBIDDEN for a non-admin, BAD_USER_INPUT with
the argument's path for an unknown, deactivated or identical user, an unknown object, a bad
filter). `where` is a JSON object of the query filter grammar, applied to each chosen object.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from trellis.runtime.graphql.errors import bad_input
from trellis.runtime.graphql.inbox import InboxFields, PlatformFields
from trellis.runtime.graphql.resolvers import _call, context
from trellis.runtime.handover import Handover, HandoverRequest


async def handover(root: Any, info: Info, from_: str, to: str, objects: list[str] | None = None,
                   where: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    ctx = context(info)
    try:
        filters = json.loads(where) if where not in (None, UNSET) else None
    except json.JSONDecodeError as error:
        raise bad_input("where", f"expected a JSON object of conditions: {error}") from None
    if filters is not None and not isinstance(filters, dict):
        raise bad_input("where", "expected a JSON object of conditions")
    records = ctx.records
    service = Handover(records.db, records.registry, records.timezone, records.clock)
    request = HandoverRequest(from_, to, tuple(objects or ()) if objects is not UNSET else (), filters, bool(dry_run))
    result = await _call(service.run, ctx.actor, request)
    return {**asdict(result), "records": result.records}


class HandoverFields(PlatformFields):
    """The handover result types and the mutation, named beside the inbox's."""

    def __init__(self, platform: InboxFields):
        self.platform = platform
        f = platform.maker.field
        move = platform.maker.object_type(platform._type("HandoverObject"), [
            f("object", "object", "str"), f("records", "records", "int"),
            f("sample", "sample", "list[ID]", description="The first record ids (by id) that move.")],
            "The records of one object a handover moves.").__name__
        self.result = platform.maker.object_type(platform._type("HandoverResult"), [
            f("id", "id", "ID | None", description="The handover's audit event (its record id); null for a dry run."),
            f("from_user", "fromUser", "str"), f("to_user", "toUser", "str"), f("dry_run", "dryRun", "bool"),
            f("records", "records", "int"), f("objects", "objects", f"list[{move}]"),
            f("deliveries", "deliveries", "int", description="Queued messages and tasks re-addressed to the new owner."),
            f("deliveries_dropped", "deliveriesDropped", "int",
              description="Queued ones the new owner already receives: dropped, not sent twice."),
            f("approval_tasks", "approvalTasks", "int", description="Pending approval tasks reassigned."),
            f("tasks", "tasks", "int", description="Open inbox tasks moved."),
            f("notes", "notes", "list[str]")],
            "What a handover moved, or (dry run) would move.").__name__

    def mutation_fields(self) -> list[StrawberryField]:
        return [self.platform._field("handover", self.result, handover, [
            ("from_", "from", "str", UNSET), ("to", "to", "str", UNSET),
            ("objects", "objects", "list[str] | None", UNSET), ("where", "where", "str | None", UNSET),
            ("dry_run", "dryRun", "bool", False)],
            "Admins: move every record a user owns (or those of `objects` matching `where`, a JSON filter), the "
            "reminders queued for them as owner, their pending approvals and open tasks to another active user, in "
            "one transaction. `dryRun` says what would move and changes nothing.", query=False)]
