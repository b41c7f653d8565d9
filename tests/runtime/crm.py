"""A CRM-like schema for records and query tests, and actors with chosen grants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.helpers import metadata_set, obj
from trellis.platform.db import Database
from trellis.runtime.access import AccessPolicy, Actor, FieldAccess, ObjectGrant, Scope
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import build_registry
from trellis.runtime.releases import MetadataStore
from trellis.runtime.services import write_hooks

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, 2026-03-01

OBJECTS: dict[str, Any] = {
    "account": obj({
        "name": {"type": "string", "minLength": 1, "maxLength": 20},
        "tier": {"type": "string", "enum": ["战略", "重要", "普通"], "default": "普通", "x-track-history": True},
        "health": {"type": "integer", "minimum": 0, "maximum": 100},
        "email": {"type": "string", "format": "email"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["vip", "new", "risk"]}, "uniqueItems": True},
        "open_tickets": {"type": "integer", "readOnly": True, "x-rollup": {
            "object": "ticket", "via": "account", "function": "count", "filter": "status == 'open'",
            "window": {"field": "opened_on", "days": 90}}},
        "contract_total": {"type": "number", "x-kind": "currency", "readOnly": True, "x-rollup": {
            "object": "contract", "via": "account", "function": "sum", "field": "amount"}},
    }, required=["name"]),
    "contract": obj({
        "number": {"type": "string", "x-unique": True},
        "account": {"type": "string", "x-ref": "account", "x-reverse": "contracts"},
        "status": {"type": "string", "enum": ["草稿", "生效", "已到期"], "default": "草稿"},
        "amount": {"type": "number", "x-kind": "currency", "minimum": 0, "x-track-history": True},
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date", "x-track-history": True},
        "signed_at": {"type": "string", "format": "date-time"},
        "days_to_end": {"type": "integer", "readOnly": True, "x-formula": "days_between(today(), end_date)"},
        "account_tier": {"type": "string", "readOnly": True, "x-formula": "account.tier"},
    }, required=["number", "account"], **{"x-rules": [{
        "name": "end_after_start", "condition": "end_date >= start_date",
        "message": {"en": "The end date must not be before the start date.", "zh-CN": "结束日期不能早于开始日期。"}}]}),
    "contract_line": obj({
        "contract": {"type": "string", "x-ref": "contract", "x-reverse": "lines"},
        "quantity": {"type": "integer", "minimum": 1, "default": 1},
        "unit_price": {"type": "number", "x-kind": "currency"},
        "line_total": {"type": "number", "x-kind": "currency", "readOnly": True, "x-formula": "quantity * unit_price"},
    }, required=["contract"]),
    "ticket": obj({
        "subject": {"type": "string"},
        "account": {"type": "string", "x-ref": "account"},
        "status": {"type": "string", "enum": ["open", "closed"], "default": "open"},
        "opened_on": {"type": "string", "format": "date"},
    }),
}

ADMIN = Actor.system()


def actor(user_id: str, **grants: ObjectGrant) -> Actor:
    return Actor(user_id=user_id, email=f"{user_id}@example.com", roles=("test",),
                 policy=AccessPolicy(grants=grants))


def grant(read: Scope = Scope.ALL, update: Scope = Scope.ALL, delete: Scope = Scope.ALL, create: bool = True,
          **fields: FieldAccess) -> ObjectGrant:
    return ObjectGrant(create=create, read=read, update=update, delete=delete, fields=fields)


def published_service(db: Database, objects: dict[str, Any] | None = None, locale: str = "zh-CN") -> RecordsService:
    """Publish `objects` (the CRM's by default) and return a records service over the release, at NOW."""
    store = MetadataStore(db, clock=lambda: NOW)
    store.publish(metadata_set(**(OBJECTS if objects is None else objects)), author="test")
    registry = build_registry("acme", store.current())  # type: ignore[arg-type]
    return RecordsService(db, registry, "Asia/Shanghai", locale, clock=lambda: NOW, hooks=write_hooks())
