"""Every example in docs/expressions.md is evaluated and must give the result the page shows.

Example tables have the header `| formula | with | result |`. "with" lists field values
separated by `;` (`name = value`, `lookup.field = value` for a related record); a value or a
result is `blank`, a date (2026-03-02), a date-time (2026-03-01T16:30Z or with +08:00), a
Python literal (numbers with a decimal point are exact decimals), or `error: <message>`.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from trellis.runtime.expressions import EvaluationContext, EvaluationError, compile_expression, evaluate

DOC = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"
HEADER = "| formula | with | result |"
CTX = EvaluationContext(ZoneInfo("Asia/Shanghai"), datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})$")


def examples() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.strip() == HEADER:
            in_table = True
            continue
        if not in_table or line.startswith("| ---"):
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        formula, given, result = (cell.strip() for cell in line.strip().strip("|").split("|"))
        rows.append((formula.strip("`"), given, result))
    return rows


def value(text: str) -> Any:
    text = text.strip().strip("`")
    if text == "blank":
        return None
    if _DATE.match(text):
        return date.fromisoformat(text)
    if _DATETIME.match(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    parsed = ast.literal_eval(text)
    if isinstance(parsed, float):
        return Decimal(text)
    return parsed


def record_of(given: str) -> tuple[dict[str, Any], dict[str, Any]]:
    record: dict[str, Any] = {}
    related: dict[str, dict[str, Any]] = {}
    for assignment in filter(None, (part.strip() for part in given.split(";"))):
        name, _, text = assignment.partition("=")
        name = name.strip()
        if "." in name:
            lookup, field = name.split(".")
            record[lookup] = f"{lookup}-1"
            related.setdefault(lookup, {})[field] = value(text)
        else:
            record[name] = value(text)
    return record, related


EXAMPLES = examples()


def test_the_page_has_examples_for_every_function():
    from trellis.metadata.expressions import FUNCTIONS

    used = {name for formula, _, _ in EXAMPLES for name in compile_expression(formula).functions}
    assert set(FUNCTIONS) <= used
    assert len(EXAMPLES) > 60


@pytest.mark.parametrize(("formula", "given", "result"), EXAMPLES,
                         ids=[f"{f} | {g}" for f, g, _ in EXAMPLES])
def test_documented_example(formula: str, given: str, result: str):
    record, related = record_of(given)
    compiled = compile_expression(formula)
    if result.startswith("error:"):
        with pytest.raises(EvaluationError) as caught:
            evaluate(compiled, record, related, CTX)
        assert caught.value.message == result.removeprefix("error:").strip()
        return
    got, expected = evaluate(compiled, record, related, CTX), value(result)
    assert got == expected and (isinstance(got, bool) == isinstance(expected, bool))
