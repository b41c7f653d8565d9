"""`trellis approvals list|show|simulate|delegate`: approval requests from the command line.

Handlers parse and print; the work is the approvals runtime's (queries, engine, simulator,
delegations), which GraphQL calls too. The CLI acts as the system (full access).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from trellis.cli.options import Commands, with_tenant
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.approvals.delegations import delegate
from trellis.runtime.approvals.queries import list_requests
from trellis.runtime.approvals.simulator import Simulation, simulate
from trellis.runtime.approvals.views import RequestView
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.runtime.services import TenantServices


def _list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    page = list_requests(inst.database(args.tenant), Actor.system(), status=args.status, object_name=args.object,
                         first=args.first)
    for r in page.requests:
        step = "" if r.step is None else f" step {r.step + 1}"
        print(f"{r.id}  {r.process:<20} {r.object}/{r.record_id}  {r.status}{step}  "
              f"{r.submitted_at.isoformat(timespec='seconds')}", file=out)
    if not page.requests:
        print("no approval requests", file=out)
    return 0


def _show(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    view: RequestView = TenantServices(inst).approvals(args.tenant).get(Actor.system(), args.id)
    print(f"{view.id}: {view.process} (release {view.release}) on {view.object}/{view.record_id}: {view.status}",
          file=out)
    for t in view.tasks:
        stand_in = f" for {t.delegated_from}" if t.delegated_from else ""
        print(f"  step {t.step + 1} {t.step_name}: {t.approver_id}{stand_in} {t.status}"
              f"{': ' + t.comment if t.comment else ''}", file=out)
    for e in view.events:
        step = "" if e.step is None else f" step {e.step + 1}"
        detail = f" {json.dumps(dict(e.detail), ensure_ascii=False)}" if e.detail else ""
        print(f"  {e.at.isoformat(timespec='seconds')} {e.actor_id} {e.event}{step}{detail}", file=out)
    return 0


def _simulate(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    services = TenantServices(inst)
    tenant = services.tenant(args.tenant)
    try:
        values = json.loads(args.values) if args.values else None
    except json.JSONDecodeError as error:
        raise InvalidInput("--values is not JSON", [FieldProblem("values", str(error))]) from None
    found = simulate(inst.database(args.tenant), services.registry(args.tenant), Actor.system(), args.object,
                     args.id, values, process=args.process, submitter=args.submitter, timezone=tenant.timezone,
                     locale=tenant.locale)
    _print_simulation(found, out)
    return 0


def _print_simulation(s: Simulation, out: TextIO) -> None:
    entry = f"; entry condition {s.entry_condition}: {'met' if s.entry_condition_met else 'NOT met'}" \
        if s.entry_condition else ""
    print(f"{s.process} (release {s.release}) for {s.object}/{s.record_id or 'draft'}, submitted by {s.submitter}{entry}",
          file=out)
    for index, step in enumerate(s.steps, start=1):
        if not step.runs:
            print(f"  {index}. {step.label}: skipped ({step.condition} is false)", file=out)
            continue
        asked = ", ".join(a.email + (f" (for {a.stands_in_for})" if a.stands_in_for else "") for a in step.approvers)
        print(f"  {index}. {step.label}: {step.mode}, {step.needed} of {len(step.approvers)}: {asked}", file=out)
        for note in step.notes:
            print(f"       note: {note}", file=out)
        for email in step.away:
            print(f"       away without a delegate: {email}", file=out)
        if step.escalation_at:
            print(f"       escalates ({step.escalation_action}) at {step.escalation_at.isoformat(timespec='minutes')}",
                  file=out)


def _delegate(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    try:
        starts, ends = datetime.fromisoformat(args.start), datetime.fromisoformat(args.end)
    except ValueError as error:
        raise InvalidInput("not a date-time", [FieldProblem("from/to", f"{error} (expected 2026-12-24T00:00+08:00)")]) \
            from None
    zone = TenantServices(inst).tenant(args.tenant).timezone
    starts, ends = (d if d.tzinfo else d.replace(tzinfo=ZoneInfo(zone)) for d in (starts, ends))
    made = delegate(inst.database(args.tenant), Actor.system(), args.user, args.delegate, starts, ends,
                    object_name=args.object, process=args.process)
    scope = args.process or args.object or "every approval"
    print(f"{args.tenant}: {args.delegate} approves for {args.user} ({scope}) from {made.starts_at.isoformat()} "
          f"until {made.ends_at.isoformat()}", file=out)
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser("approvals", help="approval requests: list, show, simulate, delegate").add_subparsers(
        dest="approvals_command", required=True)
    listing = with_tenant(group.add_parser("list", help="approval requests, newest first"))
    listing.add_argument("--status", choices=["pending", "approved", "rejected", "recalled"])
    listing.add_argument("--object")
    listing.add_argument("--first", type=int, default=50)
    listing.set_defaults(handler=_list)
    show = with_tenant(group.add_parser("show", help="one request: its tasks and history"))
    show.add_argument("id")
    show.set_defaults(handler=_show)
    sim = with_tenant(group.add_parser("simulate", help="who would approve a record (nothing is written)"))
    sim.add_argument("object")
    sim.add_argument("id", nargs="?")
    sim.add_argument("--values", help="draft values as JSON, over the record's: '{\"discount\": 25}'")
    sim.add_argument("--process", help="the process (needed when the object has several)")
    sim.add_argument("--submitter", metavar="EMAIL", help="who submits (default: the record's owner)")
    sim.set_defaults(handler=_simulate)
    dele = with_tenant(group.add_parser("delegate", help="let DELEGATE approve for USER for a while"))
    dele.add_argument("user", metavar="USER")
    dele.add_argument("delegate", metavar="DELEGATE")
    dele.add_argument("--from", dest="start", required=True, help="ISO date-time (tenant time zone if none)")
    dele.add_argument("--to", dest="end", required=True)
    dele.add_argument("--object")
    dele.add_argument("--process")
    dele.set_defaults(handler=_delegate)
