"""A small scoring world: accounts with usage, tickets and invoices, a health model published as
the test needs, an injected clock, and the records service with the real write hooks."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.runtime.automation.world import Clock
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry, build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.scores.model import model_named
from trellis.runtime.scores.runner import RunReport, ScoreRunner
from trellis.runtime.services import write_hooks

ACCOUNT = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "seats": {"type": "integer"},
        "nps": {"type": "integer"},
        "health_score": {"type": "integer", "minimum": 0, "maximum": 100},
        "health_band": {"type": "string", "enum": ["健康", "关注", "风险"]},
        "health_change": {"type": "integer"},
    },
    "required": ["name"],
}
USAGE = {
    "type": "object",
    "properties": {
        "account": {"type": "string", "x-ref": "account"},
        "used_on": {"type": "string", "format": "date"},
        "active_users": {"type": "integer"},
    },
    "required": ["account", "used_on"],
}
TICKET = {
    "type": "object",
    "properties": {
        "account": {"type": "string", "x-ref": "account"},
        "priority": {"type": "string", "enum": ["P1", "P2", "P3"]},
        "status": {"type": "string", "enum": ["open", "closed"], "default": "open"},
        "csat": {"type": "number"},
        "opened": {"type": "string", "format": "date"},
    },
    "required": ["account", "opened"],
}

MODEL: dict[str, Any] = {
    "x-label": {"en": "Customer health", "zh-CN": "客户健康度"},
    "object": "account",
    "score_field": "health_score",
    "band_field": "health_band",
    "change_field": "health_change",
    "aggregates": {
        "peak_users": {"object": "usage", "via": "account", "function": "max", "value": "active_users",
                       "date_field": "used_on", "within_days": 30},
        "open_p1": {"object": "ticket", "via": "account", "function": "count",
                    "where": "priority == 'P1' and status == 'open'"},
        "avg_csat": {"object": "ticket", "via": "account", "function": "avg", "value": "csat",
                     "date_field": "opened", "within_days": 90},
    },
    "factors": [
        {"name": "usage", "label": {"en": "Seat usage", "zh-CN": "席位使用率"}, "value": "peak_users / seats",
         "scale": {"type": "linear", "low": 0.2, "high": 0.8}, "weight": 40, "blank": "exclude"},
        {"name": "p1", "label": {"en": "Open P1 tickets", "zh-CN": "未关闭 P1 工单"}, "value": "open_p1",
         "scale": {"type": "thresholds", "direction": "lower_is_better",
                   "steps": [{"max": 0, "points": 100}, {"max": 2, "points": 40}], "otherwise": 0},
         "weight": 20, "blank": {"neutral": 100}},
        {"name": "csat", "label": {"en": "CSAT", "zh-CN": "满意度"}, "value": "avg_csat",
         "scale": {"type": "linear", "low": 1, "high": 5}, "weight": 20, "blank": {"neutral": 50}},
        {"name": "nps", "label": {"en": "NPS", "zh-CN": "NPS"}, "value": "nps",
         "scale": {"type": "thresholds", "steps": [{"min": 9, "points": 100}, {"min": 7, "points": 60}], "otherwise": 0},
         "weight": 20, "blank": "exclude"},
    ],
    "bands": [
        {"value": "健康", "min": 75, "max": 100},
        {"value": "关注", "min": 50, "max": 74},
        {"value": "风险", "min": 0, "max": 49},
    ],
    "schedule": {"cron": "0 2 * * *"},
}


@dataclass
class ScoreWorld:
    installation: Installation
    db: Database
    clock: Clock
    registry: Registry | None = None

    @classmethod
    def create(cls, installation: Installation) -> ScoreWorld:
        installation.create_tenant("acme", timezone_name="Asia/Shanghai", locale="en")
        return cls(installation, installation.database("acme"), Clock())

    @property
    def store(self) -> MetadataStore:
        return MetadataStore(self.db)

    def publish(self, model: dict[str, Any] | None = None, **extra: dict[str, Any]) -> Registry:
        items: dict[tuple[str, str], Any] = {("object", "account"): ACCOUNT, ("object", "usage"): USAGE,
                                             ("object", "ticket"): TICKET,
                                             ("score_model", "health"): model or MODEL}
        for key, doc in extra.items():
            kind, _, name = key.partition("__")
            items[(kind, name)] = doc
        self.store.publish(MetadataSet({k: copy.deepcopy(v) for k, v in items.items()}), author="test")
        self.registry = build_registry("acme", self.store.current())  # type: ignore[arg-type]
        return self.registry

    def records(self) -> RecordsService:
        assert self.registry is not None
        return RecordsService(self.db, self.registry, "Asia/Shanghai", "en", clock=self.clock, hooks=write_hooks())

    def today(self) -> date:
        return self.records().context().now.astimezone(self.records().timezone).date()

    def account(self, name: str, seats: int | None = 10, nps: int | None = None) -> str:
        return str(self.records().create(Actor.system(), "account", {"name": name, "seats": seats, "nps": nps})["id"])

    def usage(self, account: str, users: int, days_ago: int = 1) -> None:
        day = (self.today() - timedelta(days=days_ago)).isoformat()
        self.records().create(Actor.system(), "usage", {"account": account, "used_on": day, "active_users": users})

    def ticket(self, account: str, priority: str = "P3", status: str = "closed", csat: float | None = None,
               days_ago: int = 1) -> str:
        opened = (self.today() - timedelta(days=days_ago)).isoformat()
        values = {"account": account, "priority": priority, "status": status, "csat": csat, "opened": opened}
        return str(self.records().create(Actor.system(), "ticket", values)["id"])

    def run(self, model: str = "health", batch: int = 1000) -> RunReport:
        assert self.registry is not None
        compiled = model_named(self.registry.metadata, model)
        return ScoreRunner(self.db, self.registry, compiled, "Asia/Shanghai", "en", self.clock, write_hooks(),
                           batch=batch).run()

    def get(self, object_name: str, record_id: str) -> dict[str, Any]:
        return self.records().get(Actor.system(), object_name, record_id)
