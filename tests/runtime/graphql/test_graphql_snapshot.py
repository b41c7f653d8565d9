"""The SDL generated from the CRM test schema, compared with a committed snapshot, so that an
accidental change to the API shows up in review as a diff of `snapshots/crm.graphql`.

After an intended change: TRELLIS_UPDATE_SNAPSHOTS=1 pytest tests/runtime/graphql/test_graphql_snapshot.py
"""

from __future__ import annotations

import difflib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.helpers import metadata_set, obj
from tests.runtime.graphql.conftest import crm_set
from trellis.runtime.graphql import build_schema
from trellis.runtime.registry import build_registry
from trellis.runtime.releases import Release, ReleaseInfo

SNAPSHOT = Path(__file__).parent / "snapshots" / "crm.graphql"
UPDATE = "TRELLIS_UPDATE_SNAPSHOTS"


def crm_sdl() -> str:
    info = ReleaseInfo(1, "test", "", datetime(2026, 3, 1, tzinfo=UTC), "", "test", [], {})
    return build_schema(build_registry("acme", Release(info, crm_set()))).as_str() + "\n"


def test_the_generated_schema_matches_the_snapshot() -> None:
    sdl = crm_sdl()
    if os.environ.get(UPDATE):
        SNAPSHOT.write_text(sdl, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if sdl != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), sdl.splitlines(keepends=True),
                                            "snapshots/crm.graphql (committed)", "generated now"))
        pytest.fail(f"the generated GraphQL schema changed:\n{diff}\nIf the change is intended, update the "
                    f"snapshot with {UPDATE}=1 and commit it:\n  {UPDATE}=1 .venv/bin/python -m pytest "
                    f"{Path(__file__).relative_to(Path.cwd()) if Path(__file__).is_relative_to(Path.cwd()) else __file__}")


def test_the_schema_is_the_same_every_time_it_is_built() -> None:
    assert crm_sdl() == crm_sdl()


def test_clashing_names_get_suffixes_instead_of_breaking_the_schema() -> None:
    """Objects whose natural GraphQL names are taken — by the platform (`User`, `PageInfo`,
    `me`), by names generated for another object (`ContractWhere`, `createContracts`) or by an
    enum — get a suffix; an object's own field wins over a standard one of the same name."""
    objects = {
        "contract": obj({"status": {"type": "string", "enum": ["open", "closed"]}}),
        "contracts": obj({"name": {"type": "string"}}),
        "contract_where": obj({"name": {"type": "string"}}),
        "contract_status": obj({"name": {"type": "string"}}),
        "page_info": obj({"name": {"type": "string"}}),
        "me": obj({"owner": {"type": "string"}}),
        "deal": obj({"owner": {"type": "string", "x-ref": "contract"}}),
    }
    info = ReleaseInfo(1, "test", "", datetime(2026, 3, 1, tzinfo=UTC), "", "test", [], {})
    schema = build_schema(build_registry("acme", Release(info, metadata_set(**objects))))
    sdl = schema.as_str()
    for name in ("type ContractWhereRecord ", "type PageInfoRecord ", "type ContractStatus ",
                 "enum ContractStatusChoice ", "  meRecord(id: ID!): Me", "  contractses(", "  createContractsBatch(",
                 "  createContracts(input: ContractsCreateInput!)"):
        assert name in sdl, name
    me = schema._schema.type_map["Me"].fields  # type: ignore[attr-defined]
    assert str(me["owner"].type) == "String" and "ownerId" in me  # the field `owner` wins; ownerId stays
    deal = schema._schema.type_map["Deal"].fields  # type: ignore[attr-defined]
    assert str(deal["owner"].type) == "Contract" and str(deal["ownerId"].type) == "ID"
