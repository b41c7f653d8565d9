"""Arguments that several command groups share."""

from __future__ import annotations

import argparse
import getpass
from typing import TypeAlias

# what `add_subparsers` returns: each group module adds its commands to it
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def with_tenant(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--tenant", required=True)
    return p


def with_publish_flags(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--dry-run", action="store_true", help="show the plan, publish nothing")
    p.add_argument("--allow-destructive", action="store_true",
                   help="apply destructive steps (removed data is kept aside, not deleted)")
    p.add_argument("--author", default=getpass.getuser(), help="recorded with the release")
    return p


def as_user(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p.add_argument("--as-user", metavar="EMAIL", help="act with this user's permissions (default: the system)")
    return p
