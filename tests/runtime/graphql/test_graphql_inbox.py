"""The caller's inbox over HTTP: notifications (newest first, keyset pages, unread count, marking
read), tasks (listing, completing) — each user sees and changes only their own — and the admins'
preview of the timed workflow rules. Rows are inserted as the workflow dispatcher writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from tests.helpers import metadata_set, obj
from tests.runtime.graphql.conftest import TENANT, Api, crm_set
from trellis.metadata.model import MetadataSet
from trellis.metadata.names import PLATFORM_QUERY_FIELDS, PLATFORM_TYPE_NAMES
from trellis.platform.ids import new_id
from trellis.runtime.automation.tables import deliveries, workflow_runs
from trellis.runtime.graphql import build_schema
from trellis.runtime.inbox.tables import notifications, tasks
from trellis.runtime.registry import build_registry
from trellis.runtime.releases import Release, ReleaseInfo
from trellis.runtime.templates import Templates

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
PAGE = """query($first: Int!, $after: String, $unread: Boolean!) {
    notifications(first: $first, after: $after, unreadOnly: $unread) {
        nodes { id title body object recordId createdAt readAt } pageInfo { hasNextPage endCursor } } }"""
COUNT = "{ unreadNotificationCount }"
MARK = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }"
TASK_FIELDS = "id title description assigneeId object recordId dueDate status createdAt completedAt"
COMPLETE = f"mutation($id: ID!) {{ completeTask(id: $id) {{ {TASK_FIELDS} }} }}"


def notify(api: Api, user_id: str, title: str, minutes: int, read: bool = False, **values: Any) -> str:
    """A notification for `user_id`, created `minutes` after T0."""
    notification_id = new_id()
    created = T0 + timedelta(minutes=minutes)
    with api.installation.database(TENANT).write() as conn:
        conn.execute(insert(notifications).values(
            id=notification_id, user_id=user_id, title=title, body=f"about {title}", object=values.get("object"),
            record_id=values.get("record_id"), delivery_id=None, created_at=created,
            read_at=created + timedelta(hours=1) if read else None))
    return notification_id


def task(api: Api, assignee_id: str | None, title: str, due: date | None = None, status: str = "open") -> str:
    task_id = new_id()
    with api.installation.database(TENANT).write() as conn:
        conn.execute(insert(tasks).values(
            id=task_id, title=title, description=f"do {title}", assignee_id=assignee_id, object="contract",
            record_id=None, due_date=due, status=status, delivery_id=None, created_at=T0,
            completed_at=T0 if status == "done" else None))
    return task_id


async def page(api: Api, token: str, first: int = 20, after: str | None = None,
               unread: bool = False) -> dict[str, Any]:
    data = await api.data(PAGE, {"first": first, "after": after, "unread": unread}, token)
    return data["notifications"]  # type: ignore[no-any-return]


async def titles(api: Api, token: str, unread: bool = False) -> list[str]:
    return [n["title"] for n in (await page(api, token, unread=unread))["nodes"]]


async def test_notifications_page_newest_first_with_cursors(api: Api) -> None:
    for minutes, title in ((0, "n0"), (10, "n1"), (20, "n2"), (20, "n3"), (30, "n4")):  # n2 and n3: one instant
        notify(api, api.rep_id, title, minutes, read=title in ("n1", "n3"), object="contract", record_id="c-1")
    notify(api, api.admin_id, "for ann", 40)
    seen: list[str] = []
    after = None
    for expected_next in (True, True, False):
        found = await page(api, "rep", first=2, after=after)
        seen += [n["title"] for n in found["nodes"]]
        assert found["pageInfo"]["hasNextPage"] is expected_next
        after = found["pageInfo"]["endCursor"]
    ties = [t for t in seen if t in ("n2", "n3")]
    assert seen == ["n4", *ties, "n1", "n0"] and sorted(ties) == ["n2", "n3"]  # each once, nothing else's
    first = (await page(api, "rep", first=1))["nodes"][0]
    assert first == {"id": first["id"], "title": "n4", "body": "about n4", "object": "contract", "recordId": "c-1",
                     "createdAt": "2026-03-01T08:30:00Z", "readAt": None}
    assert await titles(api, "rep", unread=True) == ["n4", "n2", "n0"]
    assert (await api.data(COUNT, token="rep"))["unreadNotificationCount"] == 3
    assert await titles(api, "admin") == ["for ann"]
    assert (await api.data(COUNT, token="support"))["unreadNotificationCount"] == 0
    assert (await page(api, "support"))["nodes"] == []


async def test_bad_pages_name_their_argument(api: Api) -> None:
    for variables, path in (({"first": 101, "unread": False}, "first"), ({"first": -1, "unread": False}, "first"),
                            ({"first": 2, "after": "bm90IGEgY3Vyc29y", "unread": False}, "after")):
        error = await api.error(PAGE, variables, "rep")
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert [p["path"] for p in error["extensions"]["problems"]] == [path]


async def test_each_user_marks_only_their_own_notifications_read(api: Api) -> None:
    mine = [notify(api, api.rep_id, f"r{i}", i) for i in range(3)]
    anns = notify(api, api.admin_id, "ann's", 5)
    changed = await api.data(MARK, {"ids": [mine[0], anns, "no-such-id"]}, "rep")
    assert changed["markNotificationsRead"] == 1  # Ann's is passed over as if it did not exist
    assert (await api.data(MARK, {"ids": [mine[0]]}, "rep"))["markNotificationsRead"] == 0  # read already
    assert (await api.data(COUNT, token="rep"))["unreadNotificationCount"] == 2
    assert (await api.data(COUNT))["unreadNotificationCount"] == 1  # Ann's is still unread
    assert await titles(api, "rep", unread=True) == ["r2", "r1"]
    assert (await api.data("mutation { markNotificationsRead }", token="rep"))["markNotificationsRead"] == 2
    assert (await api.data(COUNT, token="rep"))["unreadNotificationCount"] == 0
    assert all(n["readAt"] for n in (await page(api, "rep"))["nodes"])
    assert await titles(api, "admin", unread=True) == ["ann's"]
    assert (await api.data(MARK, {"ids": []}))["markNotificationsRead"] == 0


async def test_my_tasks_and_completing_them(api: Api) -> None:
    later = task(api, api.rep_id, "later", date(2026, 4, 1))
    soon = task(api, api.rep_id, "soon", date(2026, 3, 5))
    task(api, api.rep_id, "someday")
    task(api, api.rep_id, "finished", status="done")
    anns = task(api, api.admin_id, "ann's")

    async def my_titles(token: str = "rep", status: str | None = None) -> list[str]:
        data = await api.data("query($s: String) { myTasks(status: $s) { title } }", {"s": status}, token)
        return [t["title"] for t in data["myTasks"]]

    assert await my_titles() == ["soon", "later", "someday", "finished"]  # open first, nearest due first
    assert await my_titles(status="open") == ["soon", "later", "someday"]
    assert await my_titles(status="done") == ["finished"]
    assert await my_titles("admin") == ["ann's"]
    error = await api.error("{ myTasks(status: \"closed\") { id } }", token="rep")
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and error["extensions"]["problems"][0]["path"] == "status"

    done = (await api.data(COMPLETE, {"id": soon}, "rep"))["completeTask"]
    assert done["status"] == "done" and done["completedAt"] and done["dueDate"] == "2026-03-05"
    assert done["assigneeId"] == api.rep_id and done["description"] == "do soon" and done["object"] == "contract"
    again = (await api.data(COMPLETE, {"id": soon}, "rep"))["completeTask"]
    assert again == done  # done already: unchanged
    assert await my_titles(status="open") == ["later", "someday"]

    forbidden = await api.error(COMPLETE, {"id": anns}, "rep")
    assert forbidden["extensions"]["code"] == "FORBIDDEN"
    missing = await api.error(COMPLETE, {"id": "no-such-task"}, "rep")
    assert missing["extensions"]["code"] == "NOT_FOUND"
    assert await my_titles("admin", "open") == ["ann's"]  # untouched
    by_admin = (await api.data(COMPLETE, {"id": later}))["completeTask"]  # an admin may complete anyone's
    assert by_admin["status"] == "done"
    with api.installation.database(TENANT).read() as conn:
        stored = conn.execute(select(tasks.c.status, tasks.c.completed_at).where(tasks.c.id == later)).one()
    assert stored.status == "done" and stored.completed_at is not None


ENDING = {
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": [-2, -1, 0], "unit": "days", "at": "09:00"},
    "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                 "subject": "{{ record.number }} ends soon", "body": "ends {{ record.end_date | date }}"}],
}
PREVIEW = """query($days: Int!, $rule: String) { rulePreview(days: $days, rule: $rule) {
    day dueAt rule object recordId step outcome reason channel recipient subject body } }"""


async def test_rule_preview_lists_each_message_day_by_day(api: Api) -> None:
    documents = dict(crm_set().items())
    documents[("workflow_rule", "ending")] = ENDING
    api.store.publish(MetadataSet(documents), author="test")
    tenant = api.installation.tenant(TENANT)
    zone = ZoneInfo(tenant.timezone)
    today = datetime.now(zone).date()
    end = today + timedelta(days=3)
    account = (await api.data('mutation { createAccount(input: {name: "Acme"}) { id } }'))["createAccount"]["id"]
    contract = (await api.data("""mutation($a: ID!, $end: Date!) {
        createContract(input: {number: "HT-9", accountId: $a, endDate: $end}) { id } }""",
                               {"a": account, "end": end.isoformat()}, "rep"))["createContract"]["id"]

    items = (await api.data(PREVIEW, {"days": 30}))["rulePreview"]
    assert [(i["day"], i["step"]) for i in items] == [
        ((today + timedelta(days=n)).isoformat(), step) for n, step in ((1, "-2d"), (2, "-1d"), (3, "0d"))]
    body = f"ends {Templates(tenant.locale, zone).format_date(end)}"
    for item in items:
        due = datetime.fromisoformat(item["dueAt"]).astimezone(zone)
        assert (due.date().isoformat(), due.hour, due.minute) == (item["day"], 9, 0)
        assert item == {**item, "rule": "ending", "object": "contract", "recordId": contract, "outcome": "fired",
                        "reason": None, "channel": "in_app", "recipient": api.rep_id, "subject": "HT-9 ends soon",
                        "body": body}
    assert (await api.data(PREVIEW, {"days": 30, "rule": "ending"}))["rulePreview"] == items
    with api.installation.database(TENANT).read() as conn:  # a preview sends and records nothing
        assert conn.execute(select(workflow_runs)).first() is None
        assert conn.execute(select(deliveries)).first() is None

    forbidden = await api.error(PREVIEW, {"days": 30}, "rep")
    assert forbidden["extensions"]["code"] == "FORBIDDEN" and forbidden["path"] == ["rulePreview"]
    for days in (0, 367):
        error = await api.error(PREVIEW, {"days": days})
        assert error["extensions"]["code"] == "BAD_USER_INPUT" and "days" in error["message"]
        assert [p["path"] for p in error["extensions"]["problems"]] == ["days"]
    missing = await api.error(PREVIEW, {"days": 30, "rule": "nope"})
    assert missing["extensions"]["code"] == "NOT_FOUND" and "ending" in missing["message"]
    assert (await api.data("{ rulePreview { rule } }"))["rulePreview"] == [{"rule": "ending"}] * 3  # 30 days


def test_the_platform_keeps_its_names_and_objects_of_older_releases_yield() -> None:
    """Publish refuses objects named like the platform's types (the metadata tests); a release
    published before that check still builds: its `task` and `notification` objects get a
    suffix and the platform's `Task`, `Notification` and `notifications` keep their names."""
    objects = {"task": obj({"title": {"type": "string"}}), "notification": obj({"text": {"type": "string"}})}
    info = ReleaseInfo(1, "test", "", T0, "", "test", [], {})
    sdl = build_schema(build_registry("acme", Release(info, metadata_set(**objects)))).as_str()
    for line in ("type Task {", "type TaskRecord {", "type Notification {", "type NotificationRecord {",
                 "  notificationsList(\n    where: NotificationRecordWhere", "  notifications(first: Int! = 20",
                 "  myTasks(status: String): [Task!]!", "  completeTask(id: ID!): Task!",
                 "  unreadNotificationCount: Int!", "  createTaskRecord(input: TaskRecordCreateInput!): TaskRecord!"):
        assert line in sdl, line


def test_every_platform_name_is_reserved_for_publish_to_refuse() -> None:
    """The schema of a tenant with no objects holds only the platform's names; each must be in
    the reserved lists publish checks objects against, or an object could take it."""
    info = ReleaseInfo(1, "test", "", T0, "", "test", [], {})
    schema = build_schema(build_registry("acme", Release(info, metadata_set())))
    types = {name for name in schema._schema.type_map if not name.startswith("__")}  # type: ignore[attr-defined]
    assert types - PLATFORM_TYPE_NAMES == set()
    queries = set(schema._schema.query_type.fields)  # type: ignore[attr-defined]
    assert queries == PLATFORM_QUERY_FIELDS
