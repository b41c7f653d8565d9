"""Finding 6 of the security review: CSV formula injection. An export neutralises every cell a
spreadsheet would run as a formula (a leading quote), `--raw` keeps them for programs, and an
import of such an export gives every value back exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.helpers import metadata_set
from tests.runtime.records.test_csv_io import ADMIN, DEAL, service_over
from trellis.platform.db import Database
from trellis.runtime.query.listing import PageRequest
from trellis.runtime.records.csv_io import export_csv, import_csv
from trellis.runtime.records.service import RecordsService


@pytest.fixture
def deals(tenant_db: Database) -> RecordsService:
    return service_over(tenant_db, metadata_set(deal=DEAL))

FORMULAS = ["=HYPERLINK(\"http://x.test\",\"点我\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1",
            "\r=1", "'=already quoted", "''@twice", "'plain quote", "a=b"]


def test_export_neutralises_formulas_and_import_gives_them_back(deals: RecordsService, tmp_path: Path):
    deals.create_many(ADMIN, "deal", [{"title": text, "notes": text, "score": -5} for text in FORMULAS])
    out = io.StringIO()
    export_csv(deals, ADMIN, "deal", out, order_by=[{"created_at": "ASC"}], bom=True)
    exported = list(csv.DictReader(io.StringIO(out.getvalue().removeprefix("\ufeff"))))
    assert [r["title"] for r in exported][:8] == [f"'{text}" for text in FORMULAS[:8]]  # formula starts read as text
    assert [r["notes"] for r in exported][8:] == ["'plain quote", "a=b"]  # nothing to neutralise
    assert {r["score"] for r in exported} == {"-5.0"}  # a negative number stays a number
    raw = io.StringIO()
    export_csv(deals, ADMIN, "deal", raw, order_by=[{"created_at": "ASC"}], raw=True)
    assert [r["title"] for r in csv.DictReader(io.StringIO(raw.getvalue()))] == FORMULAS
    path = tmp_path / "deals.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    assert import_csv(deals, ADMIN, "deal", path).written == len(FORMULAS)
    stored = deals.list(ADMIN, "deal", PageRequest(first=100)).records
    assert sorted((r["title"], r["notes"], r["score"]) for r in stored) == sorted((t, t, -5) for t in FORMULAS * 2)
