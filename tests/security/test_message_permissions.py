"""Issue 10, finding 7: messages respect field permissions.

A notify template renders for each recipient with that recipient's permissions: a field their
roles hide (a contract's `amount`, the account's `annual_revenue` through the lookup) is blank
in their in-app message and email, while an admin recipient sees it; an address that is no user
sees only the fields no role is denied. A webhook carries the fields the rule names, else those
the record owner's roles may read. On SQLite and PostgreSQL, through real receivers on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from tests.runtime.automation.world import ACCOUNT, World
from tests.runtime.channels.receivers import LOOPBACK, HttpReceiver, smtp_server
from trellis.platform.tenancy import Installation
from trellis.runtime.identity import UserService

SECRET = "whsec-test-only-0123456789"
#: An account with a field the sales role may not read.
ACCOUNT_WITH_REVENUE = {**ACCOUNT, "properties": {**ACCOUNT["properties"],
                                                  "annual_revenue": {"type": "number", "x-kind": "currency"}}}
#: Sales reads contracts and accounts, but not what they are worth.
SALES = {"objects": {
    "contract": {"create": True, "read": "all", "update": "own", "fields": {"amount": "none"}},
    "account": {"read": "all", "fields": {"annual_revenue": "none"}},
}}
#: Reads only the contracts it owns.
OWN_ONLY = {"objects": {"contract": {"read": "own"}, "account": {"read": "all"}}}
BODY = "name={{ record.name }} amount={{ record.amount | money }} account={{ related.account.name }} " \
       "revenue={{ related.account.annual_revenue | money }}"
HIDDEN = "name=Cloud plan amount= account=Acme Ltd revenue="
SHOWN = "name=Cloud plan amount=¥12,345.50 account=Acme Ltd revenue=¥9,876,543.00"


@pytest.fixture
def world(installation: Installation) -> Iterator[World]:
    world = World.create(installation)
    world.outbound = LOOPBACK
    yield world


def publish(world: World, **rules: dict[str, Any]) -> dict[str, str]:
    """The world with the sales and own-only roles, and carol (sales), dave (admin), erin (own
    only) beside alice and bob; the ids of the three by name."""
    world.publish({("object", "account"): ACCOUNT_WITH_REVENUE, ("role", "sales"): SALES,
                   ("role", "own_only"): OWN_ONLY}, **rules)
    users = UserService(world.db, world.store)
    ids = {}
    for name, role in (("carol", "sales"), ("dave", "admin"), ("erin", "own_only")):
        ids[name] = users.create_user(f"{name}@acme.test", name=name.title()).id
        users.assign_role(f"{name}@acme.test", role)
    return ids


def created(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"object": "contract", "trigger": {"type": "record", "events": ["created"]}, "actions": list(actions)}


def contract(world: World, owner: str, **values: Any) -> str:
    account = world.account("Acme Ltd", annual_revenue="9876543")
    return world.contract("Cloud plan", date(2026, 6, 30), account=account, owner_id=owner, **values)


def test_an_in_app_message_hides_what_its_recipient_may_not_read(world: World):
    ids = publish(world, created=created({
        "type": "notify", "channel": "in_app", "subject": "{{ record.name }}: {{ record.amount | money }}", "body": BODY,
        "to": [{"role": "sales"}, {"address": "dave@acme.test"}, {"address": "erin@acme.test"}]}))
    contract(world, owner=ids["carol"])
    assert world.dispatch().sent == 3
    notes = {n["user_id"]: n for n in world.notifications()}
    assert (notes[ids["carol"]]["title"], notes[ids["carol"]]["body"]) == ("Cloud plan: ", HIDDEN)
    assert (notes[ids["dave"]]["title"], notes[ids["dave"]]["body"]) == ("Cloud plan: ¥12,345.50", SHOWN)
    # erin reads only her own contracts: of carol's she sees nothing, the lookup's record included
    assert notes[ids["erin"]]["body"] == "name= amount= account= revenue="
    stored = {d["recipient"]: d["payload"]["body"] for d in world.deliveries()}
    assert stored[ids["carol"]] == HIDDEN  # the ledger holds what was rendered for her, nothing more


def test_an_email_hides_it_from_a_restricted_user_and_an_outside_address(world: World):
    ids = publish(world, created=created({
        "type": "notify", "channel": "email", "subject": "{{ record.name }}", "body": BODY,
        "to": [{"role": "sales"}, {"address": "dave@acme.test"}, {"field": "contact_email"}]}))
    with smtp_server() as (smtp, port):
        world.configure("email", {"host": "127.0.0.1", "port": port, "security": "none",
                                  "from_address": "renewals@acme.test"})
        contract(world, owner=ids["carol"], contact_email="buyer@customer.test")
        assert world.dispatch().sent == 3
        bodies = {m["To"]: m.get_content().strip() for m in smtp.messages()}
    assert bodies == {
        "carol@acme.test": HIDDEN,
        "dave@acme.test": SHOWN,
        # no user: the fields no role is denied; sales is denied amount and annual_revenue
        "buyer@customer.test": HIDDEN,
    }


def test_without_roles_that_hide_anything_an_outside_address_sees_every_field(world: World):
    world.publish({("object", "account"): ACCOUNT_WITH_REVENUE}, created=created({
        "type": "notify", "channel": "in_app", "body": BODY, "to": [{"address": "alice@acme.test"}]}, {
        "type": "notify", "channel": "sms", "body": BODY, "to": [{"address": "+8613800000000"}]}))
    contract(world, owner=world.users["alice@acme.test"])
    bodies = {d["channel"]: d["payload"]["body"] for d in world.deliveries()}
    assert bodies == {"in_app": SHOWN, "sms": SHOWN}  # alice's role reads all; no role hides a field


def test_a_webhook_carries_the_named_fields_or_what_the_owner_may_read(world: World):
    ids = publish(world, named=created({"type": "webhook", "url": "https://hooks.example.com/named",
                                        "fields": ["name", "end_date"]}),
                  owners=created({"type": "webhook", "url": "https://hooks.example.com/owners"}))
    record = contract(world, owner=ids["carol"])
    admins = contract(world, owner=ids["dave"])
    payloads = {(d["record_id"], d["recipient"].rsplit("/", 1)[1]): d["payload"]["record"] for d in world.deliveries()}
    assert payloads[record, "named"] == {"name": "Cloud plan", "end_date": "2026-06-30"}
    owners = payloads[record, "owners"]
    assert owners["name"] == "Cloud plan" and owners["id"] == record and owners["owner_id"] == ids["carol"]
    assert "amount" not in owners  # carol (sales) may not read it
    assert payloads[admins, "owners"]["amount"] == "12345.50"  # dave is an admin


def test_the_receiver_gets_only_the_named_fields(world: World):
    ids = publish(world)
    with HttpReceiver() as hook:
        world.publish({("object", "account"): ACCOUNT_WITH_REVENUE, ("role", "sales"): SALES},
                      named=created({"type": "webhook", "url": f"{hook.named_url}/in", "fields": ["name", "status"]}))
        world.configure("webhook", {"secret": SECRET})
        contract(world, owner=ids["dave"])
        assert world.dispatch().sent == 1
    [request] = hook.requests
    assert request.json()["record"] == {"name": "Cloud plan", "status": "active"}


def test_a_role_and_its_members_roles_are_read_once_per_planning_call(world: World):
    reminder = {"object": "contract", "trigger": {"type": "date", "field": "end_date", "offset": 0, "at": "09:00"},
                "actions": [{"type": "notify", "channel": "in_app", "to": [{"role": "sales"}], "body": BODY}]}
    ids = publish(world, ending=reminder)
    UserService(world.db, world.store).create_user("frank@acme.test", name="Frank")
    UserService(world.db, world.store).assign_role("frank@acme.test", "sales")
    for _ in range(5):
        contract(world, owner=ids["carol"])
    world.scan()
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "user_roles" in statement:
            statements.append(statement)

    world.clock.advance(days=121, hours=2)  # 2026-06-30 10:00 in Shanghai: one scan fires all five
    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        assert world.scan().total("fired") == 5
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)
    assert len(world.deliveries()) == 10  # five contracts, two members of sales
    assert len(statements) == 2  # the members of sales, then their roles: once for the whole scan
    assert {d["payload"]["body"] for d in world.deliveries()} == {HIDDEN}
