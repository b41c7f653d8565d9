"""Approval requests, the task of each approver, the history and delegations (migration t0006).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.

Two unique keys carry the engine's guarantees: `uq_approval_requests__open` (object,
open_record) — `open_record` is the record id while the request is pending and NULL after,
so a record has at most one pending request however many submit at once; and
`uq_approval_events__key` (request, key), which makes a timed firing (a reminder, an
escalation) happen once however many workers see it due.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata
from trellis.runtime.identity import tables as _users  # noqa: F401  (the users these rows point to)

approval_requests = Table(
    "approval_requests",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("process", String(64), nullable=False),
    Column("release", Integer, nullable=False),  # the release the process is pinned to
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("open_record", String(36), nullable=True),  # record_id while pending, else NULL
    Column("status", String(16), nullable=False),  # pending, approved, rejected, recalled
    Column("step", Integer, nullable=True),  # the current step's position while pending
    Column("lock", Text, nullable=False),  # JSON: "record", "none" or the locked fields
    Column("submitted_by", String(36), nullable=False),
    Column("submitted_at", UtcDateTime(), nullable=False),
    Column("comment", Text, nullable=True),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("version", Integer, nullable=False),  # bumped by every decision (compare-and-set)
    UniqueConstraint("object", "open_record", name="uq_approval_requests__open"),
    Index("ix_approval_requests__record", "object", "record_id"),
    Index("ix_approval_requests__status", "status", "submitted_at"),
)

#: One row per approver of a step: what myPendingApprovals reads, by approver and status.
approval_tasks = Table(
    "approval_tasks",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("approval_requests.id"), nullable=False),
    Column("step", Integer, nullable=False),
    Column("step_name", String(64), nullable=False),
    Column("approver_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("delegated_from", String(36), nullable=True),  # the user this delegate stands in for
    Column("status", String(16), nullable=False),  # pending, approved, rejected, closed, reassigned
    Column("comment", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("decided_at", UtcDateTime(), nullable=True),
    Column("remind_at", UtcDateTime(), nullable=True),  # the next reminder while pending
    Column("escalate_at", UtcDateTime(), nullable=True),  # the step's escalation while pending
    UniqueConstraint("request_id", "step", "approver_id", name="uq_approval_tasks__approver"),
    Index("ix_approval_tasks__inbox", "approver_id", "status", "created_at", "request_id"),
    Index("ix_approval_tasks__request", "request_id", "step"),
    Index("ix_approval_tasks__remind", "status", "remind_at"),
    Index("ix_approval_tasks__escalate", "status", "escalate_at"),
)

#: The history of a request: every submission, step, decision, skip, reminder and escalation.
approval_events = Table(
    "approval_events",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("request_id", String(36), ForeignKey("approval_requests.id"), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor_id", String(36), nullable=False),  # a user id or 'system'
    Column("event", String(24), nullable=False),
    Column("step", Integer, nullable=True),
    Column("detail", Text, nullable=True),  # a comment or why (JSON)
    Column("key", String(80), nullable=True),  # timed firings: once per key
    UniqueConstraint("request_id", "key", name="uq_approval_events__key"),
    Index("ix_approval_events__request", "request_id", "at"),
)

#: While `user_id` is away, `delegate_id` is asked in their place (for one object or process,
#: or for all when both are NULL).
approval_delegations = Table(
    "approval_delegations",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("delegate_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("starts_at", UtcDateTime(), nullable=False),
    Column("ends_at", UtcDateTime(), nullable=False),
    Column("object", String(64), nullable=True),
    Column("process", String(64), nullable=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_approval_delegations__user", "user_id", "ends_at"),
)
