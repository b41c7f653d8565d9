"""A small approvals world: contracts with a discount, a rep who reports to a manager who
reports to a VP, a finance role, processes published as the test needs, and an injected clock."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from tests.runtime.automation.world import ACCOUNT, Clock
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.approvals.engine import ApprovalEngine
from trellis.runtime.approvals.processes import ProcessBook
from trellis.runtime.approvals.views import RequestView
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.identity import UserService
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry, build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks

CONTRACT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "account": {"type": "string", "x-ref": "account"},
        "status": {"type": "string", "enum": ["draft", "approved", "rejected"], "default": "draft"},
        "amount": {"type": "number", "x-kind": "currency"},
        "discount": {"type": "number", "default": 0},
        "note": {"type": "string"},
        "approver": {"type": "string"},
    },
    "required": ["name"],
}
REP_ROLE = {"objects": {"contract": {"create": True, "read": "own", "update": "own"}, "account": {"read": "all"}}}
MANAGER_ROLE = {"objects": {"contract": {"read": "all", "update": "all"}}}
FINANCE_ROLE = {"objects": {"contract": {"read": "all"}}}

DISCOUNT: dict[str, Any] = {
    "x-label": {"en": "Discount approval", "zh-CN": "折扣审批"},
    "object": "contract",
    "entry_condition": "discount > 10",
    "submitters": ["owner"],
    "steps": [
        {"name": "manager", "label": {"en": "Manager"}, "approvers": [{"manager": 1}]},
        {"name": "vp", "condition": "discount > 20", "approvers": [{"manager": 2}]},
    ],
    "on_approved": [{"type": "set_fields", "values": {"status": "'approved'"}}],
    "on_rejected": [{"type": "set_fields", "values": {"status": "'rejected'", "discount": "0"}}],
}

PEOPLE = {  # email: (name, role, manager)
    "vp@acme.test": ("Vera", "manager", None),
    "boss@acme.test": ("Bo", "manager", "vp@acme.test"),
    "rep@acme.test": ("Ray", "rep", "boss@acme.test"),
    "fin1@acme.test": ("Fay", "finance", None),
    "fin2@acme.test": ("Finn", "finance", None),
    "fin3@acme.test": ("Fern", "finance", None),
    "admin@acme.test": ("Ada", "admin", None),
}


@dataclass
class ApprovalWorld:
    installation: Installation
    db: Database
    clock: Clock
    registry: Registry | None = None
    ids: dict[str, str] = field(default_factory=dict)  # email -> user id

    @classmethod
    def create(cls, installation: Installation) -> ApprovalWorld:
        installation.create_tenant("acme", timezone_name="Asia/Shanghai", locale="en")
        return cls(installation, installation.database("acme"), Clock())

    @property
    def store(self) -> MetadataStore:
        return MetadataStore(self.db)

    @property
    def users(self) -> UserService:
        return UserService(self.db, self.store)

    def publish(self, rules: dict[str, dict[str, Any]] | None = None, **processes: dict[str, Any]) -> Registry:
        items: dict[tuple[str, str], Any] = {
            ("object", "account"): ACCOUNT, ("object", "contract"): CONTRACT, ("role", "rep"): REP_ROLE,
            ("role", "manager"): MANAGER_ROLE, ("role", "finance"): FINANCE_ROLE}
        items.update({("approval_process", name): doc for name, doc in processes.items()})
        items.update({("workflow_rule", name): doc for name, doc in (rules or {}).items()})
        self.store.publish(MetadataSet({k: copy.deepcopy(v) for k, v in items.items()}), author="test")
        self.registry = build_registry("acme", self.store.current())  # type: ignore[arg-type]
        if not self.ids:
            users = self.users
            for email, (name, role, _) in PEOPLE.items():
                self.ids[email] = users.create_user(email, name=name, roles=[role]).id
            for email, (_, _, manager) in PEOPLE.items():
                if manager:
                    users.set_manager(email, manager)
        return self.registry

    def actor(self, email: str) -> Actor:
        return self.users.actor_for(email)

    def records(self) -> RecordsService:
        assert self.registry is not None
        return RecordsService(self.db, self.registry, "Asia/Shanghai", "en", clock=self.clock, hooks=write_hooks())

    def engine(self) -> ApprovalEngine:
        assert self.registry is not None
        return ApprovalEngine(self.db, self.registry, ProcessBook(self.store), "Asia/Shanghai", "en", self.clock,
                              hooks=write_hooks())

    def contract(self, discount: float = 15, owner: str = "rep@acme.test", **values: Any) -> str:
        values.setdefault("amount", 1000)
        return self.records().create(Actor.system(), "contract", {
            "name": "Deal", "discount": discount, "owner_id": self.ids[owner], **values})["id"]

    def submit(self, record_id: str, process: str = "discount", by: str = "rep@acme.test") -> RequestView:
        return self.engine().submit(self.actor(by), "contract", record_id, process)

    def get(self, record_id: str) -> dict[str, Any]:
        return self.records().get(Actor.system(), "contract", record_id)

    def asked(self, view: RequestView) -> list[str]:
        """Emails of the approvers of the current step still pending."""
        emails = {v: k for k, v in self.ids.items()}
        return sorted(emails[t.approver_id] for t in view.tasks if t.step == view.step and t.status == "pending")

    def ledger(self) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(select(deliveries).order_by(deliveries.c.created_at)).mappings()]

    @staticmethod
    def today() -> date:
        return date(2026, 3, 1)
