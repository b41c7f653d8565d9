"""A small renewals world for automation tests: accounts, contracts, two users, a clock that
tests move, and the scheduler and dispatcher of one tenant on either database."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.outbound import OutboundPolicy
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.automation.dispatcher import Dispatcher, DispatchReport, RetryPolicy
from trellis.runtime.automation.scheduler import ScanReport, Scheduler
from trellis.runtime.automation.tables import deliveries, workflow_runs, workflow_watermarks
from trellis.runtime.channels import ChannelSettings
from trellis.runtime.identity import UserService
from trellis.runtime.inbox.tables import notifications
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry, build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai

ACCOUNT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "tier": {"type": ["string", "null"], "enum": ["gold", "silver", None]},
        "timezone": {"type": "string"},
    },
    "required": ["name"],
}
CONTRACT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "account": {"type": "string", "x-ref": "account"},
        "status": {"type": "string", "enum": ["active", "expired", "cancelled"], "default": "active"},
        "end_date": {"type": "string", "format": "date", "x-index": True},
        "auto_renew": {"type": "boolean", "default": False},
        "amount": {"type": "number", "x-kind": "currency"},
        "contact_email": {"type": "string", "format": "email"},
        "note": {"type": "string"},
    },
    "required": ["name"],
}
MANAGER_ROLE = {"objects": {"contract": {"read": "all"}}}
#: Alice's: messages render with their recipient's permissions, so she may read what she is sent.
REP_ROLE = {"objects": {"contract": {"read": "all", "update": "own", "create": True}, "account": {"read": "all"}}}

REMINDER = {
    "x-label": {"en": "Contract ends soon", "zh-CN": "合同即将到期"},
    "object": "contract",
    "trigger": {"type": "date", "field": "end_date", "offset": [-30, -7, 0], "unit": "days", "at": "09:00"},
    "condition": "status == 'active' and not auto_renew",
    "actions": [{
        "type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}],
        "subject": "{{ record.name }} ends {{ record.end_date | date }}",
        "body": "{{ record.name }} ({{ related.account.name }}): {{ record.amount | money }}",
    }],
}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def at(self, day: date, hour: int, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> datetime:
        self.now = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)
        return self.now


@dataclass
class World:
    installation: Installation
    db: Database
    clock: Clock
    registry: Registry | None = None
    users: dict[str, str] = field(default_factory=dict)  # email -> id
    outbound: OutboundPolicy = OutboundPolicy()  # tests posting to receivers pass theirs (receivers.LOOPBACK)

    @classmethod
    def create(cls, installation: Installation) -> World:
        installation.create_tenant("acme", timezone_name="Asia/Shanghai", locale="zh-CN")
        world = cls(installation, installation.database("acme"), Clock())
        return world

    @property
    def store(self) -> MetadataStore:
        return MetadataStore(self.db)

    def publish(self, items: Mapping[tuple[str, str], dict[str, Any]] | None = None, **rules: dict[str, Any]) -> Registry:
        """Publish the world's objects and roles, `items` added or replacing them, and `rules`."""
        published = {("object", "account"): ACCOUNT, ("object", "contract"): CONTRACT,
                     ("role", "manager"): MANAGER_ROLE, ("role", "rep"): REP_ROLE, **(items or {})}
        published.update({("workflow_rule", name): rule for name, rule in rules.items()})
        self.store.publish(MetadataSet({k: copy.deepcopy(v) for k, v in published.items()}), author="test")
        self.registry = build_registry("acme", self.store.current())  # type: ignore[arg-type]
        if not self.users:
            people = UserService(self.db, self.store)
            for email, name, role in (("alice@acme.test", "Alice", "rep"), ("bob@acme.test", "Bob", "manager")):
                user = people.create_user(email, name=name)
                if role:
                    people.assign_role(email, role)
                self.users[email] = user.id
        return self.registry

    def records(self) -> RecordsService:
        assert self.registry is not None
        return RecordsService(self.db, self.registry, "Asia/Shanghai", "zh-CN", clock=self.clock,
                              hooks=write_hooks())

    def account(self, name: str = "Acme Ltd", **values: Any) -> str:
        return self.records().create(Actor.system(), "account", {"name": name, **values})["id"]

    def contract(self, name: str, end_date: date, **values: Any) -> str:
        values.setdefault("account", self.account())
        values.setdefault("amount", "12345.5")
        values.setdefault("owner_id", self.users["alice@acme.test"])
        return self.records().create(Actor.system(), "contract", {"name": name, "end_date": end_date.isoformat(),
                                                                  **values})["id"]

    def scheduler(self) -> Scheduler:
        assert self.registry is not None
        return Scheduler(self.db, self.registry, SHANGHAI, "zh-CN", self.clock)

    def scan(self) -> ScanReport:
        return self.scheduler().scan()

    def dispatcher(self, **options: Any) -> Dispatcher:
        assert self.registry is not None
        options.setdefault("retry", RetryPolicy(max_attempts=3, base=timedelta(seconds=10)))
        return Dispatcher(self.db, self.registry, SHANGHAI, "zh-CN", self.clock, hooks=write_hooks(),
                          secrets=self.installation.secrets, outbound=self.outbound, **options)

    def dispatch(self, **options: Any) -> DispatchReport:
        return self.dispatcher(**options).run()

    def configure(self, channel: str, config: dict[str, Any]) -> None:
        ChannelSettings(self.db, self.installation.secrets, outbound=self.outbound).configure(channel, config, "test",
                                                                                         self.clock())

    # -- reading what happened -------------------------------------------------------------------

    def runs(self, **where: Any) -> list[dict[str, Any]]:
        table = workflow_runs
        with self.db.read() as conn:
            query = select(table).where(*(table.c[k] == v for k, v in where.items()))
            return [dict(r) for r in conn.execute(query.order_by(table.c.due_at, table.c.record_id, table.c.step)).mappings()]

    def deliveries(self, **where: Any) -> list[dict[str, Any]]:
        table = deliveries
        with self.db.read() as conn:
            query = select(table).where(*(table.c[k] == v for k, v in where.items()))
            rows = conn.execute(query.order_by(table.c.due_at, table.c.record_id, table.c.step, table.c.action,
                                                table.c.recipient))
            return [{**r, "payload": json.loads(r["payload"])} for r in rows.mappings()]

    def notifications(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(select(notifications).order_by(notifications.c.created_at,
                                                                                     notifications.c.title)).mappings()]

    def set_watermark(self, rule: str, at: datetime) -> None:
        """Test setup: pretend the rule was last scanned at `at`."""
        from trellis.runtime.automation.firing import insert_new

        with self.db.write() as conn:
            insert_new(conn, workflow_watermarks, [{"rule": rule, "scanned_to": at, "release": 1}], "rule")
            conn.execute(workflow_watermarks.update().where(workflow_watermarks.c.rule == rule)
                         .values(scanned_to=at))
