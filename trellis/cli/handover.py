"""`trellis handover --tenant T --from A --to B [--objects …] [--where JSON] [--dry-run]`.

Parses and prints; the work is `trellis.runtime.handover` (GraphQL's `handover` calls it too).
The CLI acts as the system. A dry run prints what would move and writes nothing.
"""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from trellis.cli.options import Commands, with_tenant
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.handover import HandoverRequest, HandoverResult
from trellis.runtime.services import TenantServices


def _handover(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    try:
        where = json.loads(args.where) if args.where else None
    except json.JSONDecodeError as error:
        raise InvalidInput("--where is not JSON", [FieldProblem("where", str(error))]) from None
    objects = tuple(name.strip() for part in args.objects or () for name in part.split(",") if name.strip())
    result = TenantServices(inst).handover(args.tenant).run(Actor.system(), HandoverRequest(
        args.source, args.target, objects=objects, where=where, dry_run=args.dry_run))
    print_result(args.tenant, result, out)
    return 0


def print_result(tenant: str, result: HandoverResult, out: TextIO) -> None:
    verb = "would move" if result.dry_run else "moved"
    print(f"{tenant}: {result.from_user} → {result.to_user}: {verb} {result.records} record(s)"
          f"{' (dry run: nothing changed)' if result.dry_run else f' (handover {result.id})'}", file=out)
    for move in result.objects:
        if move.records:
            more = ", …" if move.records > len(move.sample) else ""
            print(f"  {move.object:<24} {move.records:>8}  {', '.join(move.sample)}{more}", file=out)
    print(f"  queued deliveries re-addressed: {result.deliveries}"
          f"{f' (and {result.deliveries_dropped} dropped: the receiver already gets them)' if result.deliveries_dropped else ''}",
          file=out)
    print(f"  pending approval tasks reassigned: {result.approval_tasks}", file=out)
    print(f"  open tasks moved: {result.tasks}", file=out)
    for note in result.notes:
        print(f"  note: {note}", file=out)


def register(commands: Commands) -> None:
    command = with_tenant(commands.add_parser(
        "handover", help="move everything a user owns or waits on to another user (one transaction)"))
    command.add_argument("--from", dest="source", required=True, metavar="EMAIL", help="the user handing over")
    command.add_argument("--to", dest="target", required=True, metavar="EMAIL", help="the active user taking over")
    command.add_argument("--objects", action="append", metavar="NAME[,NAME…]",
                         help="only these objects (repeatable; default: every object)")
    command.add_argument("--where", metavar="JSON", help="only records matching this filter: '{\"status\": {\"_eq\": \"生效\"}}'")
    command.add_argument("--dry-run", action="store_true", help="say what would move; change nothing")
    command.set_defaults(handler=_handover)
