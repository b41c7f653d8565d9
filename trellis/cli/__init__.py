"""The `trellis` command: a composition root that wires settings, tenants and metadata services.

Every sub-command returns an exit status: 0 done, 1 refused or invalid input (with every reason
printed to stderr), 2 a usage error. Nothing else imports this package.

One module per command group, each with its handlers and a `register(commands)` that adds its
sub-commands: `tenants` (init, migrate, tenant), `server` (serve, demo), `metadata`, `identity`
(user, role, token), `data`, `automation` (worker, rules, channels) and `apps`; `options` holds the arguments they share.
Handlers only parse arguments and format output: the work is done by runtime functions, which
the designer and the GraphQL API call too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from trellis.cli import approvals, apps, automation, data, identity, metadata, server, tenants
from trellis.metadata.errors import MetadataInvalid
from trellis.platform.settings import Settings, SettingsError
from trellis.platform.tenancy import Installation, TenantError
from trellis.runtime.errors import RuntimeProblem
from trellis.runtime.identity import IdentityError
from trellis.runtime.releases import DestructiveChangeRefused, ReleaseNotFound

Handler = Callable[[argparse.Namespace, Installation, TextIO], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trellis", description="Trellis: metadata-driven platform")
    parser.add_argument("--data-dir", help="data directory (env TRELLIS_DATA_DIR, default ./trellis-data)")
    parser.add_argument("--database-url", help="postgresql+psycopg://… (env TRELLIS_DATABASE_URL; default SQLite)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    tenants.register_init(commands)
    server.register(commands)
    tenants.register(commands)
    metadata.register(commands)
    identity.register(commands)
    data.register(commands)
    automation.register(commands)
    approvals.register(commands)
    apps.register(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, settings: Settings | None = None) -> int:
    """Run one command; `settings` (default: from the environment) is what an embedding caller,
    such as a test, composes itself; --data-dir and --database-url still apply on top."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        settings = settings or Settings.from_env()
        if args.data_dir:
            settings = replace(settings, data_dir=Path(args.data_dir))
        if args.database_url:
            settings = replace(settings, database_url=args.database_url)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    installation = Installation(settings)
    try:
        handler: Handler = args.handler
        return handler(args, installation, out)
    except MetadataInvalid as error:
        print(error.render(), file=sys.stderr)
        print("nothing was published", file=sys.stderr)
        return 1
    except (DestructiveChangeRefused, TenantError, ReleaseNotFound, SettingsError, IdentityError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except RuntimeProblem as error:
        print(f"error: {error.message}", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    finally:
        installation.dispose()
