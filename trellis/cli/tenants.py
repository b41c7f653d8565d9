"""`trellis init`, `migrate` and `tenant create/list`: the control database and its tenants."""

from __future__ import annotations

import argparse
from typing import TextIO

from trellis.cli.options import Commands
from trellis.platform.tenancy import Installation
from trellis.runtime.services import TenantServices


def _init(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    inst.init()
    where = inst.settings.database_url and "PostgreSQL" or f"{inst.settings.data_dir}/"
    print(f"initialised Trellis control database in {where}", file=out)
    return 0


def _migrate(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    revisions = inst.migrate()
    print(f"control database up to date; {len(revisions)} tenant(s) migrated", file=out)
    services = TenantServices(inst)
    for name, revision in revisions.items():
        sealed = services.channels(name).seal_stored()
        print(f"  {name}: {revision}" + (f"; {sealed} channel setting(s) sealed" if sealed else ""), file=out)
    return 0


def _tenant_create(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    tenant = inst.create_tenant(args.name, args.timezone, args.locale)
    print(f"created tenant {tenant.name} (time zone {tenant.timezone}, locale {tenant.locale})", file=out)
    return 0


def _tenant_list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    tenants = inst.tenants()
    if not tenants:
        print("no tenants yet; create one with `trellis tenant create NAME`", file=out)
    for t in tenants:
        print(f"{t.name:<24} {t.timezone:<20} {t.locale:<6} {t.created_at:%Y-%m-%d}", file=out)
    return 0


def register_init(commands: Commands) -> None:
    commands.add_parser("init", help="create the control database").set_defaults(handler=_init)


def register(commands: Commands) -> None:
    commands.add_parser("migrate", help="upgrade the system tables of the control database and every tenant"
                        ).set_defaults(handler=_migrate)

    tenant = commands.add_parser("tenant", help="create and list tenants").add_subparsers(
        dest="tenant_command", required=True, metavar="ACTION")
    create = tenant.add_parser("create", help="create a tenant")
    create.add_argument("name")
    create.add_argument("--timezone", help="IANA time zone (default Asia/Shanghai)")
    create.add_argument("--locale", choices=["zh-CN", "en"])
    create.set_defaults(handler=_tenant_create)
    tenant.add_parser("list", help="list tenants").set_defaults(handler=_tenant_list)
