"""The platform's own part of every tenant schema: the caller's inbox and, for admins, a
preview of what the timed workflow rules will do.

Queries `notifications(first, after, unreadOnly)` (a connection, newest first),
`unreadNotificationCount`, `myTasks(status)` and `rulePreview(days, rule)`; mutations
`markNotificationsRead(ids)` and `completeTask(id)`. Everything goes through
`trellis.runtime.inbox.service.Inbox` (the caller's own rows only) or the automation preview,
in the thread pool.

The names are the platform's in every tenant: each is reserved in `trellis.metadata.names`
(publish refuses an object that would take one; the name table gives objects of older releases
a suffix), and defining one that is not listed there is a bug caught when the schema is built.
"""

from __future__ import annotations

from typing import Any

from strawberry.types import Info
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.field import StrawberryField
from strawberry.types.unset import UNSET

from trellis.metadata.names import PLATFORM_QUERY_FIELDS, PLATFORM_TYPE_NAMES
from trellis.runtime.automation.preview import MAX_DAYS, PreviewItem, preview
from trellis.runtime.graphql.errors import ApiError, bad_input
from trellis.runtime.graphql.maker import Resolver, TypeMaker
from trellis.runtime.graphql.resolvers import _call, context
from trellis.runtime.inbox.service import DEFAULT_PAGE, Inbox

DEFAULT_PREVIEW_DAYS = 30


def _inbox(info: Info) -> Inbox:
    ctx = context(info)
    return Inbox(ctx.records.db, ctx.actor, ctx.records.clock)


# -- resolvers -------------------------------------------------------------------------------------

async def notifications(root: Any, info: Info, first: int = DEFAULT_PAGE, after: str | None = None,
                        unread_only: bool = False) -> dict[str, Any]:
    page = await _call(_inbox(info).list, first, after, unread_only)
    return {"nodes": page.notifications, "page_info": {
        "has_next_page": page.has_next, "has_previous_page": page.has_previous,
        "start_cursor": page.cursors[0] if page.cursors else None,
        "end_cursor": page.cursors[-1] if page.cursors else None}}


async def unread_notification_count(root: Any, info: Info) -> int:
    return await _call(_inbox(info).unread_count)


async def my_tasks(root: Any, info: Info, status: str | None = None) -> list[dict[str, Any]]:
    return await _call(_inbox(info).tasks, status)


async def mark_notifications_read(root: Any, info: Info, ids: list[str] | None = None) -> int:
    return await _call(_inbox(info).mark_read, ids)


async def complete_task(root: Any, info: Info, id: str) -> dict[str, Any]:
    return await _call(_inbox(info).complete_task, id)


async def rule_preview(root: Any, info: Info, days: int = DEFAULT_PREVIEW_DAYS,
                       rule: str | None = None) -> list[PreviewItem]:
    ctx = context(info)
    if not ctx.actor.policy.is_admin:
        raise ApiError("FORBIDDEN", "only admins may preview workflow rules")
    if not 1 <= days <= MAX_DAYS:
        raise bad_input("days", f"expected a whole number of days from 1 to {MAX_DAYS}; got {days}", "invalid days")
    records = ctx.records
    return await _call(preview, records.db, records.registry, records.timezone,
                       records.locale, records.clock(), days, rule)


# -- the schema's part -----------------------------------------------------------------------------

class PlatformFields:
    """A feature's part of every tenant schema: its types (made in its constructor, named
    through `InboxFields`) and its root fields. A new part is one entry in `schema.FEATURES`."""

    def query_fields(self) -> list[StrawberryField]:
        return []

    def mutation_fields(self) -> list[StrawberryField]:
        return []


