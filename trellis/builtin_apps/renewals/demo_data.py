"""Sample data for the renewals app: customers, contracts across their cycles, renewals.

Deterministic (seeded) and relative to today, so every demo shows contracts ending in the next
7, 30, 60 and 90 days, some already renewed and some lost. Everything goes through the records
service, like any other write: validation, formulas and audit included.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from trellis.runtime.access import Actor
from trellis.runtime.records.service import RecordsService

COMPANIES = [
    "华东精密制造", "北辰物流", "南方医疗器械", "星海软件", "蓝鲸零售", "长城金融科技", "西湖教育",
    "青松能源", "金桥电子", "云帆汽车零部件", "天成化工", "远航外贸", "瑞丰农业", "凯旋建材",
    "锦程家居", "明远数据", "恒信保险经纪", "晨光传媒", "海岳工程", "卓越咨询", "嘉禾食品", "新元半导体",
    "安泰安防", "博众检测",
]
PEOPLE = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵婷", "黄强", "周杰", "吴倩", "徐涛", "孙丽"]
TITLES = ["采购经理", "IT 总监", "财务总监", "运营负责人", "总经理"]
PRODUCTS = [
    ("CRM 专业版", "CRM-PRO", "36000.00", "年付"),
    ("CRM 企业版", "CRM-ENT", "98000.00", "年付"),
    ("BI 分析套件", "BI-STD", "24000.00", "年付"),
    ("数据集成平台", "DIP-STD", "48000.00", "年付"),
    ("实施服务包", "SVC-IMP", "15000.00", "年付"),
    ("短信通知包", "SMS-10K", "1200.00", "月付"),
]
INDUSTRIES = ["制造", "零售", "金融", "科技", "医疗", "教育", "其他"]
REGIONS = ["华东", "华北", "华南", "华中", "西南"]


def generate(service: RecordsService, today: date | None = None, seed: int = 7,
             progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Create the sample records; returns how many of each object were written. `today` is the
    tenant's today unless given."""
    today = today or service.context().today
    rng = random.Random(seed)
    system = Actor.system()

    def create(object_name: str, rows: list[dict[str, Any]]) -> list[str]:
        ids = service.create_many(system, object_name, rows).ids
        progress(f"{object_name}: {len(rows)}")
        return [i for i in ids if i is not None]

    product_ids = create("product", [
        {"name": name, "code": code, "list_price": price, "billing_cycle": cycle}
        for name, code, price, cycle in PRODUCTS])
    prices = {pid: Decimal(p[2]) for pid, p in zip(product_ids, PRODUCTS, strict=True)}
    tiers = [t for t in service.registry.objects["account"].fields["tier"].choices if t]  # 重要 before 1.3.0, then 重点
    account_ids = create("account", [
        {"name": name, "tier": rng.choices(tiers, [1, 3, 6])[0],
         "industry": rng.choice(INDUSTRIES), "region": rng.choice(REGIONS),
         "health_score": rng.randint(35, 98), "phone": f"021-{rng.randint(5000_0000, 6999_9999)}"}
        for name in COMPANIES])
    create("contact", [
        {"name": rng.choice(PEOPLE), "account": account, "title": rng.choice(TITLES),
         "email": f"contact{n}@example.com", "mobile": f"13{rng.randint(100000000, 999999999)}",
         "is_decision_maker": n % 3 == 0}
        for n, account in enumerate(account_ids * 2)])

    contracts: list[dict[str, Any]] = []
    # days until the current cycle ends: spread so that every reminder window has work in it
    offsets = [-40, -5, 0, 3, 7, 12, 25, 30, 45, 58, 60, 75, 88, 90, 120, 150, 200, 240, 300, 330, 365, 20, 5, 65]
    for n, account in enumerate(account_ids):
        end = today + timedelta(days=offsets[n % len(offsets)])
        start = end - timedelta(days=364)
        previous_end = start - timedelta(days=1)
        contracts.append({"number": f"HT-{2025_0000 + n:08d}", "name": f"{COMPANIES[n]} 年度服务合同（上期）",
                          "account": account, "status": "已续约", "start_date": (previous_end - timedelta(days=364)).isoformat(),
                          "end_date": previous_end.isoformat(), "amount": "0", "auto_renew": False})
        contracts.append({"number": f"HT-{2026_0000 + n:08d}", "name": f"{COMPANIES[n]} 年度服务合同",
                          "account": account, "status": "已到期" if end < today else "生效",
                          "start_date": start.isoformat(), "end_date": end.isoformat(), "amount": "0",
                          "auto_renew": n % 5 == 0})
    contract_ids = create("contract", contracts)

    lines: list[dict[str, Any]] = []
    totals: dict[str, Decimal] = {}
    for contract_id in contract_ids:
        for product_id in rng.sample(product_ids, rng.randint(1, 3)):
            quantity = rng.randint(1, 20) if prices[product_id] < 5000 else rng.randint(1, 3)
            discount = rng.choice([0, 0, 5, 10, 15])
            lines.append({"contract": contract_id, "product": product_id, "quantity": quantity,
                          "unit_price": str(prices[product_id]), "discount": discount})
            totals[contract_id] = totals.get(contract_id, Decimal(0)) + \
                (prices[product_id] * quantity * (100 - discount) / 100).quantize(Decimal("0.01"))
    create("contract_line", lines)
    for contract_id, total in totals.items():
        service.update(system, "contract", contract_id, {"amount": str(total)})

    current = contracts[1::2]
    opportunities = []
    for contract_id, contract in zip(contract_ids[1::2], current, strict=True):
        days_left = (date.fromisoformat(contract["end_date"]) - today).days
        if days_left > 90:
            continue
        stage = "已流失" if days_left < -30 else rng.choice(["待跟进", "沟通中", "报价中", "已赢单"])
        opportunities.append({
            "name": f"{contract['name']} 续约", "contract": contract_id, "account": contract["account"],
            "stage": stage, "expected_amount": str(totals.get(contract_id, Decimal(0))),
            "close_date": contract["end_date"],
            **({"churn_reason": rng.choice(["价格", "竞品", "预算削减"])} if stage == "已流失" else {})})
    create("renewal_opportunity", opportunities)
    return {"product": len(product_ids), "account": len(account_ids), "contact": len(account_ids) * 2,
            "contract": len(contract_ids), "contract_line": len(lines), "renewal_opportunity": len(opportunities)}
