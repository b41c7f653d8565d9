"""How roles add up to an access policy, and how passwords are hashed (no database)."""

from __future__ import annotations

from typing import Any

import pytest

from trellis.runtime.access import FULL_ACCESS, FieldAccess, Scope
from trellis.runtime.identity import IdentityError, hash_password, policy_for, verify_password

NONE, OWN, ALL = Scope.NONE, Scope.OWN, Scope.ALL
HIDDEN, READ, EDIT = FieldAccess.NONE, FieldAccess.READ, FieldAccess.EDIT

ROLES: dict[str, dict[str, Any]] = {
    "reader": {"objects": {"contract": {"read": "all", "fields": {"amount": "none"}}}},
    "rep": {"objects": {"contract": {"create": True, "read": "own", "update": "own", "fields": {"amount": "read"}},
                        "account": {"read": "all"}}},
    "manager": {"objects": {"contract": {"read": "all", "update": "all", "delete": "own"}}},
    "closer": {"objects": {"contract": {"read": "own", "update": "own", "fields": {"amount": "edit"}}}},
    "nothing": {"objects": {"contract": {"fields": {"amount": "edit"}}}},  # names fields, grants nothing
    "creator": {"objects": {"contract": {"create": True, "fields": {"amount": "edit"}}}},
}

# roles held -> (create, read, update, delete) on contract, access to amount, access to name
CASES: list[tuple[tuple[str, ...], tuple[Scope, Scope, Scope, Scope], FieldAccess, FieldAccess]] = [
    ((), (NONE, NONE, NONE, NONE), HIDDEN, HIDDEN),
    (("reader",), (NONE, ALL, NONE, NONE), HIDDEN, READ),  # a read-only role's fields are read-only
    (("rep",), (ALL, OWN, OWN, NONE), READ, EDIT),
    (("reader", "rep"), (ALL, ALL, OWN, NONE), READ, EDIT),  # widest scope; widest field access
    (("rep", "manager"), (ALL, ALL, ALL, OWN), EDIT, EDIT),  # manager lists no fields: all editable
    (("reader", "closer"), (NONE, ALL, OWN, NONE), EDIT, EDIT),
    (("reader", "nothing"), (NONE, ALL, NONE, NONE), HIDDEN, READ),  # a role granting nothing adds nothing
    (("creator",), (ALL, NONE, NONE, NONE), HIDDEN, HIDDEN),  # may create, but sees nothing afterwards
    (("ghost",), (NONE, NONE, NONE, NONE), HIDDEN, HIDDEN),  # a role no longer in metadata
    (("ghost", "rep"), (ALL, OWN, OWN, NONE), READ, EDIT),
    (("admin",), (ALL, ALL, ALL, ALL), EDIT, EDIT),
    (("admin", "reader"), (ALL, ALL, ALL, ALL), EDIT, EDIT),
]


@pytest.mark.parametrize(("held", "scopes", "amount", "name"), CASES, ids=[",".join(c[0]) or "none" for c in CASES])
def test_roles_add_up(held: tuple[str, ...], scopes: tuple[Scope, ...], amount: FieldAccess, name: FieldAccess):
    policy = policy_for(held, ROLES)
    assert tuple(policy.scope("contract", action) for action in ("create", "read", "update", "delete")) == scopes
    assert policy.field_access("contract", "amount") is amount
    assert policy.field_access("contract", "name") is name


def test_admin_is_full_access_and_other_objects_stay_closed():
    assert policy_for(["admin"], {}) is FULL_ACCESS
    rep = policy_for(["rep"], ROLES)
    assert rep.scope("account", "read") is ALL and rep.scope("account", "update") is NONE
    assert rep.field_access("account", "name") is READ
    assert rep.scope("ticket", "read") is NONE and rep.field_access("ticket", "subject") is HIDDEN
    assert rep.field_access("contract", "owner_id") is READ  # standard columns: readable with the record


def test_passwords_are_argon2id_hashes():
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert stored != hash_password("correct horse")  # salted
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct hors")
    assert not verify_password(None, "correct horse")
    assert not verify_password("not a hash", "correct horse")


@pytest.mark.parametrize(("password", "words"), [("short", "too short"), ("x" * 2000, "too long")])
def test_unusable_passwords_are_refused(password: str, words: str):
    with pytest.raises(IdentityError, match=words):
        hash_password(password)
