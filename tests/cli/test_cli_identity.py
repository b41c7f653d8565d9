"""`trellis user|role|token …` end to end, in-process, on SQLite and PostgreSQL."""

from __future__ import annotations

import getpass
import io
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.helpers import Cli
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Scope
from trellis.runtime.identity import Unauthenticated, UserService
from trellis.runtime.releases import MetadataStore

ROLE = '{"objects": {"contract": {"read": "own", "update": "own"}}}'


@pytest.fixture
def users(cli: Cli, installation: Installation) -> UserService:
    cli.ok("tenant", "create", "acme")
    db = installation.database("acme")
    return UserService(db, MetadataStore(db))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def typed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """What the person at the terminal types at each password prompt, in order."""
    answers: list[str] = []

    def fake_getpass(prompt: str = "Password: ") -> str:
        return answers.pop(0)

    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    yield answers
    assert not answers, f"prompts not asked: {answers}"


def test_users_roles_and_tokens(cli: Cli, users: UserService, tmp_path: Path):
    out = cli.ok("user", "create", "--tenant", "acme", "Ann@Example.com", "--name", "Ann Lee",
                 "--role", "admin", "--password", "s3cret-pass")
    assert "acme: created user ann@example.com (Ann Lee; roles: admin)" in out
    cli.ok("user", "create", "--tenant", "acme", "bob@example.com", "--password", "s3cret-pass")
    listing = [line.split() for line in cli.ok("user", "list", "--tenant", "acme").splitlines()]
    assert listing == [["ann@example.com", "Ann", "Lee", "admin", "active"], ["bob@example.com", "bob", "-", "active"]]
    assert users.authenticate("ann@example.com", "s3cret-pass") is not None

    code, _, err = cli("role", "assign", "--tenant", "acme", "bob@example.com", "sales_rep")
    assert code == 1 and "no role 'sales_rep'" in err
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "crm", app)
    (app / "roles").mkdir()
    (app / "roles" / "sales_rep.json").write_text(ROLE)
    cli.ok("metadata", "apply", str(app), "--tenant", "acme")
    out = cli.ok("role", "assign", "--tenant", "acme", "bob@example.com", "sales_rep")
    assert "acme: bob@example.com now holds sales_rep" in out

    out = cli.ok("token", "create", "--tenant", "acme", "--user", "BOB@example.com", "--name", "ci",
                 "--expires-days", "30")
    token_id = re.search(r"created API token (\S+) for bob@example.com \(expires in 30 day\(s\)\)", out)[1]  # type: ignore[index]
    secret = re.search(r"trl_\S+", out)[0]  # type: ignore[index]
    assert "shown only this once" in out and "cannot be shown again" in out
    actor = users.actor_for_token(secret)
    assert actor.email == "bob@example.com" and actor.policy.scope("contract", "update") is Scope.OWN

    out = cli.ok("token", "revoke", "--tenant", "acme", token_id)
    assert f"API token {token_id} (ci, {secret[:12]}…, user bob@example.com) is revoked since" in out
    with pytest.raises(Unauthenticated, match="revoked"):
        users.actor_for_token(secret)


@pytest.mark.parametrize(("argv", "words"), [
    (["user", "create", "--tenant", "acme", "ann@example.com", "--password", "short"], "at least 8 characters"),
    (["user", "create", "--tenant", "acme", "ann@example.com", "--password", "s3cret-pass"], "already exists"),
    (["user", "create", "--tenant", "acme", "ann", "--password", "s3cret-pass"], "'ann' is not an email address"),
    (["user", "create", "--tenant", "acme", "bob@example.com", "--role", "admn", "--password", "s3cret-pass"],
     "did you mean 'admin'?"),
    (["user", "create", "--tenant", "globex", "bob@example.com", "--password", "s3cret-pass"], "no tenant named"),
    (["role", "assign", "--tenant", "acme", "bob@example.com", "admin"], "no user with email 'bob@example.com'"),
    (["token", "create", "--tenant", "acme", "--user", "ann@example.com", "--expires-days", "0"], "at least 1 day"),
    (["token", "revoke", "--tenant", "acme", "0190"], "no API token with id '0190'"),
])
def test_refused_requests_exit_1_with_the_reason(cli: Cli, users: UserService, argv: list[str], words: str):
    users.create_user("ann@example.com")
    code, out, err = cli(*argv)
    assert (code, out) == (1, "") and words in err, err


