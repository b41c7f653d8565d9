"""`trellis user`, `role` and `token`: a tenant's users, their roles and API tokens, and offboarding
(deactivate a user and every token at once, remove a role, reset a password)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from trellis.cli.options import Commands, with_tenant
from trellis.platform.tenancy import Installation
from trellis.runtime.identity import IdentityError, UserService, check_password, normalise_email
from trellis.runtime.releases import MetadataStore


def _user_service(args: argparse.Namespace, inst: Installation) -> UserService:
    db = inst.database(args.tenant)
    return UserService(db, MetadataStore(db))


def _user_create(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    service = _user_service(args, inst)
    normalise_email(args.email)  # a typo is reported before anyone types a password
    password = args.password if args.password is not None else _ask_password()
    user = service.create_user(args.email, name=args.name, password=password, roles=args.role or ())
    print(f"{args.tenant}: created user {user.email} ({user.name}; roles: {', '.join(user.roles) or 'none'})",
          file=out)
    return 0


def _ask_password() -> str:
    """Ask twice on the terminal. Without one (a script, CI) there is nobody to ask: the caller
    must pass --password rather than get a user nobody can sign in as."""
    if not sys.stdin.isatty():
        raise IdentityError("no --password given and no terminal to ask for one: pass --password PASSWORD")
    try:
        password = getpass.getpass("Password: ")
        check_password(password)
        again = getpass.getpass("Password (again): ")
    except EOFError:
        raise IdentityError("no password was entered; nothing was changed") from None
    if again != password:
        raise IdentityError("the two passwords differ; nothing was changed")
    return password


def _user_list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    found = _user_service(args, inst).list_users()
    if not found:
        print(f"{args.tenant}: no users yet; create one with `trellis user create --tenant {args.tenant} EMAIL`",
              file=out)
    for user in found:
        roles = ",".join(user.roles) or "-"
        print(f"{user.email:<32} {user.name:<20} {roles:<24} {'active' if user.active else 'inactive'}", file=out)
    return 0


def _user_deactivate(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    service = _user_service(args, inst)
    live = [t for t in service.list_tokens(args.email) if t.revoked_at is None]
    user = service.set_active(args.email, False)
    print(f"{args.tenant}: {user.email} is deactivated; {len(live)} API token(s) revoked. "
          "Their password and tokens no longer work.", file=out)
    return 0


def _user_reactivate(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    user = _user_service(args, inst).set_active(args.email, True)
    print(f"{args.tenant}: {user.email} is active again; tokens revoked on deactivation stay revoked "
          f"(create new ones with `trellis token create --tenant {args.tenant} --user {user.email}`)", file=out)
    return 0


def _user_set_password(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    service = _user_service(args, inst)
    service.get_user(args.email)  # an unknown user is reported before anyone types a password
    password = None if args.no_password else args.password if args.password is not None else _ask_password()
    user = service.set_password(args.email, password)
    done = "can no longer sign in with a password (API tokens only)" if password is None else "has a new password"
    print(f"{args.tenant}: {user.email} {done}", file=out)
    return 0


def _user_set_manager(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    user = _user_service(args, inst).set_manager(args.email, None if args.none else args.manager)
    print(f"{args.tenant}: {user.email} " + ("reports to nobody" if args.none else f"reports to {args.manager}"), file=out)
    return 0


def _role_assign(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    user = _user_service(args, inst).assign_role(args.email, args.role)
    print(f"{args.tenant}: {user.email} now holds {', '.join(user.roles)}", file=out)
    return 0


def _role_remove(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    user = _user_service(args, inst).revoke_role(args.email, args.role)
    print(f"{args.tenant}: {user.email} no longer holds {args.role} (roles: {', '.join(user.roles) or 'none'})",
          file=out)
    return 0


def _token_list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    service = _user_service(args, inst)
    tokens = service.list_tokens(args.user)
    now = service.clock()
    if not tokens:
        print(f"{args.tenant}: {normalise_email(args.user)} has no API tokens", file=out)
    for t in tokens:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
        print(f"{t.id}  {t.prefix}…  {t.name:<16} {t.state(now):<8} created {t.created_at:%Y-%m-%d}  "
              f"expires {expires}  last used {used}", file=out)
    return 0


def _token_create(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    token_id, secret = _user_service(args, inst).create_token(args.user, args.name, args.expires_days)
    expiry = f"expires in {args.expires_days} day(s)" if args.expires_days else "never expires"
    print(f"{args.tenant}: created API token {token_id} for {normalise_email(args.user)} ({expiry})", file=out)
    print(f"  {secret}", file=out)
    print("Copy the token now: it is shown only this once and cannot be shown again.", file=out)
    return 0


def _token_revoke(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    token = _user_service(args, inst).revoke_token(args.token_id)
    assert token.revoked_at is not None
    print(f"{args.tenant}: API token {token.id} ({token.name}, {token.prefix}…, user {token.user_email}) "
          f"is revoked since {token.revoked_at:%Y-%m-%d %H:%M} UTC", file=out)
    return 0


def register(commands: Commands) -> None:
    user = commands.add_parser("user", help="create, list, deactivate users; reset passwords").add_subparsers(
        dest="user_command", required=True, metavar="ACTION")
    create_user = with_tenant(user.add_parser("create", help="create a user (asks for the password)"))
    create_user.add_argument("email")
    create_user.add_argument("--name", help="display name (default: the part of the email before @)")
    create_user.add_argument("--role", action="append", help="admin or a role of the current release (repeatable)")
    create_user.add_argument("--password", help="the password (other local users can see command lines; "
                             "leave it out to be asked)")
    create_user.set_defaults(handler=_user_create)
    with_tenant(user.add_parser("list", help="list users with their roles")).set_defaults(handler=_user_list)
    for name, handler, text in (("deactivate", _user_deactivate, "deactivate a user and revoke all their tokens"),
                                ("reactivate", _user_reactivate, "let a deactivated user sign in again")):
        command = with_tenant(user.add_parser(name, help=text))
        command.add_argument("email")
        command.set_defaults(handler=handler)
    set_password = with_tenant(user.add_parser("set-password", help="reset a user's password (asks for it)"))
    set_password.add_argument("email")
    given = set_password.add_mutually_exclusive_group()
    given.add_argument("--password", help="the new password (other local users can see command lines)")
    given.add_argument("--no-password", action="store_true", help="remove the password: API tokens only")
    set_password.set_defaults(handler=_user_set_password)
    set_manager = with_tenant(user.add_parser("set-manager", help="set whom a user reports to (approvals ask them)"))
    set_manager.add_argument("email")
    whom = set_manager.add_mutually_exclusive_group(required=True)
    whom.add_argument("manager", nargs="?", help="the manager's email")
    whom.add_argument("--none", action="store_true", help="the user reports to nobody")
    set_manager.set_defaults(handler=_user_set_manager)

    role = commands.add_parser("role", help="give users roles and take them away").add_subparsers(
        dest="role_command", required=True, metavar="ACTION")
    assign = with_tenant(role.add_parser("assign", help="give a user a role"))
    assign.add_argument("email")
    assign.add_argument("role")
    assign.set_defaults(handler=_role_assign)
    remove = with_tenant(role.add_parser("remove", help="take a role from a user"))
    remove.add_argument("email")
    remove.add_argument("role")
    remove.set_defaults(handler=_role_remove)

    token = commands.add_parser("token", help="create, list and revoke API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    create_token = with_tenant(token.add_parser("create", help="create an API token (printed once)"))
    create_token.add_argument("--user", required=True, metavar="EMAIL")
    create_token.add_argument("--name", help="what the token is for")
    create_token.add_argument("--expires-days", type=int, metavar="N", help="valid for N days (default: no expiry)")
    create_token.set_defaults(handler=_token_create)
    list_tokens = with_tenant(token.add_parser("list", help="a user's API tokens (never the secrets)"))
    list_tokens.add_argument("--user", required=True, metavar="EMAIL")
    list_tokens.set_defaults(handler=_token_list)
    revoke = with_tenant(token.add_parser("revoke", help="revoke an API token for good"))
    revoke.add_argument("token_id")
    revoke.set_defaults(handler=_token_revoke)
