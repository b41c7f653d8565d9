"""Users, roles and API tokens of a tenant, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from tests.conftest import FIXTURES
from trellis.metadata import load_folder
from trellis.metadata.documents import pretty_json
from trellis.platform.db import Database
from trellis.runtime.access import FULL_ACCESS, FieldAccess, Scope
from trellis.runtime.identity import IdentityError, Unauthenticated, UserService, policy_for
from trellis.runtime.identity.tables import api_tokens, users
from trellis.runtime.releases import MetadataStore

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # still Argon2id, only cheaper
SALES_REP = {"x-label": {"en": "Sales rep", "zh-CN": "销售代表"},
             "objects": {"contract": {"create": True, "read": "all", "update": "own", "delete": "none",
                                      "fields": {"amount": "read", "discount": "none"}}}}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tenant_db: Database) -> MetadataStore:
    return MetadataStore(tenant_db)


@pytest.fixture
def service(tenant_db: Database, store: MetadataStore, clock: Clock) -> UserService:
    return UserService(tenant_db, store, hasher=FAST, clock=clock)


def publish_with_roles(store: MetadataStore, tmp_path: Path, roles: dict[str, dict]) -> None:
    """Publish the CRM objects plus `roles/<name>.json` files, as an app package would ship them."""
    folder = tmp_path / f"app{store.current_number() or 0}"
    shutil.copytree(FIXTURES / "crm", folder)
    (folder / "roles").mkdir()
    for name, document in roles.items():
        (folder / "roles" / f"{name}.json").write_text(pretty_json(document), encoding="utf-8")
    store.publish(load_folder(folder), author="test", allow_destructive=True)


def test_create_and_list_users(service: UserService):
    ann = service.create_user("  Ann.Lee@Example.COM ", name="Ann Lee", password="s3cret-pass", roles=["admin"])
    assert (ann.email, ann.name, ann.roles, ann.active, ann.has_password) == \
        ("ann.lee@example.com", "Ann Lee", ("admin",), True, True)
    bot = service.create_user("ci-bot@example.com")  # no password: API tokens only
    assert (bot.name, bot.roles, bot.has_password) == ("ci-bot", (), False)
    assert [u.email for u in service.list_users()] == ["ann.lee@example.com", "ci-bot@example.com"]
    assert service.get_user("ANN.LEE@example.com") == ann
    assert ann.id < bot.id  # UUIDv7: ordered by creation


@pytest.mark.parametrize("email", ["ann@example.com", "ANN@Example.com", " ann@example.com "])
def test_duplicate_email_is_refused(service: UserService, email: str):
    service.create_user("ann@example.com")
    with pytest.raises(IdentityError, match="a user with email ann@example.com already exists"):
        service.create_user(email)
    assert len(service.list_users()) == 1


@pytest.mark.parametrize("email", ["ann", "ann@", "@example.com", "ann@example", "a b@example.com", "a@b@c.com"])
def test_invalid_email_is_refused(service: UserService, email: str):
    with pytest.raises(IdentityError, match="is not an email address"):
        service.create_user(email)


def test_short_password_is_refused(service: UserService):
    with pytest.raises(IdentityError, match="at least 8 characters"):
        service.create_user("ann@example.com", password="1234567")
    assert service.list_users() == []


def test_password_is_stored_hashed_and_verified(service: UserService, tenant_db: Database):
    service.create_user("ann@example.com", password="s3cret-pass", roles=["admin"])
    with tenant_db.read() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "s3cret-pass" not in stored
    actor = service.authenticate("Ann@Example.com", "s3cret-pass")
    assert actor is not None and (actor.email, actor.roles, actor.policy) == ("ann@example.com", ("admin",), FULL_ACCESS)
    assert service.authenticate("ann@example.com", "s3cret-pasS") is None
    assert service.authenticate("bob@example.com", "s3cret-pass") is None
    assert service.authenticate("not an email", "s3cret-pass") is None


def test_inactive_and_token_only_users_cannot_sign_in(service: UserService):
    service.create_user("ann@example.com", password="s3cret-pass")
    service.create_user("bot@example.com")
    assert service.authenticate("bot@example.com", "") is None
    assert not service.set_active("ann@example.com", False).active
    assert service.authenticate("ann@example.com", "s3cret-pass") is None
    service.set_active("ann@example.com", True)
    assert service.authenticate("ann@example.com", "s3cret-pass") is not None
    service.set_password("ann@example.com", "n3w-password")
    assert service.authenticate("ann@example.com", "s3cret-pass") is None
    assert service.authenticate("ann@example.com", "n3w-password") is not None


def test_weaker_hashes_are_upgraded_at_sign_in(tenant_db: Database, store: MetadataStore):
    UserService(tenant_db, store, hasher=FAST).create_user("ann@example.com", password="s3cret-pass")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert UserService(tenant_db, store, hasher=stronger).authenticate("ann@example.com", "s3cret-pass")
    with tenant_db.read() as conn:
        assert "m=2048,t=2,p=1" in conn.execute(select(users.c.password_hash)).scalar_one()


def test_roles_are_assigned_and_revoked(service: UserService, store: MetadataStore, tmp_path: Path):
    service.create_user("ann@example.com")
    with pytest.raises(IdentityError, match=r"no role 'sales_rep' \(no release is published yet; roles: admin\)"):
        service.assign_role("ann@example.com", "sales_rep")
    assert service.assign_role("ann@example.com", "admin").roles == ("admin",)  # built in: no metadata needed
    publish_with_roles(store, tmp_path, {"sales_rep": SALES_REP})
    with pytest.raises(IdentityError, match=r"no role 'sale_rep' .*did you mean 'sales_rep'"):
        service.assign_role("ann@example.com", "sale_rep")
    service.assign_role("ann@example.com", "sales_rep")
    assert service.assign_role("ann@example.com", "sales_rep").roles == ("admin", "sales_rep")  # twice: harmless
    assert service.revoke_role("ann@example.com", "admin").roles == ("sales_rep",)
    with pytest.raises(IdentityError, match="does not hold the role 'admin'"):
        service.revoke_role("ann@example.com", "admin")
    with pytest.raises(IdentityError, match="no user with email 'bob@example.com'"):
        service.assign_role("bob@example.com", "admin")
    with pytest.raises(IdentityError, match="no role 'ghost'"):
        service.create_user("bob@example.com", roles=["ghost"])


def test_roles_shipped_as_metadata_become_the_policy(service: UserService, store: MetadataStore, tmp_path: Path):
    publish_with_roles(store, tmp_path, {"sales_rep": SALES_REP})
    documents = store.current().metadata.documents("role")  # type: ignore[union-attr]
    assert policy_for(["sales_rep"], documents).scope("contract", "update") is Scope.OWN

    service.create_user("ann@example.com", password="s3cret-pass", roles=["sales_rep"])
    actor = service.authenticate("ann@example.com", "s3cret-pass")
    assert actor is not None and actor.roles == ("sales_rep",)
    policy = actor.policy
    assert (policy.scope("contract", "create"), policy.scope("contract", "read"),
            policy.scope("contract", "update"), policy.scope("contract", "delete")) == \
        (Scope.ALL, Scope.ALL, Scope.OWN, Scope.NONE)
    assert policy.field_access("contract", "amount") is FieldAccess.READ
    assert policy.field_access("contract", "discount") is FieldAccess.NONE
    assert policy.field_access("contract", "name") is FieldAccess.EDIT
    assert policy.scope("account", "read") is Scope.NONE

    publish_with_roles(store, tmp_path, {"viewer": {}})  # the role leaves the metadata: it grants nothing
    actor = service.authenticate("ann@example.com", "s3cret-pass")
    assert actor is not None and actor.roles == ("sales_rep",)
    assert actor.policy.scope("contract", "read") is Scope.NONE


def test_token_lifecycle(service: UserService, tenant_db: Database, clock: Clock):
    service.create_user("bot@example.com", roles=["admin"])
    token_id, secret = service.create_token("bot@example.com", "ci")
    assert secret.startswith("trl_") and len(secret) == 44
    with tenant_db.read() as conn:
        row = conn.execute(select(api_tokens)).one()
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest() != secret
    assert not any(secret in str(value) for value in row), "the secret must never be stored"
    assert secret.startswith(row.prefix) and len(row.prefix) == 12

    actor = service.actor_for_token(secret)
    assert (actor.email, actor.roles, actor.policy) == ("bot@example.com", ("admin",), FULL_ACCESS)
    [info] = service.list_tokens("bot@example.com")
    assert (info.id, info.name, info.last_used_at, info.state(clock.now)) == (token_id, "ci", clock.now, "active")

    first_use = clock.now
    clock.now += timedelta(seconds=30)
    service.actor_for_token(secret)
    assert service.list_tokens("bot@example.com")[0].last_used_at == first_use  # not a write per request
    clock.now += timedelta(minutes=1)
    service.actor_for_token(secret)
    assert service.list_tokens("bot@example.com")[0].last_used_at == clock.now

    revoked = service.revoke_token(token_id)
    assert revoked.revoked_at == clock.now and revoked.state(clock.now) == "revoked"
    with pytest.raises(Unauthenticated, match="revoked"):
        service.actor_for_token(secret)
    clock.now += timedelta(days=1)
    assert service.revoke_token(token_id).revoked_at == revoked.revoked_at  # revoking again changes nothing


def test_expired_unknown_and_orphaned_tokens_are_refused(service: UserService, clock: Clock):
    service.create_user("bot@example.com")
    _, secret = service.create_token("bot@example.com", expires_days=1)
    clock.now += timedelta(hours=23)
    assert service.actor_for_token(secret).policy.scope("contract", "read") is Scope.NONE  # no roles: no access
    clock.now += timedelta(hours=1)
    with pytest.raises(Unauthenticated, match="expired on 2026-03-02 09:00 UTC"):
        service.actor_for_token(secret)
    assert service.list_tokens("bot@example.com")[0].state(clock.now) == "expired"

    with pytest.raises(Unauthenticated, match="unknown API token") as caught:
        service.actor_for_token(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert caught.value.code == "UNAUTHENTICATED"

    _, other = service.create_token("bot@example.com")
    service.set_active("bot@example.com", False)
    with pytest.raises(Unauthenticated, match="deactivated"):
        service.actor_for_token(other)
    with pytest.raises(IdentityError, match="deactivated"):
        service.create_token("bot@example.com")


def test_token_requests_that_cannot_be_met(service: UserService):
    service.create_user("bot@example.com")
    with pytest.raises(IdentityError, match="at least 1 day"):
        service.create_token("bot@example.com", expires_days=0)
    with pytest.raises(IdentityError, match="no user with email"):
        service.create_token("nobody@example.com")
    with pytest.raises(IdentityError, match="no API token with id 'nope'"):
        service.revoke_token("nope")
    first, _ = service.create_token("bot@example.com", "first")
    second, _ = service.create_token("bot@example.com", "second")
    assert [t.id for t in service.list_tokens("bot@example.com")] == [second, first]
