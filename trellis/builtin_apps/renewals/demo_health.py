"""Sample health data for the renewals demo: usage, tickets, NPS, invoices and two scoring runs.

Runs after `demo_data.generate` (it reads the accounts and contracts that made). Each account
gets a profile — thriving, steady, slipping or failing — so every band, every KPI and every
churn warning shows something on the first start: slipping accounts were healthy yesterday and
lose points today (the first run is dated yesterday, the second today), so `explainScore` has
changes to explain and the drop and band warnings fire. Current contracts are linked to the
ones they renew, which gives GRR and NRR their expansions and contractions. Deterministic and
dated relative to today; everything goes through the records service.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from trellis.runtime.access import Actor
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.service import RecordsService, UpdateItem
from trellis.runtime.scores.model import model_named
from trellis.runtime.scores.runner import ScoreRunner

MODEL = "customer_health"
PROFILES = ("thriving", "steady", "slipping", "failing")
#: (active-user share, feature share, NPS range, CSAT range, open P1/P2 tickets, days overdue or None)
_SHAPES: dict[str, tuple[float, float, tuple[int, int], tuple[int, int], int, int | None]] = {
    "thriving": (0.92, 0.8, (9, 10), (4, 5), 0, None),
    "steady": (0.7, 0.55, (7, 8), (3, 5), 1, None),
    "slipping": (0.55, 0.4, (6, 8), (3, 4), 1, 20),
    "failing": (0.25, 0.15, (1, 5), (1, 3), 3, 75),
}


def generate_health(service: RecordsService, today: date | None = None, seed: int = 11,
                    progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Write the health inputs and score twice (yesterday, today); returns counts by object."""
    today = today or service.context().today
    rng = random.Random(seed)
    system = Actor.system()
    accounts = service.list(system, "account", PageRequest(first=500, order_by=[{"name": "ASC"}])).records
    contracts = service.list(system, "contract", PageRequest(first=500, order_by=[{"number": "ASC"}])).records
    _link_renewals(service, contracts)
    profiles = {a["id"]: PROFILES[n % len(PROFILES)] for n, a in enumerate(accounts)}
    counts = {"usage_snapshot": 0, "support_ticket": 0, "nps_response": 0, "invoice": 0}

    def create(object_name: str, rows: list[dict[str, Any]]) -> None:
        service.create_many(system, object_name, rows)
        counts[object_name] += len(rows)
        progress(f"{object_name}: {len(rows)}")

    # what was true a month ago: every account looked at least steady
    create("usage_snapshot", [_usage(a["id"], today - timedelta(days=35), "steady" if p != "thriving" else p, rng)
                              for a, p in ((a, profiles[a["id"]]) for a in accounts)])
    create("nps_response", [{"account": a["id"], "responded_on": (today - timedelta(days=60)).isoformat(),
                             "score": rng.randint(7, 10)} for a in accounts])
    create("invoice", _invoices(contracts, profiles, today, rng, recent=False))
    _score(service, today - timedelta(days=1))
    # what happened since: slipping and failing accounts show it
    create("usage_snapshot", [_usage(a["id"], today - timedelta(days=3), profiles[a["id"]], rng) for a in accounts])
    create("nps_response", [{"account": a["id"], "responded_on": (today - timedelta(days=5)).isoformat(),
                             "score": rng.randint(*_SHAPES[profiles[a["id"]]][2])}
                            for a in accounts if profiles[a["id"]] != "steady"])
    create("support_ticket", _tickets(accounts, profiles, today, rng))
    create("invoice", _invoices(contracts, profiles, today, rng, recent=True))
    _score(service, today)
    return counts


def _link_renewals(service: RecordsService, contracts: list[dict[str, Any]]) -> None:
    """Each account's current contract renews its previous one (the pairs demo_data wrote)."""
    by_account: dict[str, list[dict[str, Any]]] = {}
    for contract in contracts:
        by_account.setdefault(contract["account"], []).append(contract)
    items: list[UpdateItem] = []
    for pair in by_account.values():
        ordered = sorted(pair, key=lambda c: c["end_date"])
        items.extend(UpdateItem(later["id"], {"renewal_of": earlier["id"]})
                     for earlier, later in zip(ordered, ordered[1:], strict=False) if earlier["status"] == "已续约")
    service.update_many(Actor.system(), "contract", items)


def _usage(account: str, period_end: date, profile: str, rng: random.Random) -> dict[str, Any]:
    users_share, feature_share, *_ = _SHAPES[profile]
    seats = rng.choice([20, 50, 80, 120, 200])
    return {"account": account, "period_end": period_end.isoformat(), "licensed_seats": seats,
            "active_users": max(1, round(seats * min(1.0, users_share + rng.uniform(-0.05, 0.05)))),
            "key_features_total": 10, "key_features_used": max(0, round(10 * feature_share))}


def _tickets(accounts: list[dict[str, Any]], profiles: dict[str, str], today: date,
             rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for account in accounts:
        _, _, _, csat, open_serious, _ = _SHAPES[profiles[account["id"]]]
        for n in range(3):  # closed tickets with their CSAT
            opened = today - timedelta(days=10 + 20 * n)
            rows.append({"account": account["id"], "subject": f"使用咨询 #{n + 1}", "priority": "P3", "status": "已关闭",
                         "opened_on": opened.isoformat(), "resolved_on": (opened + timedelta(days=2)).isoformat(),
                         "csat": rng.randint(*csat)})
        for n in range(open_serious):  # the oldest open one is a P1 over 7 days old for failing accounts
            priority = "P1" if n == 0 and open_serious > 1 else "P2"
            rows.append({"account": account["id"], "subject": f"系统故障 #{n + 1}", "priority": priority,
                         "status": "处理中", "opened_on": (today - timedelta(days=9 - 3 * n)).isoformat()})
    return rows


def _invoices(contracts: list[dict[str, Any]], profiles: dict[str, str], today: date, rng: random.Random,
              recent: bool) -> list[dict[str, Any]]:
    """Last quarter's invoices all paid; this quarter's paid, open or overdue by profile."""
    rows = []
    for contract in contracts:
        if contract["status"] != "生效" or not contract.get("amount"):
            continue
        quarter = (Decimal(contract["amount"]) / 4).quantize(Decimal("0.01"))
        overdue = _SHAPES[profiles[contract["account"]]][5]
        if not recent:
            due = today - timedelta(days=100)
            rows.append({"number": f"INV-{contract['number']}-1", "account": contract["account"], "contract": contract["id"],
                         "amount": str(quarter), "due_date": due.isoformat(),
                         "paid_date": (due + timedelta(days=rng.randint(0, 5))).isoformat()})
            continue
        due = today - timedelta(days=overdue) if overdue else today + timedelta(days=rng.randint(5, 40))
        paid = None if overdue or rng.random() < 0.5 else (today - timedelta(days=1)).isoformat()
        rows.append({"number": f"INV-{contract['number']}-2", "account": contract["account"], "contract": contract["id"],
                     "amount": str(quarter), "due_date": due.isoformat(), "paid_date": paid})
    return rows


def _score(service: RecordsService, day: date) -> None:
    """A scoring run as the worker would make it on `day` (at 02:00 in the tenant's zone)."""
    at = datetime.combine(day, time(2), service.timezone)
    registry = service.registry
    ScoreRunner(service.db, registry, model_named(registry.metadata, MODEL), str(service.timezone), service.locale,
                lambda: at, service.hooks).run("demo")
