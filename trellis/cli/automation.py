"""`trellis worker`, `trellis rules preview/history/deliveries/retry` and `trellis channels`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from types import FrameType
from typing import TextIO
from zoneinfo import ZoneInfo

from trellis.cli.options import Commands, with_tenant
from trellis.platform.clock import utc_now
from trellis.platform.tenancy import Installation
from trellis.runtime.automation.ledger import list_deliveries, requeue, run_history
from trellis.runtime.automation.preview import PreviewItem, draft_registry, preview
from trellis.runtime.channels import ChannelConfigError
from trellis.runtime.identity.people import People
from trellis.runtime.records.labels import record_labels
from trellis.runtime.registry import Registry
from trellis.runtime.services import TenantServices
from trellis.runtime.worker import TickReport, Worker


def _worker(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    worker = Worker(TenantServices(inst), args.tenant or (), batch=args.batch,
                    lease=timedelta(seconds=args.lease))
    if args.once:
        _print_tick(worker.tick(), out)
        return 0
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stopping(stop))
    print(f"worker running every {args.interval:g} s; Ctrl-C stops it", file=out, flush=True)
    worker.run(args.interval, stop, on_tick=lambda report: _print_tick(report, out))
    return 0


def stopping(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    """A signal handler that sets `stop` from a thread of its own: the handler runs on the main
    thread between two bytecodes, possibly inside `stop.wait()` while that holds the event's
    (non-reentrant) lock, and setting the event there would deadlock the worker for good."""
    def handle(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=stop.set, name="stop-on-signal", daemon=True).start()
    return handle


def _print_tick(report: TickReport, out: TextIO) -> None:
    for tenant, scan in report.scans.items():
        sent = report.deliveries[tenant]
        if scan.counts or sent.claimed:
            print(f"{tenant}: fired {scan.total('fired')}, skipped {scan.total('skipped')}, failed "
                  f"{scan.total('failed')}; delivered {sent.sent}, retrying {sent.retrying}, dead {sent.dead}",
                  file=out, flush=True)


def _registry(args: argparse.Namespace, services: TenantServices) -> Registry:
    """The current release, or with --drafts the drafts on top of it (validated like a publish)."""
    registry = services.registry(args.tenant)
    return draft_registry(services.store(args.tenant), registry) if args.drafts else registry


def _preview(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    services = TenantServices(inst)
    tenant = services.tenant(args.tenant)
    zone = ZoneInfo(tenant.timezone)
    try:
        items = preview(inst.database(args.tenant), _registry(args, services), zone, tenant.locale, utc_now(),
                        args.days, args.rule)
    except ValueError as error:
        print(f"error: --{error}", file=sys.stderr)
        return 1
    if args.json:
        json.dump([_preview_json(item) for item in items], out, ensure_ascii=False, indent=2)
        print(file=out)
        return 0
    with inst.database(args.tenant).read() as conn:
        registry = services.registry(args.tenant)
        labels = record_labels(conn, registry, ((i.object, i.record_id) for i in items))
        people = People(conn)
        print(f"Times in {zone.key}; records by {', '.join(_display_fields(registry, items)) or 'id'}.", file=out)
        day, hidden = None, 0
        for item in items:
            if item.day != day:
                _print_hidden(hidden, out)
                day, hidden = item.day, 0
                print(f"\n{day.isoformat()} ({day:%a})", file=out)
            if item.outcome == "skipped" and not args.all and (item.reason or "").startswith("condition not met"):
                hidden += 1
                continue
            when = item.due_at.astimezone(zone).strftime("%H:%M")
            head = f"  {when} {item.rule} · {item.object} {labels[(item.object, item.record_id)]}" \
                   f"{' · ' + item.step if item.step else ''}"
            if item.outcome != "fired":
                print(f"{head}: not sent: {_why_not(item.reason)}", file=out)
            elif item.kind is None:
                print(f"{head}: fires, sends nothing: the rule's recipients name nobody for this record", file=out)
            else:
                print(f"{head} → {item.channel or item.kind} {_person(people, item.recipient)}: {item.subject or ''}",
                      file=out)
                for line in (item.body or "").splitlines():
                    print(f"      {line}", file=out)
        _print_hidden(hidden, out)
    print(f"\n{sum(1 for i in items if i.kind)} messages and actions in the next {args.days} days", file=out)
    return 0


def _display_fields(registry: Registry, items: list[PreviewItem]) -> list[str]:
    shown = {i.object: registry.objects[i.object].display_field for i in items if i.object in registry.objects}
    return [f"{obj}.{field}" for obj, field in sorted(shown.items()) if field]


def _print_hidden(count: int, out: TextIO) -> None:
    if count:
        print(f"  ({count} more whose rule's condition does not hold for them: --all lists them)", file=out)


def _why_not(reason: str | None) -> str:
    """A skip or failure in one short sentence: the condition's source is in the rule."""
    if reason and reason.startswith("condition not met"):
        return "the rule's condition does not hold for it"
    return reason or "no reason recorded"


def _person(people: People, recipient: str | None) -> str:
    """A recipient as people read it: `李娜 <li.na@…>` for a user (in-app messages name their id)."""
    if not recipient:
        return "-"
    found = people.by_id(recipient) if "@" not in recipient else people.by_email(recipient)
    return f"{found.name} <{found.email}>" if found else recipient