def test_password_is_asked_twice_on_a_terminal(cli: Cli, users: UserService, typed: list[str]):
    typed += ["s3cret-pass", "s3cret-pass"]
    cli.ok("user", "create", "--tenant", "acme", "ann@example.com")
    assert users.authenticate("ann@example.com", "s3cret-pass") is not None


@pytest.mark.parametrize(("answers", "words"), [
    (["s3cret-pass", "s3cret-pasS"], "the two passwords differ"),
    (["short"], "at least 8 characters"),  # refused before asking again
])
def test_prompted_password_refused(cli: Cli, users: UserService, typed: list[str], answers: list[str], words: str):
    typed += answers
    code, _, err = cli("user", "create", "--tenant", "acme", "ann@example.com")
    assert code == 1 and words in err
    assert users.list_users() == []


def test_without_a_terminal_the_password_must_be_given(cli: Cli, users: UserService):
    code, _, err = cli("user", "create", "--tenant", "acme", "ann@example.com")
    assert code == 1 and "pass --password" in err
    assert users.list_users() == []


def test_offboarding_deactivates_at_once_and_reactivation_brings_no_token_back(cli: Cli, users: UserService):
    users.create_user("leaver@example.com", password="s3cret-pass", roles=["admin"])
    secrets = [users.create_token("leaver@example.com", name)[1] for name in ("ci", "laptop")]
    listing = cli.ok("token", "list", "--tenant", "acme", "--user", "leaver@example.com")
    assert [line.split()[2:4] for line in listing.splitlines()] == [["laptop", "active"], ["ci", "active"]]
    assert "trl_" not in listing.replace(secrets[0][:12], "").replace(secrets[1][:12], "")  # prefixes only

    out = cli.ok("user", "deactivate", "--tenant", "acme", "leaver@example.com")
    assert "leaver@example.com is deactivated; 2 API token(s) revoked" in out
    for secret in secrets:  # the very next request is refused
        with pytest.raises(Unauthenticated, match="deactivated"):
            users.actor_for_token(secret)
    assert users.authenticate("leaver@example.com", "s3cret-pass") is None
    assert {line.split()[3] for line in
            cli.ok("token", "list", "--tenant", "acme", "--user", "leaver@example.com").splitlines()} == {"revoked"}

    assert "tokens revoked on deactivation stay revoked" in cli.ok("user", "reactivate", "--tenant", "acme",
                                                                   "leaver@example.com")
    with pytest.raises(Unauthenticated, match="revoked"):
        users.actor_for_token(secrets[0])
    assert users.authenticate("leaver@example.com", "s3cret-pass") is not None

    out = cli.ok("user", "set-password", "--tenant", "acme", "leaver@example.com", "--password", "n3w-passphrase")
    assert "has a new password" in out
    assert users.authenticate("leaver@example.com", "s3cret-pass") is None
    assert users.authenticate("leaver@example.com", "n3w-passphrase") is not None
    assert "API tokens only" in cli.ok("user", "set-password", "--tenant", "acme", "leaver@example.com",
                                       "--no-password")
    assert users.authenticate("leaver@example.com", "n3w-passphrase") is None

    assert "no longer holds admin (roles: none)" in cli.ok("role", "remove", "--tenant", "acme",
                                                           "leaver@example.com", "admin")
    code, _, err = cli("role", "remove", "--tenant", "acme", "leaver@example.com", "admin")
    assert code == 1 and "does not hold the role 'admin'" in err
    code, _, err = cli("user", "deactivate", "--tenant", "acme", "nobody@example.com")
    assert code == 1 and "no user with email 'nobody@example.com'" in err


def test_a_user_reports_to_a_manager_and_a_chain_never_comes_back(cli: Cli, users: UserService):
    for email in ("rep@example.com", "boss@example.com", "vp@example.com"):
        users.create_user(email)
    assert "rep@example.com reports to boss@example.com" in cli.ok(
        "user", "set-manager", "--tenant", "acme", "rep@example.com", "boss@example.com")
    cli.ok("user", "set-manager", "--tenant", "acme", "boss@example.com", "vp@example.com")
    assert users.get_user("rep@example.com").manager_id == users.get_user("boss@example.com").id
    code, _, refused = cli("user", "set-manager", "--tenant", "acme", "vp@example.com", "rep@example.com")
    assert code != 0
    assert "vp@example.com is already in rep@example.com's chain of managers" in refused
    assert users.get_user("vp@example.com").manager_id is None
    assert "reports to nobody" in cli.ok("user", "set-manager", "--tenant", "acme", "rep@example.com", "--none")
    assert users.get_user("rep@example.com").manager_id is None
