"""In-app notifications: a row in the tenant's `notifications` table, read in the user's inbox.

The delivery id is a unique column, so a retried delivery finds its row and does nothing: a
notification appears once however often the dispatcher sends it.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.channels.base import DeliveryError, OutgoingMessage
from trellis.runtime.identity.tables import users
from trellis.runtime.inbox.tables import notifications


class InAppChannel:
    name = "in_app"

    def __init__(self, db: Database, clock: Clock = utc_now):
        self.db = db
        self.clock = clock

    def send(self, message: OutgoingMessage) -> None:
        try:
            with self.db.write() as conn:
                if _delivered(conn, message.id):
                    return
                if conn.execute(select(users.c.id).where(users.c.id == message.recipient)).first() is None:
                    raise DeliveryError(f"no user with id {message.recipient!r}", retryable=False)
                conn.execute(insert(notifications).values(
                    id=new_id(), user_id=message.recipient, title=message.subject, body=message.body,
                    object=message.data.get("object"), record_id=message.data.get("record_id"),
                    delivery_id=message.id, created_at=self.clock()))
        except IntegrityError as error:  # a concurrent send of the same delivery got there first
            with self.db.read() as conn:
                if _delivered(conn, message.id):
                    return
            raise DeliveryError(f"could not save the notification: {error.orig}", retryable=False) from error
        except OperationalError as error:  # the database is unreachable or busy: try again later
            raise DeliveryError(f"could not save the notification: {error.orig}") from error


def _delivered(conn: Connection, delivery_id: str) -> bool:
    return conn.execute(select(notifications.c.id).where(notifications.c.delivery_id == delivery_id)).first() is not None
