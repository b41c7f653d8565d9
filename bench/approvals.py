"""approvals: decisions through the approval engine, and myPendingApprovals over many open requests.

* `decide`  N requests (1,000; 100 with quick sizes), each submitted by a rep and approved by
  their manager through `ApprovalEngine.approve`: lock the request, record the decision, close
  the step, unlock the record and apply `on_approved` (`set_fields status = 'approved'`)
  through the records service. Baseline: the plain records-service update it wraps (the same
  `status` change on as many other contracts, same hooks). Target: ≤ 3× per decision. The
  notes give the per-decision time and what a submission costs.
* `my_pending`  `pending_for` (the resolver of `myPendingApprovals`, a page of 50 with tasks
  and history) with 10,000 open requests spread over 100 approvers, against the hand-written
  SELECT of the same page of task rows. The plan of its task query is printed after the table:
  an index range scan of `ix_approval_tasks__inbox`, not a scan of the open requests.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from bench.add_field import settle
from bench.backends import Backend
from bench.harness import Result, Sizes, Stopwatch, compare
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.approvals.queries import pending_for, pending_ids
from trellis.runtime.approvals.tables import approval_requests, approval_tasks
from trellis.runtime.services import TenantServices

NAME = "approvals"
TENANT = "approvals"
OPEN = 10_000
APPROVERS = 100
CONTRACT = {"type": "object", "properties": {
    "name": {"type": "string"}, "status": {"type": "string", "enum": ["draft", "approved"], "default": "draft"},
    "discount": {"type": "number", "default": 0}}, "required": ["name"]}
PROCESS = {"object": "contract", "entry_condition": "discount > 10", "submitters": ["owner"],
           "steps": [{"name": "manager", "approvers": [{"manager": 1}]}],
           "on_approved": [{"type": "set_fields", "values": {"status": "'approved'"}}]}
REP_ROLE = {"objects": {"contract": {"create": True, "read": "own", "update": "own"}}}


def setup(backend: Backend) -> tuple[Database, TenantServices, Actor, Actor]:
    db = backend.tenant(TENANT)
    services = TenantServices(backend.installation)
    services.store(TENANT).publish(MetadataSet({("object", "contract"): CONTRACT, ("role", "rep"): REP_ROLE,
                                                ("approval_process", "discount"): PROCESS}), author="bench")
    users = services.users(TENANT)
    users.create_user("boss@bench.test", roles=["admin"])
    users.create_user("rep@bench.test", roles=["rep"])
    users.set_manager("rep@bench.test", "boss@bench.test")
    return db, services, users.actor_for("rep@bench.test"), users.actor_for("boss@bench.test")


def contracts(services: TenantServices, rep: Actor, count: int) -> list[str]:
    result = services.records(TENANT).create_many(rep, "contract", [
        {"name": f"Deal {i}", "discount": 25} for i in range(count)])
    return [i for i in result.ids if i is not None]


def run(backend: Backend, sizes: Sizes) -> list[Result]:
    db, services, rep, boss = setup(backend)
    count = min(1_000, max(sizes.creates // 20, 10))
    repeat = min(sizes.repeat, 2)
    submit_s: list[float] = []

    def decide(_: int, watch: Stopwatch) -> None:
        engine = services.approvals(TENANT)
        started = datetime.now(UTC)
        requests = [engine.submit(rep, "contract", record, "discount").id for record in contracts(services, rep, count)]
        submit_s.append((datetime.now(UTC) - started).total_seconds())
        with watch:
            for request in requests:
                engine.approve(boss, request)

    def update(_: int, watch: Stopwatch) -> None:
        records = services.records(TENANT)
        ids = contracts(services, rep, count)
        with watch:
            for record in ids:
                records.update(boss, "contract", record, {"status": "approved"})

    trellis_s, baseline_s = compare(decide, update, repeat)
    results = [Result(f"{NAME}/decide", backend.name, trellis_s, baseline_s,
                      f"{count:,} approvals: {trellis_s / count * 1e3:.2f} ms per decision vs "
                      f"{baseline_s / count * 1e3:.2f} ms per plain update (target ≤ 3x); a submission costs "
                      f"{min(submit_s) / count * 1e3:.2f} ms")]
    results.append(my_pending(db, backend, sizes))
    return results


def fill_open(db: Database, boss_like: list[str], total: int) -> None:
    """`total` pending requests, each with one pending task, spread over the approvers (set-up)."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    requests, tasks = [], []
    for i in range(total):
        request_id = new_id()
        requests.append({"id": request_id, "process": "discount", "release": 1, "object": "contract",
                         "record_id": f"r{i}", "open_record": f"r{i}", "status": "pending", "step": 0,
                         "lock": json.dumps("record"), "submitted_by": "system", "submitted_at": now,
                         "comment": None, "decided_at": None, "version": 1})
        tasks.append({"id": new_id(), "request_id": request_id, "step": 0, "step_name": "manager",
                      "approver_id": boss_like[i % len(boss_like)], "delegated_from": None, "status": "pending",
                      "comment": None, "created_at": now + timedelta(seconds=i), "decided_at": None,
                      "remind_at": None, "escalate_at": None})
    with db.write() as conn:
        for start in range(0, total, 1_000):
            conn.execute(insert(approval_requests), requests[start:start + 1_000])
            conn.execute(insert(approval_tasks), tasks[start:start + 1_000])


def my_pending(db: Database, backend: Backend, sizes: Sizes) -> Result:
    services = TenantServices(backend.installation)
    users = services.users(TENANT)
    approvers = [users.create_user(f"approver{i}@bench.test").id for i in range(APPROVERS)]
    fill_open(db, approvers, OPEN)
    settle(db.engine, db.schema, ("approval_requests", "approval_tasks"))  # statistics, as a live table has
    me = users.actor_for("approver7@bench.test")
    t = approval_tasks.c
    hand = select(t.request_id, t.step_name, t.created_at).where(
        t.approver_id == me.user_id, t.status == "pending").order_by(t.created_at, t.request_id).limit(50)

    def ours(_: int, watch: Stopwatch) -> None:
        with watch:
            found = pending_for(db, me, 50)
        assert len(found) == 50

    def theirs(_: int, watch: Stopwatch) -> None:
        with watch, db.read() as conn:
            conn.execute(hand).all()

    trellis_s, baseline_s = compare(ours, theirs, sizes.cpu_repeat)
    return Result(f"{NAME}/my_pending", backend.name, trellis_s, baseline_s,
                  f"a page of 50 of {OPEN // APPROVERS} pending, {OPEN:,} open requests; with tasks and history "
                  f"vs the hand-written SELECT of the task rows", plan(db, me.user_id))


def plan(db: Database, user_id: str) -> str:
    """The plan of the task query behind myPendingApprovals."""
    with db.read() as conn:
        statement = select(approval_tasks.c.request_id).where(
            approval_tasks.c.approver_id == user_id, approval_tasks.c.status == "pending").order_by(
            approval_tasks.c.created_at, approval_tasks.c.request_id).limit(50)
        compiled = statement.compile(conn, compile_kwargs={"literal_binds": True})
        explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        lines = [" ".join(str(c) for c in row) for row in conn.exec_driver_sql(explain + str(compiled))]
        assert pending_ids(conn, user_id, 1)  # the same query, through the runtime
    return f"{NAME} myPendingApprovals task query on {db.dialect} ({explain.strip()}):\n  " + "\n  ".join(lines)
