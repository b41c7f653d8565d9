"""`handover` over HTTP: the admin previews, then moves; a rep is refused; bad input names the argument."""

from __future__ import annotations

import pytest

from tests.runtime.graphql.conftest import TENANT, Api
from trellis.runtime.access import Actor
from trellis.runtime.services import TenantServices

pytestmark = pytest.mark.anyio

HANDOVER = """mutation($from: String!, $to: String!, $objects: [String!], $where: String, $dry: Boolean!) {
  handover(from: $from, to: $to, objects: $objects, where: $where, dryRun: $dry) {
    id dryRun records fromUser toUser objects { object records sample } deliveries approvalTasks tasks notes } }"""


async def test_preview_then_move(api: Api) -> None:
    records = TenantServices(api.installation).records(TENANT)
    account = records.create(Actor.system(), "account", {"name": "Acme", "owner_id": api.rep_id})["id"]
    variables = {"from": "rob@example.com", "to": "ann@example.com", "objects": None, "where": None, "dry": True}
    preview = (await api.data(HANDOVER, variables))["handover"]
    assert (preview["id"], preview["dryRun"], preview["records"]) == (None, True, 1)
    assert [o for o in preview["objects"] if o["records"]] == [{"object": "account", "records": 1, "sample": [account]}]
    assert records.get(Actor.system(), "account", account)["owner_id"] == api.rep_id

    done = (await api.data(HANDOVER, {**variables, "dry": False, "objects": ["account"],
                                      "where": '{"name": {"_eq": "Acme"}}'}))["handover"]
    assert done["id"] and done["records"] == 1
    assert records.get(Actor.system(), "account", account)["owner_id"] == api.admin_id


async def test_refusals(api: Api) -> None:
    variables = {"from": "rob@example.com", "to": "ann@example.com", "objects": None, "where": None, "dry": True}
    assert (await api.error(HANDOVER, variables, token="rep"))["extensions"]["code"] == "FORBIDDEN"
    error = await api.error(HANDOVER, {**variables, "to": "rob@example.com"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "handing over" in error["message"] + str(error)
    error = await api.error(HANDOVER, {**variables, "where": "[1]"})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
