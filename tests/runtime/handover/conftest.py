"""A handover world: the approvals world (users with managers, contracts, the discount process)
plus rules that queue work for a record's owner and for a role, on both databases."""

from __future__ import annotations

import pytest

from tests.cli.conftest import cli  # noqa: F401  (the `trellis` command, in-process)
from tests.runtime.approvals.world import DISCOUNT, ApprovalWorld
from tests.runtime.graphql.conftest import anyio_backend, api  # noqa: F401  (the served tenant over HTTP)
from trellis.platform.tenancy import Installation

ON_CREATE = {"object": "contract", "trigger": {"type": "record", "events": ["created"]}, "actions": [
    {"type": "notify", "channel": "in_app", "to": [{"user_field": "owner_id"}], "subject": "New: {{ record.name }}",
     "body": "Hello {{ recipient.name }}"},
    {"type": "notify", "channel": "email", "to": [{"user_field": "owner_id"}], "subject": "New", "body": "x"},
    {"type": "create_task", "title": "Call about {{ record.name }}", "assignee": {"user_field": "owner_id"}},
    {"type": "notify", "channel": "in_app", "to": [{"role": "manager"}], "subject": "FYI", "body": "x"},
]}


@pytest.fixture
def world(installation: Installation) -> ApprovalWorld:
    world = ApprovalWorld.create(installation)
    world.publish(rules={"on_create": ON_CREATE}, discount=DISCOUNT)
    return world
