"""The renewals app (its latest version) installed in a tenant with a sales team: a rep reporting to a manager, a
sales director, two finance people and an admin; a fixed clock; the worker run by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from trellis.builtin_apps.renewals import APP_FOLDER
from trellis.metadata.packages import read_package
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.approvals.engine import ApprovalEngine
from trellis.runtime.approvals.tables import approval_requests
from trellis.runtime.apps.install import install
from trellis.runtime.automation.tables import deliveries
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordsService
from trellis.runtime.services import TenantServices
from trellis.runtime.worker import Worker

TENANT = "acme"
TEAM = {  # email: (name, roles, manager)
    "admin@acme.test": ("管理员", ["admin"], None),
    "boss@acme.test": ("王经理", ["sales_rep"], None),
    "rep@acme.test": ("李销售", ["sales_rep"], "boss@acme.test"),
    "director@acme.test": ("赵总监", ["sales_director"], None),
    "fin1@acme.test": ("钱财务", ["finance"], None),
    "fin2@acme.test": ("孙财务", ["finance"], None),
}


@dataclass
class Clock:
    now: datetime = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Renewals:
    installation: Installation
    services: TenantServices
    clock: Clock = field(default_factory=Clock)
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, installation: Installation) -> Renewals:
        installation.create_tenant(TENANT, timezone_name="Asia/Shanghai", locale="zh-CN")
        services = TenantServices(installation)
        package = read_package(APP_FOLDER)
        install(services.store(TENANT), package.load(package.latest), author="test")
        world = cls(installation, services)
        users = services.users(TENANT)
        for email, (name, roles, _) in TEAM.items():
            world.ids[email] = users.create_user(email, name=name, roles=roles).id
        for email, (_, _, manager) in TEAM.items():
            if manager:
                users.set_manager(email, manager)
        return world

    def actor(self, email: str) -> Actor:
        return self.services.users(TENANT).actor_for(email)

    def records(self) -> RecordsService:
        return self.services.records(TENANT, self.clock)

    def engine(self) -> ApprovalEngine:
        return self.services.approvals(TENANT, self.clock)

    def settle(self, rounds: int = 8) -> None:
        """Run the worker until no action is left queued (rules that trigger rules take a round each)."""
        worker = Worker(self.services, [TENANT], clock=self.clock)
        for _ in range(rounds):
            worker.tick()
            if not self.queued_actions():
                return
        raise AssertionError(f"still queued after {rounds} rounds: {self.queued_actions()}")

    def queued_actions(self) -> list[dict[str, Any]]:
        with self.services.database(TENANT).read() as conn:
            return [dict(r) for r in conn.execute(select(deliveries).where(
                deliveries.c.status == "pending", deliveries.c.channel == "")).mappings()]

    def get(self, object_name: str, record_id: str) -> dict[str, Any]:
        return self.records().get(Actor.system(), object_name, record_id)

    def find(self, object_name: str, **where: Any) -> list[dict[str, Any]]:
        return self.records().list(Actor.system(), object_name, PageRequest(
            where={k: {"_eq": v} for k, v in where.items()}, first=100)).records

    def requests(self, record_id: str) -> list[dict[str, Any]]:
        with self.services.database(TENANT).read() as conn:
            return [dict(r) for r in conn.execute(select(approval_requests).where(
                approval_requests.c.record_id == record_id).order_by(approval_requests.c.submitted_at)).mappings()]

    # -- making things ---------------------------------------------------------------------------

    def product(self, name: str, price: str | None, uplift: str = "5") -> str:
        return self.records().create(Actor.system(), "product", {
            "name": name, "code": name.upper(), "list_price": price, "renewal_uplift_pct": uplift})["id"]

    def contract(self, lines: list[tuple[str, int, str, str]], *, owner: str = "rep@acme.test", number: str = "HT-1",
                 start: str = "2025-04-01", end: str = "2026-03-31", cycle: str = "年度", **values: Any) -> str:
        """A live contract with lines (product, quantity, unit price, discount)."""
        system = Actor.system()
        account = self.records().create(system, "account", {"name": f"客户 {number}"})["id"]
        total = sum((Decimal(price) * qty * (100 - Decimal(discount)) / 100).quantize(Decimal("0.01"))
                    for _, qty, price, discount in lines)
        contract = self.records().create(system, "contract", {
            "number": number, "name": f"{number} 年度服务", "account": account, "status": "生效", "start_date": start,
            "end_date": end, "amount": str(total), "cycle": cycle, "owner_id": self.ids[owner], **values})["id"]
        self.records().create_many(system, "contract_line", [
            {"contract": contract, "product": product, "quantity": qty, "unit_price": price, "discount": discount}
            for product, qty, price, discount in lines])
        return contract

    def quote(self, lines: list[dict[str, Any]], owner: str = "rep@acme.test", **values: Any) -> str:
        system = Actor.system()
        account = self.records().create(system, "account", {"name": "报价客户"})["id"]
        quote = self.records().create(system, "quote", {"name": "报价", "account": account,
                                                          "owner_id": self.ids[owner], **values})["id"]
        self.records().create_many(system, "quote_line", [{"quote": quote, **line} for line in lines])
        return quote