def _preview_json(item: PreviewItem) -> dict[str, object]:
    """An item as this command has always printed it: `channel` names the action type of an
    action that sends no message."""
    shown = {**item.__dict__, "day": item.day.isoformat(), "due_at": item.due_at.isoformat(),
             "channel": item.channel or item.kind}
    del shown["kind"]
    return shown


def _history(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    for run in run_history(inst.database(args.tenant), rule=args.rule, record_id=args.record, limit=args.limit):
        tally = ", ".join(f"{n} {status}" for status, n in sorted(run.deliveries.items()))
        print(f"{run.fired_at:%Y-%m-%d %H:%M} {run.rule} {run.object}/{run.record_id} {run.step} "
              f"due {run.due_at:%Y-%m-%d %H:%M}Z: {run.outcome}"
              f"{': ' + run.reason if run.reason else ''}{' (' + tally + ')' if tally else ''}", file=out)
    return 0


def _deliveries(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    for d in list_deliveries(inst.database(args.tenant), status=args.status, limit=args.limit):
        print(f"{d.id} {d.status} {d.channel or d.kind} {d.recipient or '-'} rule {d.rule} "
              f"record {d.record_id} attempts {d.attempts}{': ' + d.last_error if d.last_error else ''}", file=out)
    return 0


def _retry(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    """Dead letters back into the queue (all, or the ids given)."""
    queued = requeue(inst.database(args.tenant), args.ids or None)
    print(f"{args.tenant}: {queued} dead deliveries queued again", file=out)
    return 0 if queued or not args.ids else 1


def _channels_set(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    try:
        config = json.loads(args.config)
    except json.JSONDecodeError as error:
        print(f"error: --config is not JSON: {error}", file=sys.stderr)
        return 1
    try:
        masked = TenantServices(inst).channels(args.tenant).configure(args.channel, config, args.author, utc_now())
    except ChannelConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps({args.channel: masked}, ensure_ascii=False, indent=2), file=out)
    return 0


def _channels_show(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    print(json.dumps(TenantServices(inst).channels(args.tenant).masked(), ensure_ascii=False, indent=2), file=out)
    return 0


def register(commands: Commands) -> None:
    worker = commands.add_parser("worker", help="run the scheduler and the dispatcher of workflow rules")
    worker.add_argument("--tenant", action="append", help="only this tenant (repeatable; default: all)")
    worker.add_argument("--once", action="store_true", help="one scan and delivery round, then exit")
    worker.add_argument("--interval", type=float, default=30.0, help="seconds between rounds (default 30)")
    worker.add_argument("--batch", type=int, default=100, help="deliveries claimed at a time (default 100)")
    worker.add_argument("--lease", type=float, default=300.0,
                        help="seconds a claimed delivery stays ours before another worker may take it (default 300)")
    worker.set_defaults(handler=_worker)

    rules = commands.add_parser("rules", help="workflow rules: preview, run history, deliveries").add_subparsers(
        dest="rules_command", required=True, metavar="ACTION")
    show = with_tenant(rules.add_parser("preview", help="every message the date and schedule rules would send, "
                                                        "day by day, without sending anything"))
    show.add_argument("--days", type=int, default=30, help="how many days ahead (default 30)")
    show.add_argument("--rule", help="only this rule")
    show.add_argument("--drafts", action="store_true", help="preview the draft rules instead of the published ones")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.add_argument("--all", action="store_true", help="also list firings whose rule condition does not hold")
    show.set_defaults(handler=_preview)

    history = with_tenant(rules.add_parser("history", help="what fired, was skipped or failed, and why"))
    history.add_argument("--rule")
    history.add_argument("--record", metavar="ID")
    history.add_argument("--limit", type=int, default=50)
    history.set_defaults(handler=_history)

    ledger = with_tenant(rules.add_parser("deliveries", help="the delivery ledger (dead letters with --status dead)"))
    ledger.add_argument("--status", choices=["pending", "sending", "sent", "dead"])
    ledger.add_argument("--limit", type=int, default=50)
    ledger.set_defaults(handler=_deliveries)

    retry = with_tenant(rules.add_parser("retry", help="queue dead deliveries again (all, or the ids given)"))
    retry.add_argument("ids", nargs="*", metavar="ID")
    retry.set_defaults(handler=_retry)

    channels = commands.add_parser("channels", help="message channels of a tenant (secrets are never shown)") \
        .add_subparsers(dest="channels_command", required=True, metavar="ACTION")
    set_channel = with_tenant(channels.add_parser("set", help="configure a channel: email, sms, wecom, webhook"))
    set_channel.add_argument("channel")
    set_channel.add_argument("--config", required=True, metavar="JSON",
                             help='e.g. \'{"host": "smtp.example.com", "port": 587, "security": "starttls", …}\'')
    set_channel.add_argument("--author", default="cli")
    set_channel.set_defaults(handler=_channels_set)
    show_channels = with_tenant(channels.add_parser("show", help="the channels' settings, secrets masked"))
    show_channels.set_defaults(handler=_channels_show)
