"""Migration t0005 on a ledger written before it: each row's action type moves into `kind`,
`channel` keeps message channels only, the ledger's key and indexes survive SQLite's table copy,
and the downgrade puts the old values back."""

from __future__ import annotations

from importlib.resources import as_file, files

from alembic import command
from sqlalchemy import Connection, inspect, select

from trellis.platform import migrations
from trellis.platform.clock import utc_now
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.automation.tables import deliveries, workflow_runs

BEFORE = ["email", "in_app", "sms", "wecom", "webhook", "update_record", "create_record", "create_task",
          "start_approval"]  # what `channel` held before t0005, one row each
AFTER = [("notify", "email"), ("notify", "in_app"), ("notify", "sms"), ("notify", "wecom"), ("webhook", "webhook"),
         ("update_record", ""), ("create_record", ""), ("create_task", ""), ("start_approval", "")]


def _migrate(conn: Connection, db: Database, revision: str, up: bool) -> None:
    with as_file(files("trellis.migrations")) as location:
        config = migrations._config("tenant", str(location))
        config.attributes["connection"] = conn
        config.attributes["schema"] = db.schema
        (command.upgrade if up else command.downgrade)(config, revision)


def _ledger(db: Database) -> list[tuple[str, ...]]:
    d = deliveries
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(select(d.c.kind, d.c.channel).order_by(d.c.action))]


def test_the_kind_of_every_ledger_row_is_filled_in_and_taken_back(tenant_db: Database):
    now, run_id = utc_now(), new_id()
    with tenant_db.write() as conn:
        _migrate(conn, tenant_db, "t0004", up=False)
        conn.execute(workflow_runs.insert().values(
            id=run_id, rule="r", release=1, object="contract", record_id="c1", trigger="created", step="",
            anchor=None, due_at=now, fired_at=now, outcome="fired", reason=None))
        conn.execute(deliveries.insert(), [dict(
            id=new_id(), run_id=run_id, rule="r", record_id="c1", step="", due_at=now, action=i, channel=channel,
            recipient="", payload="{}", status="sent", attempts=1, next_attempt_at=now, claimed_until=None,
            last_error=None, created_at=now, sent_at=now) for i, channel in enumerate(BEFORE)])
    with tenant_db.write() as conn:
        _migrate(conn, tenant_db, "heads", up=True)
    assert _ledger(tenant_db) == AFTER
    with tenant_db.read() as conn:
        found = inspect(conn)
        keys = {u["name"]: u["column_names"] for u in found.get_unique_constraints("deliveries", schema=tenant_db.schema)}
        indexes = {i["name"] for i in found.get_indexes("deliveries", schema=tenant_db.schema)}
        foreign = [f["referred_table"] for f in found.get_foreign_keys("deliveries", schema=tenant_db.schema)]
        kind, = (c for c in found.get_columns("deliveries", schema=tenant_db.schema) if c["name"] == "kind")
    assert (kind["nullable"], kind["default"]) == (False, None)  # every writer says what it wrote
    assert keys == {"uq_deliveries__ledger": ["rule", "record_id", "step", "due_at", "action", "channel", "recipient"]}
    assert {"ix_deliveries__queue", "ix_deliveries__run"} <= indexes
    assert foreign == ["workflow_runs"]
    with tenant_db.write() as conn:
        _migrate(conn, tenant_db, "t0004", up=False)
        d = deliveries
        assert [r.channel for r in conn.execute(select(d.c.channel).order_by(d.c.action))] == BEFORE
