"""Helpers shared by tests: metadata built in code, a snapshot of what a database holds, and the
`trellis` command run in-process."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, inspect, text

from trellis.cli import main
from trellis.metadata import MetadataError, MetadataInvalid, load_folder
from trellis.metadata.model import MetadataSet
from trellis.platform.db import Database
from trellis.platform.settings import Settings


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def metadata_set(**objects: dict[str, Any]) -> MetadataSet:
    return MetadataSet({("object", name): copy.deepcopy(doc) for name, doc in objects.items()})


def load_errors(folder: Path) -> list[MetadataError]:
    """The errors loading `folder` raises (it must raise)."""
    with pytest.raises(MetadataInvalid) as caught:
        load_folder(folder)
    return caught.value.errors


def schema_snapshot(db: Database) -> dict[str, Any]:
    """Tables, columns, indexes and foreign keys: equal snapshots mean equal storage."""
    with db.read() as conn:
        insp = inspect(conn)
        out: dict[str, Any] = {}
        for table in sorted(insp.get_table_names(schema=db.schema)):
            out[table] = {
                "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table, schema=db.schema)],
                "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                  for i in insp.get_indexes(table, schema=db.schema)),
                "fks": sorted((fk["name"] or "", tuple(fk["constrained_columns"]), fk["referred_table"])
                              for fk in insp.get_foreign_keys(table, schema=db.schema)),
            }
        return out


class StatementCounter:
    """Collects the SQL statements an engine runs (`before_cursor_execute`)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def selects_from(self, table: str) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s]


@contextmanager
def counting_statements(engine: Engine) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


def rows(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.read() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def execute(db: Database, sql: str, **params: Any) -> None:
    with db.write() as conn:
        conn.execute(text(sql), params)


def insert_records(db: Database, metadata: MetadataSet, object_name: str, records: list[dict[str, Any]]) -> None:
    """Insert rows through the release's own Table (types applied), standard columns filled."""
    from datetime import datetime

    from sqlalchemy import insert

    from trellis.runtime.storage import build_tables

    table = build_tables(metadata.objects)[object_name]
    now = datetime.now(UTC)
    with db.write() as conn:
        conn.execute(insert(table), [{"created_at": now, "updated_at": now, **r} for r in records])


class Cli:
    """Runs `trellis …` in-process against one installation, capturing what it prints."""

    def __init__(self, settings: Settings, capsys: pytest.CaptureFixture[str]):
        self.settings = settings
        self.capsys = capsys
        self.base = ["--data-dir", str(settings.data_dir)]
        if settings.database_url:
            self.base += ["--database-url", settings.database_url]

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        self.capsys.readouterr()
        code = main([*self.base, *argv], out=out)
        return code, out.getvalue(), self.capsys.readouterr().err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == 0, err
        return out
