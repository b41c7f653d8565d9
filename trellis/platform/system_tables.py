"""Core `Table`s for the system tables that the Alembic migrations create.

Code queries through these; the migrations in `migrations/` create them. tests/platform/
test_system_tables.py compares both so they cannot drift apart.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from trellis.platform.sqltypes import UtcDateTime

control_metadata = MetaData()

tenants = Table(
    "tenants",
    control_metadata,
    Column("name", String(40), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("locale", String(8), nullable=False),
    Column("location", String(255), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

tenant_metadata = MetaData()

metadata_blobs = Table(
    "metadata_blobs",
    tenant_metadata,
    Column("hash", String(64), primary_key=True),
    Column("document", Text, nullable=False),
)

metadata_releases = Table(
    "metadata_releases",
    tenant_metadata,
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("author", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("source", String(255), nullable=False),
    Column("diff", Text, nullable=False),
    Column("plan", Text, nullable=False),
)

metadata_release_items = Table(
    "metadata_release_items",
    tenant_metadata,
    Column("release", Integer, ForeignKey("metadata_releases.number"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("hash", String(64), ForeignKey("metadata_blobs.hash"), nullable=False),
)

metadata_drafts = Table(
    "metadata_drafts",
    tenant_metadata,
    Column("kind", String(40), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("document", Text, nullable=True),  # NULL: the draft removes the item
    Column("updated_by", String(255), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

users = Table(
    "users",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # lower-cased
    Column("name", String(255), nullable=False),
    Column("password_hash", String(255), nullable=True),  # NULL: the user signs in with tokens only
    Column("active", Boolean, nullable=False),
    Column("manager_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

user_roles = Table(
    "user_roles",
    tenant_metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Index("ix_user_roles_role", "role"),
)

api_tokens = Table(
    "api_tokens",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # SHA-256 hex of the secret
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),
    Column("last_used_at", UtcDateTime(), nullable=True),
    Index("ix_api_tokens_user_id", "user_id"),
)

audit_log = Table(
    "audit_log",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("action", String(16), nullable=False),  # create, update, delete, restore, purge
    Column("changes", Text, nullable=False),  # JSON {field: [old, new]}
    Index("ix_audit_log__record", "object", "record_id"),
)

field_history = Table(
    "field_history",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("object", String(64), nullable=False),
    Column("record_id", String(36), nullable=False),
    Column("field", String(64), nullable=False),
    Column("old_value", Text, nullable=True),  # JSON
    Column("new_value", Text, nullable=True),  # JSON
    Column("changed_at", UtcDateTime(), nullable=False),
    Column("changed_by", String(64), nullable=False),
    Index("ix_field_history__record", "object", "record_id", "field"),
)

# -- automation (migration t0004) -------------------------------------------------------------

channel_settings = Table(
    "channel_settings",
    tenant_metadata,
    Column("channel", String(32), primary_key=True),
    Column("config", Text, nullable=False),  # JSON, secrets included: never echoed back
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

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
    Column("channel", String(32), nullable=False),  # email, sms, wecom, webhook, in_app, or the action type
    Column("recipient", String(320), nullable=False),
    Column("payload", Text, nullable=False),  # JSON: what to send, rendered when it fired
    Column("status", String(16), nullable=False),  # pending, sending, sent, dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("claimed_until", UtcDateTime(), nullable=True),  # a worker's lease while sending
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime(), nullable=True),
    UniqueConstraint("rule", "record_id", "step", "due_at", "action", "channel", "recipient",
                     name="uq_deliveries__ledger"),
    Index("ix_deliveries__queue", "status", "next_attempt_at"),
    Index("ix_deliveries__run", "run_id"),
)

notifications = Table(
    "notifications",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("object", String(64), nullable=True),
    Column("record_id", String(36), nullable=True),
    Column("delivery_id", String(36), nullable=True, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("read_at", UtcDateTime(), nullable=True),
    Index("ix_notifications__inbox", "user_id", "read_at", "created_at"),
)

tasks = Table(
    "tasks",
    tenant_metadata,
    Column("id", String(36), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("assignee_id", String(36), ForeignKey("users.id"), nullable=True),
    Column("object", String(64), nullable=True),
    Column("record_id", String(36), nullable=True),
    Column("due_date", Date, nullable=True),
    Column("status", String(16), nullable=False),  # open, done
    Column("delivery_id", String(36), nullable=True, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("completed_at", UtcDateTime(), nullable=True),
    Index("ix_tasks__assignee", "assignee_id", "status"),
)