class InboxFields(PlatformFields):
    """The platform's types and root fields in one schema, under their reserved names."""

    def __init__(self, maker: TypeMaker):
        self.maker = maker
        f = maker.field
        self.notification = maker.object_type(self._type("Notification"), [
            f("id", "id", "ID"), f("title", "title", "str"), f("body", "body", "str"),
            f("object", "object", "str | None", description="The object of the record it is about, if any."),
            f("record_id", "recordId", "ID | None"), f("created_at", "createdAt", "DateTime"),
            f("read_at", "readAt", "DateTime | None", description="Null while unread.")],
            "A message for the caller, written by a workflow rule.").__name__
        self.connection = maker.object_type(self._type("NotificationConnection"), [
            f("nodes", "nodes", f"list[{self.notification}]"), f("page_info", "pageInfo", "PageInfo")],
            "A page of the caller's notifications, newest first.").__name__
        self.task = maker.object_type(self._type("Task"), [
            f("id", "id", "ID"), f("title", "title", "str"), f("description", "description", "str"),
            f("assignee_id", "assigneeId", "ID | None"), f("object", "object", "str | None"),
            f("record_id", "recordId", "ID | None"), f("due_date", "dueDate", "Date | None"),
            f("status", "status", "str", description="open or done"), f("created_at", "createdAt", "DateTime"),
            f("completed_at", "completedAt", "DateTime | None")],
            "A to-do a workflow rule assigned to a user.").__name__
        self.preview_item = maker.object_type(self._type("RulePreviewItem"), [
            f("day", "day", "Date", description="The local date it falls due."), f("due_at", "dueAt", "DateTime"),
            f("rule", "rule", "str"), f("object", "object", "str"), f("record_id", "recordId", "str"),
            f("step", "step", "str", description="The offset of a date rule (`-7d`), else empty."),
            f("outcome", "outcome", "str", description="fired, skipped or failed"),
            f("reason", "reason", "str | None"),
            f("kind", "kind", "str | None", description="The action type (notify, webhook, update_record, ...); "
                                                       "null when the firing does nothing."),
            f("channel", "channel", "str | None", description="The message channel (email, sms, wecom, webhook, "
                                                             "in_app); null for an action that sends no message."),
            f("recipient", "recipient", "str | None"), f("subject", "subject", "str | None"),
            f("body", "body", "str | None")],
            "One message or action a timed rule would cause, rendered (nothing is sent).").__name__

    def query_fields(self) -> list[StrawberryField]:
        return [
            self._field("notifications", self.connection, notifications, [
                ("first", "first", "int", DEFAULT_PAGE), ("after", "after", "str | None", UNSET),
                ("unread_only", "unreadOnly", "bool", False)],
                "The caller's notifications, newest first; `after` takes a `pageInfo.endCursor`."),
            self._field("unreadNotificationCount", "int", unread_notification_count, [],
                        "How many of the caller's notifications are unread."),
            self._field("myTasks", f"list[{self.task}]", my_tasks, [("status", "status", "str | None", UNSET)],
                        "The caller's tasks: `open`, `done`, or both when left out; open first, nearest due first."),
            self._field("rulePreview", f"list[{self.preview_item}]", rule_preview, [
                ("days", "days", "int", DEFAULT_PREVIEW_DAYS), ("rule", "rule", "str | None", UNSET)],
                f"Admins: what the timed workflow rules (or the one named) would do in the next `days` days "
                f"(1 to {MAX_DAYS}), day by day, rendered. Nothing is sent or recorded."),
        ]

    def mutation_fields(self) -> list[StrawberryField]:
        return [
            self._field("markNotificationsRead", "int", mark_notifications_read,
                        [("ids", "ids", "list[ID] | None", UNSET)],
                        "Mark the caller's notifications read (all unread ones when `ids` is left out); "
                        "returns how many changed.", query=False),
            self._field("completeTask", self.task, complete_task, [("id", "id", "ID", UNSET)],
                        "Mark a task done; its assignee or an admin may.", query=False),
        ]

    def _type(self, name: str) -> str:
        if name not in PLATFORM_TYPE_NAMES:
            raise ValueError(f"the platform type {name} is not reserved in trellis.metadata.names.PLATFORM_TYPE_NAMES")
        return name

    def _field(self, name: str, annotation: str, resolver: Resolver, args: list[tuple[str, str, str, Any]],
               description: str, query: bool = True) -> StrawberryField:
        """A root field with arguments that may have defaults. Query fields are reserved names;
        mutation names cannot meet an object's (no object verb is `complete`, `mark`, `approve`)."""
        if query and name not in PLATFORM_QUERY_FIELDS:
            raise ValueError(f"the platform query {name} is not reserved in trellis.metadata.names.PLATFORM_QUERY_FIELDS")
        field = self.maker.field(name, name, annotation, resolver=resolver, description=description)
        field.arguments = [StrawberryArgument(python_name=python, graphql_name=graphql, default=default,
                                              type_annotation=self.maker.annotation(kind))
                           for python, graphql, kind, default in args]
        return field
