"""Roll-ups that take the earliest or latest date (or date-time) of related records, on both
databases: kept up to date on every write, read by formulas, filtered and sorted like a stored
date, and recomputed in bulk."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.helpers import obj
from tests.runtime.crm import ADMIN, published_service
from trellis.platform.db import Database
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordsService
from trellis.runtime.releases import MetadataStore

OBJECTS = {
    "account": obj({
        "name": {"type": "string"},
        "next_renewal": {"type": ["string", "null"], "format": "date", "readOnly": True, "x-rollup": {
            "object": "contract", "via": "account", "function": "min", "field": "end_date",
            "filter": "status == 'active'"}},
        "last_signed": {"type": ["string", "null"], "format": "date-time", "readOnly": True, "x-rollup": {
            "object": "contract", "via": "account", "function": "max", "field": "signed_at"}},
        "days_to_renewal": {"type": ["integer", "null"], "readOnly": True,
                            "x-formula": "days_between(today(), next_renewal)"},
    }),
    "contract": obj({
        "number": {"type": "string"},
        "account": {"type": "string", "x-ref": "account"},
        "status": {"type": "string", "enum": ["active", "ended"], "default": "active"},
        "end_date": {"type": "string", "format": "date"},
        "signed_at": {"type": ["string", "null"], "format": "date-time"},
    }),
}


@pytest.fixture
def service(tenant_db: Database) -> RecordsService:
    return published_service(tenant_db, OBJECTS, locale="en")


def test_earliest_active_end_and_latest_signature_follow_every_write(service: RecordsService) -> None:
    a = service.create(ADMIN, "account", {"name": "A"})
    b = service.create(ADMIN, "account", {"name": "B"})
    assert (a["next_renewal"], a["last_signed"], a["days_to_renewal"]) == (None, None, None)

    def account(record_id: str) -> tuple[object, object, object]:
        found = service.get(ADMIN, "account", record_id)
        return found["next_renewal"], found["last_signed"], found["days_to_renewal"]

    c1 = service.create(ADMIN, "contract", {"number": "C1", "account": a["id"], "end_date": "2026-09-30",
                                            "signed_at": "2025-09-01T10:00:00+08:00"})
    service.create(ADMIN, "contract", {"number": "C2", "account": a["id"], "end_date": "2026-04-15",
                                       "signed_at": "2025-04-15T23:30:00+08:00"})
    service.create(ADMIN, "contract", {"number": "C3", "account": a["id"], "end_date": "2026-03-10", "status": "ended"})
    # C3 ended (filtered out); C2 ends first; C1 was signed last (2025-09-01 02:00 UTC); today is 2026-03-01
    assert account(a["id"]) == (date(2026, 4, 15), datetime(2025, 9, 1, 2, 0, tzinfo=UTC), 45)
    c2 = service.list(ADMIN, "contract", PageRequest(where={"number": {"_eq": "C2"}})).records[0]
    service.update(ADMIN, "contract", c2["id"], {"status": "ended"})
    assert account(a["id"])[0] == date(2026, 9, 30)
    service.update(ADMIN, "contract", c1["id"], {"account": b["id"]})  # moved: A has no active contract left
    assert account(a["id"]) == (None, datetime(2025, 4, 15, 15, 30, tzinfo=UTC), None)
    assert account(b["id"])[:2] == (date(2026, 9, 30), datetime(2025, 9, 1, 2, 0, tzinfo=UTC))
    service.delete(ADMIN, "contract", c1["id"])
    assert account(b["id"]) == (None, None, None)
    service.restore(ADMIN, "contract", c1["id"])
    assert account(b["id"])[0] == date(2026, 9, 30)


def test_a_date_rollup_filters_sorts_and_recomputes_like_a_stored_date(service: RecordsService) -> None:
    ids = {}
    for name, end in (("early", "2026-05-01"), ("late", "2027-01-31"), ("none", None)):
        ids[name] = service.create(ADMIN, "account", {"name": name})["id"]
        if end:
            service.create(ADMIN, "contract", {"number": name, "account": ids[name], "end_date": end})
    soon = service.list(ADMIN, "account", PageRequest(where={"next_renewal": {"_lte": "2026-06-01"}}))
    assert [r["name"] for r in soon.records] == ["early"]
    ordered = service.list(ADMIN, "account", PageRequest(order_by=[{"next_renewal": "DESC_NULLS_LAST"}]))
    assert [r["name"] for r in ordered.records] == ["late", "early", "none"]
    with service.db.write() as conn:  # a value gone stale (e.g. written by an import before the roll-up existed)
        conn.execute(service.registry.tables["account"].update().values(next_renewal=None))
    assert service.recompute_rollups("account") == 2
    assert service.get(ADMIN, "account", ids["late"])["next_renewal"] == date(2027, 1, 31)


def test_a_roll_up_added_to_an_object_with_records_is_computed_by_the_publish(tenant_db: Database) -> None:
    before = published_service(tenant_db, {**OBJECTS, "account": obj({"name": {"type": "string"}})}, locale="en")
    a = before.create(ADMIN, "account", {"name": "A"})["id"]
    before.create(ADMIN, "contract", {"number": "C1", "account": a, "end_date": "2026-05-20"})
    after = published_service(tenant_db, OBJECTS, locale="en")
    plan = MetadataStore(tenant_db).release(2).info.plan
    assert "account.next_renewal: roll-up computed for the existing records" in plan["notices"]
    assert after.get(ADMIN, "account", a)["next_renewal"] == date(2026, 5, 20)
