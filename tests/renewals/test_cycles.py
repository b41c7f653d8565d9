"""Each renewal cycle's next term, month-end safe: the day after the end, for the cycle's months
(a term ending on a month's last day renews to a month's last day, leap years included)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.renewals.world import Renewals

CASES = [  # cycle, end of the current term, extra values, next start, next end
    ("月度", "2024-01-31", {}, "2024-02-01", "2024-02-29"),  # 31 Jan + 1 month: 29 Feb in a leap year
    ("月度", "2023-01-31", {}, "2023-02-01", "2023-02-28"),
    ("月度", "2024-02-29", {}, "2024-03-01", "2024-03-31"),  # no drift to the 29th
    ("月度", "2024-03-14", {}, "2024-03-15", "2024-04-14"),
    ("季度", "2024-11-30", {}, "2024-12-01", "2025-02-28"),
    ("半年度", "2023-08-31", {}, "2023-09-01", "2024-02-29"),
    ("年度", "2024-02-28", {}, "2024-02-29", "2025-02-28"),
    ("年度", "2023-12-31", {}, "2024-01-01", "2024-12-31"),
    ("多年", "2024-06-30", {"term_months": 36}, "2024-07-01", "2027-06-30"),
    ("多年", "2024-06-30", {}, "2024-07-01", "2026-06-30"),  # a multi-year term without months: two years
    ("不定期", "2024-05-09", {"irregular_next_start": "2024-05-10", "irregular_next_end": "2024-11-20"},
     "2024-05-10", "2024-11-20"),
]


@pytest.mark.parametrize(("cycle", "end", "values", "next_start", "next_end"), CASES)
def test_next_term(renewals: Renewals, cycle: str, end: str, values: dict[str, Any], next_start: str,
                   next_end: str) -> None:
    product = renewals.product("CRM", "100.00")
    contract = renewals.contract([(product, 1, "100.00", "0")], start="2023-01-01", end=end, cycle=cycle, **values)
    found = renewals.get("contract", contract)
    assert (str(found["next_term_start"]), str(found["next_term_end"])) == (next_start, next_end)
