"""The statement timeout, the second line behind the cost limit: a request's statement that runs
too long is stopped, its transaction rolled back whole, and the client gets a clear error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tests.runtime.graphql.conftest import TENANT
from tests.security.conftest import SiteFactory
from trellis.platform.db import Database
from trellis.platform.statement_timeout import StatementTimeout
from trellis.platform.tenancy import Installation
from trellis.runtime import services
from trellis.runtime.records.hooks import AfterWrite, WriteHook
from trellis.runtime.records.service import RecordsService
from trellis.runtime.releases import MetadataStore

#: minutes of work if nothing stopped them
SLOW = {"sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) "
                  "SELECT count(*) FROM n",
        "postgresql": "SELECT pg_sleep(600)"}
LIMIT_MS = 200


def slow(db: Database) -> str:
    return SLOW[db.dialect]


def test_a_slow_statement_is_stopped_and_its_transaction_rolled_back(tenant_db: Database) -> None:
    limited = tenant_db.with_statement_timeout(LIMIT_MS)
    with limited.write() as conn:
        conn.execute(text("CREATE TABLE probe (x integer)"))
    with pytest.raises(StatementTimeout, match=f"longer than {LIMIT_MS} ms"):
        with limited.write() as conn:
            conn.execute(text("INSERT INTO probe VALUES (1)"))
            conn.execute(text(slow(tenant_db))).all()
    with limited.read() as conn:  # nothing half-written, and the connection serves again
        assert conn.execute(text("SELECT count(*) FROM probe")).scalar() == 0
    with pytest.raises(StatementTimeout):
        with limited.read() as conn:
            conn.execute(text(slow(tenant_db))).all()


def test_each_statement_gets_the_whole_budget_and_other_transactions_none(tenant_db: Database) -> None:
    limited = tenant_db.with_statement_timeout(LIMIT_MS)
    quick = {"sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
                       "SELECT count(*) FROM n", "postgresql": "SELECT pg_sleep(0.01)"}[tenant_db.dialect]
    with limited.read() as conn:
        for _ in range(3):
            conn.execute(text(quick)).all()
    if tenant_db.dialect == "postgresql":  # SET LOCAL: gone with the transaction, from the pooled connection too
        with tenant_db.read() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
    else:  # the progress handler is removed with the transaction: a limit of 1 ms stops what no limit lets run
        work = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) FROM n"
        with pytest.raises(StatementTimeout):
            with tenant_db.with_statement_timeout(1).read() as conn:
                conn.execute(text(work)).all()
        with tenant_db.read() as conn:
            assert conn.execute(text(work)).scalar() == 3_000_000


class SlowHook(WriteHook):
    """A write that ends with a statement that takes too long, inside the write's transaction."""

    def after_write(self, write: AfterWrite) -> None:
        write.conn.execute(text(SLOW[write.conn.dialect.name])).all()


@pytest.mark.anyio
async def test_a_mutation_that_times_out_is_a_clear_error_and_writes_nothing(
        site: SiteFactory, installation: Installation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "write_hooks", lambda: (SlowHook(),))
    async with site(statement_timeout_ms=LIMIT_MS) as served:
        body = await served.graphql('mutation { createAccount(input: {name: "慢"}) { id } }')
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "TIMEOUT" and error["path"] == ["createAccount"]
        assert f"longer than {LIMIT_MS} ms" in error["message"] and "nothing" in error["message"]
        monkeypatch.setattr(services, "write_hooks", lambda: ())
        assert (await served.graphql("{ accounts { totalCount } }"))["data"] == {"accounts": {"totalCount": 0}}


@pytest.mark.anyio
async def test_a_query_that_times_out_is_a_clear_error(site: SiteFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_list(self: RecordsService, *args: Any) -> Any:
        with self.db.read() as conn:
            conn.execute(text(SLOW[conn.dialect.name])).all()

    monkeypatch.setattr(RecordsService, "list", slow_list)
    async with site(statement_timeout_ms=LIMIT_MS) as served:
        body = await served.graphql("{ accounts { totalCount } }")
    assert body["data"] is None  # a connection is never null: the error reaches the root
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["accounts"], "TIMEOUT")]


@pytest.mark.anyio
async def test_a_designer_page_that_times_out_is_a_503_without_a_traceback(
        site: SiteFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_history(self: MetadataStore) -> Any:
        with self.db.read() as conn:
            conn.execute(text(SLOW[conn.dialect.name])).all()

    monkeypatch.setattr(MetadataStore, "history", slow_history)
    async with site(statement_timeout_ms=LIMIT_MS) as served:
        response = await served.client.get(f"/t/{TENANT}/history", headers=served.auth("admin"))
    assert response.status_code == 503 and "longer than" in response.text and "Traceback" not in response.text
