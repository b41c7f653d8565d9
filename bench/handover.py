"""handover: a leaver owning N records across 6 objects plus M queued reminders, handed over in
one transaction through `Handover.run` (full: 50,000 records, 5,000 deliveries).

Baseline: the least any handover must do, hand-written: one `UPDATE … SET owner_id` per object
and one UPDATE of the queued deliveries, in one transaction. Trellis does more (a count per
object, a field-history row per record, version bumps, approvals and tasks, the audit event),
set-based; the notes give the number of statements each side sent, which must not grow with
the records. The two sides alternate directions (A→B, then B→A), so each starts from the same
number of owned rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, event, insert, update

from bench.add_field import settle
from bench.backends import Backend
from bench.harness import Result, Sizes, Stopwatch, compare
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.automation.tables import deliveries, workflow_runs
from trellis.runtime.handover import Handover, HandoverRequest
from trellis.runtime.services import TenantServices

NAME = "handover"
TENANT = "handover"
OBJECTS = [f"thing{i}" for i in range(1, 7)]
THING = {"type": "object", "properties": {"name": {"type": "string"}, "amount": {"type": "number"}}}
RULE = {"object": "thing1", "trigger": {"type": "date", "field": "due", "offset": [-30], "unit": "days"},
        "actions": [{"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
                     "subject": "due", "body": "due"}]}
A, B = "leaver@bench.test", "taker@bench.test"


def sizes_of(sizes: Sizes) -> tuple[int, int]:
    """(records, deliveries): 50,000 and 5,000 at full size."""
    records = 50_000 if sizes.creates >= 100_000 else 2_000
    return records, records // 10


def setup(backend: Backend, records: int, queued: int) -> tuple[Database, TenantServices, dict[str, str]]:
    db = backend.tenant(TENANT)
    services = TenantServices(backend.installation)
    thing1 = {**THING, "properties": {**THING["properties"], "due": {"type": "string", "format": "date"}}}
    items: dict[tuple[str, str], Any] = {("object", name): THING for name in OBJECTS[1:]}
    items.update({("object", "thing1"): thing1, ("workflow_rule", "remind"): RULE})
    services.store(TENANT).publish(MetadataSet(items), author="bench")
    users = services.users(TENANT)
    ids = {email: users.create_user(email).id for email in (A, B)}
    fill(db, services, ids[A], records, queued)
    settle(db.engine, db.schema, tuple(f"obj_{n}" for n in OBJECTS) + ("deliveries",))
    return db, services, ids


def fill(db: Database, services: TenantServices, owner: str, records: int, queued: int) -> None:
    """Records spread evenly over the objects, and queued reminders about thing1's (set-up)."""
    registry = services.registry(TENANT)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    per_object = records // len(OBJECTS)
    first_ids: list[str] = []
    with db.write() as conn:
        for name in OBJECTS:
            rows = [{"id": new_id(), "name": f"{name} {i}", "amount": i, "owner_id": owner, "created_at": now,
                     "updated_at": now, "created_by": owner, "version": 1, "deleted_at": None}
                    for i in range(per_object)]
            if name == "thing1":
                first_ids = [r["id"] for r in rows]
            for start in range(0, len(rows), 1_000):
                conn.execute(insert(registry.tables[name]), rows[start:start + 1_000])
        _queue(conn, first_ids, owner, queued, now)


def _queue(conn: Connection, record_ids: list[str], owner: str, queued: int, now: datetime) -> None:
    runs, rows = [], []
    for i in range(queued):
        run_id, record_id, due = new_id(), record_ids[i % len(record_ids)], now + timedelta(days=i // len(record_ids))
        runs.append({"id": run_id, "rule": "remind", "release": 1, "object": "thing1", "record_id": record_id,
                     "trigger": "date", "step": "-30d", "anchor": None, "due_at": due, "fired_at": now,
                     "outcome": "fired", "reason": None})
        rows.append({"id": new_id(), "run_id": run_id, "rule": "remind", "record_id": record_id, "step": "-30d",
                     "due_at": due, "action": 0, "channel": "in_app", "recipient": owner,
                     "payload": '{"subject": "due", "recipient_name": "leaver"}', "status": "pending", "attempts": 0,
                     "next_attempt_at": due, "claimed_until": None, "last_error": None, "created_at": now,
                     "sent_at": None, "kind": "notify"})
    for start in range(0, queued, 1_000):
        conn.execute(insert(workflow_runs), runs[start:start + 1_000])
        conn.execute(insert(deliveries), rows[start:start + 1_000])


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    records, queued = sizes_of(sizes)
    db, services, ids = setup(backend, records, queued)
    registry = services.registry(TENANT)
    handover = Handover(db, registry, ZoneInfo("UTC"))
    statements: dict[str, int] = {}

    def ours(_: int, watch: Stopwatch) -> None:
        with counting(db) as seen, watch:
            result = handover.run(Actor.system(), HandoverRequest(A, B))
        assert result.records == records // len(OBJECTS) * len(OBJECTS) and result.deliveries == queued, result
        statements["ours"] = seen[0]

    def theirs(_: int, watch: Stopwatch) -> None:  # back from B to A, by hand
        with counting(db) as seen, watch, db.write() as conn:
            for name in OBJECTS:
                table = registry.tables[name]
                conn.execute(update(table).where(table.c.owner_id == ids[B]).values(owner_id=ids[A]))
            conn.execute(update(deliveries).where(deliveries.c.status == "pending", deliveries.c.recipient == ids[B])
                         .values(recipient=ids[A]))
        statements["theirs"] = seen[0]

    trellis_s, baseline_s = compare(ours, theirs, min(sizes.repeat, 2))
    return [Result(f"{NAME}/all", backend.name, trellis_s, baseline_s,
                   f"{records:,} records over {len(OBJECTS)} objects + {queued:,} queued deliveries in one "
                   f"transaction: {statements['ours']} statements (hand-written UPDATEs: {statements['theirs']}); "
                   f"{records / trellis_s:,.0f} records/s with history, versions and audit")]


class counting:  # noqa: N801  (used as a context manager, like `open`)
    """Counts the statements sent on the database's engine while the block runs."""

    def __init__(self, db: Database):
        self.engine = db.engine
        self.seen = [0]

    def _count(self, *args: Any) -> None:
        self.seen[0] += 1

    def __enter__(self) -> list[int]:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self.seen

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)
