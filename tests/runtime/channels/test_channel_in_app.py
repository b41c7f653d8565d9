"""In-app notifications, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from trellis.platform.db import Database
from trellis.runtime.channels import DeliveryError, InAppChannel, OutgoingMessage
from trellis.runtime.identity import UserService
from trellis.runtime.inbox.tables import notifications
from trellis.runtime.releases import MetadataStore

NOW = datetime(2026, 2, 1, 9, 30, tzinfo=UTC)


def rows(db: Database) -> list[dict[str, object]]:
    with db.read() as conn:
        return [dict(row) for row in conn.execute(select(notifications)).mappings()]


def test_one_row_per_delivery_however_often_it_is_sent(tenant_db: Database):
    ann = UserService(tenant_db, MetadataStore(tenant_db)).create_user("ann@example.com")
    channel = InAppChannel(tenant_db, clock=lambda: NOW)
    message = OutgoingMessage(id="0190a0b0-0000-7000-8000-0000000000aa", channel="in_app", recipient=ann.id,
                              subject="合同即将到期", body="HT-001 将于 30 天后到期",
                              data={"object": "contract", "record_id": "0190a0b0-0000-7000-8000-0000000000bb"})
    channel.send(message)
    channel.send(message)
    [row] = rows(tenant_db)
    assert row["user_id"] == ann.id
    assert (row["title"], row["body"]) == ("合同即将到期", "HT-001 将于 30 天后到期")
    assert (row["object"], row["record_id"]) == ("contract", "0190a0b0-0000-7000-8000-0000000000bb")
    assert row["delivery_id"] == message.id
    assert row["created_at"] == NOW and row["read_at"] is None


def test_an_unknown_user_is_not_retried(tenant_db: Database):
    with pytest.raises(DeliveryError) as caught:
        InAppChannel(tenant_db).send(OutgoingMessage(id="d-1", channel="in_app", recipient="no-such-user",
                                                     subject="s", body="b"))
    assert not caught.value.retryable
    assert caught.value.reason == "no user with id 'no-such-user'"
    assert rows(tenant_db) == []
