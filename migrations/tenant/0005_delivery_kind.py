"""The delivery ledger says what each row holds: `kind` (the action type that planned it and
performs it) beside `channel`, which now holds the message channel only ('' for an action that
sends no message).

Until now `channel` held a message's channel but a record action's type. Existing rows are
backfilled: a record action's type moves from `channel` to `kind` and its `channel` becomes '';
a message is `webhook` on the webhook channel and `notify` on every other channel.

`kind` does not join the unique key uq_deliveries__ledger (rule, record, step, due instant,
action, channel, recipient): a firing is recorded once, from one release of the rule, so the
action's position already decides its type. For the same reason blanking `channel` cannot make
two existing rows collide: rows of one firing that differ in type differ in `action`.

SQLite cannot add a NOT NULL column without a default nor drop a default in place, so the
column is added with a default of '' and the default is dropped afterwards in batch mode (the
table is copied; its key, indexes and foreign key come along). PostgreSQL alters in place.

Revision ID: t0005
Revises: t0004
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "t0005"
down_revision = "t0004"
branch_labels = None
depends_on = None

RECORD_ACTIONS = ("update_record", "create_record", "create_task", "start_approval")

deliveries = sa.table("deliveries", sa.column("kind", sa.String), sa.column("channel", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("kind", sa.String(32), nullable=False, server_default=""))
    d = deliveries.c
    op.execute(deliveries.update().where(d.channel.in_(RECORD_ACTIONS)).values(kind=d.channel, channel=""))
    op.execute(deliveries.update().where(d.channel == "webhook").values(kind="webhook"))
    op.execute(deliveries.update().where(d.kind == "").values(kind="notify"))
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("kind", existing_type=sa.String(32), existing_nullable=False, server_default=None)


def downgrade() -> None:
    d = deliveries.c
    op.execute(deliveries.update().where(d.kind.in_(RECORD_ACTIONS)).values(channel=d.kind))
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("kind")
