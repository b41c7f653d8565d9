"""`trellis user create/list`, `role assign` and `token create/revoke`: a tenant's users and API tokens."""

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
        raise IdentityError("no password was entered; nothing was created") from None
    if again != password:
        raise IdentityError("the two passwords differ; nothing was created")
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


def _role_assign(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    user = _user_service(args, inst).assign_role(args.email, args.role)
    print(f"{args.tenant}: {user.email} now holds {', '.join(user.roles)}", file=out)
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
    user = commands.add_parser("user", help="create and list users").add_subparsers(
        dest="user_command", required=True, metavar="ACTION")
    create_user = with_tenant(user.add_parser("create", help="create a user (asks for the password)"))
    create_user.add_argument("email")
    create_user.add_argument("--name", help="display name (default: the part of the email before @)")
    create_user.add_argument("--role", action="append", help="admin or a role of the current release (repeatable)")
    create_user.add_argument("--password", help="the password (other local users can see command lines; "
                             "leave it out to be asked)")
    create_user.set_defaults(handler=_user_create)
    with_tenant(user.add_parser("list", help="list users with their roles")).set_defaults(handler=_user_list)

    role = commands.add_parser("role", help="give users roles").add_subparsers(
        dest="role_command", required=True, metavar="ACTION")
    assign = with_tenant(role.add_parser("assign", help="give a user a role"))
    assign.add_argument("email")
    assign.add_argument("role")
    assign.set_defaults(handler=_role_assign)

    token = commands.add_parser("token", help="create and revoke API tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION")
    create_token = with_tenant(token.add_parser("create", help="create an API token (printed once)"))
    create_token.add_argument("--user", required=True, metavar="EMAIL")
    create_token.add_argument("--name", help="what the token is for")
    create_token.add_argument("--expires-days", type=int, metavar="N", help="valid for N days (default: no expiry)")
    create_token.set_defaults(handler=_token_create)
    revoke = with_tenant(token.add_parser("revoke", help="revoke an API token for good"))
    revoke.add_argument("token_id")
    revoke.set_defaults(handler=_token_revoke)
