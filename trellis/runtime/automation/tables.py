"""Rule watermarks, run history and the delivery ledger (migrations t0004, t0005).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

workflow_watermarks = Table(
    "workflow_watermarks",
    tenant_metadata,
    Column("rule", String(64), primary_key=True),
    Column("scanned_to", UtcDateTime(), nullable=False),  # due instants up to here were handled
    Column("release", Integer, nullable=False),
)

#: Run history: one row per firing of a rule for a record (fired, skipped or failed, and why).
#: The unique key makes a firing happen once however many schedulers see it.
workflow_runs = Table(
    "workflow_runs",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("release", Integer, nullable=False),
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),  # '' for a schedule without an object
    Column("trigger", String(16), nullable=False),  # created, updated, deleted, date, schedule
    Column("step", String(32), nullable=False),  # the offset of a date rule ('-30d'), else ''
    Column("anchor", String(40), nullable=True),  # the date value a date rule fired for
    Column("due_at", UtcDateTime(), nullable=False),
    Column("fired_at", UtcDateTime(), nullable=False),
    Column("outcome", String(16), nullable=False),  # fired, skipped, failed
    Column("reason", Text, nullable=True),
    UniqueConstraint("rule", "record_id", "step", "due_at", name="uq_workflow_runs__firing"),
    Index("ix_workflow_runs__record", "object", "record_id"),
    Index("ix_workflow_runs__rule", "rule", "fired_at"),
)

#: The ledger and outbox in one: every side effect of a firing (a message to one recipient
#: over one channel, a record action, a webhook call) is one row with a unique key, written in
#: the transaction that fired, and delivered afterwards by the dispatcher.
#:
#: `kind` is the action type that planned the row and performs it (automation.actions);
#: `channel` is the message channel, '' for actions that send no message. `kind` is not part of
#: the unique key: the key's `action` (the action's position in the rule) already decides it,
#: since a firing is recorded once (uq_workflow_runs__firing) from one release of the rule.
deliveries = Table(
    "deliveries",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("run_id", String(36), ForeignKey("workflow_runs.id"), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("step", String(32), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    Column("action", Integer, nullable=False),  # position of the action in the rule
    Column("channel", String(32), nullable=False),  # email, sms, wecom, webhook, in_app; '' for no message
    Column("recipient", String(320), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: what to send, rendered when it fired
    Column("status", String(16), nullable=False),  # pending, sending, sent, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),  # a worker's lease while sending
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    Column("kind", String(32), nullable=False),  # notify, webhook, update_record, create_task, ... (t0005: last)
    UniqueConstraint("rule", "record_id", "step", "due_at", "action", "channel", "recipient",
                     name="uq_deliveries__ledger"),
    Index("ix_deliveries__queue", "status", "next_attempt_at"),
    Index("ix_deliveries__run", "run_id"),
)
