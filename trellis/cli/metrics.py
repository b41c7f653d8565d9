"""`trellis metrics list|show`: KPIs from the command line, as the system or as a user.

Handlers parse and print; the numbers are the metrics runtime's (which GraphQL calls too).
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from typing import TextIO

from trellis.cli.options import Commands, with_tenant
from trellis.metadata.model import localized
from trellis.platform.tenancy import Installation
from trellis.runtime.access import Actor
from trellis.runtime.metrics.compute import Figure, metric_named, metric_names
from trellis.runtime.metrics.service import answer
from trellis.runtime.services import TenantServices


def _list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    services = TenantServices(inst)
    metadata = services.registry(args.tenant).metadata
    locale = services.tenant(args.tenant).locale
    for name in metric_names(metadata):
        metric = metric_named(metadata, name)
        print(f"{name:<28} {localized(metric.label, locale, name)}", file=out)
    return 0


def _show(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    services = TenantServices(inst)
    actor = services.users(args.tenant).actor_for(args.as_user) if args.as_user else Actor.system()
    names = args.names or list(metric_names(services.registry(args.tenant).metadata))
    records = services.records(args.tenant)
    for name in names:
        found = answer(records, actor, name, args.period, args.group_by)
        span = f"{found.period.start}…{found.period.end}" if found.period.start else "all time"
        print(f"{found.label} [{name}] {found.period.text} ({span}): {_value(found.metric.format, found.total)}", file=out)
        if args.definitions:
            print(f"  {found.definition}", file=out)
        for key, figure in found.groups:
            print(f"  {found.group_by} = {key}: {_value(found.metric.format, figure)}", file=out)
    return 0


def _value(style: str, figure: Figure) -> str:
    parts = f" = {figure.numerator} / {figure.denominator}" if figure.denominator is not None else ""
    if figure.value is None:
        return f"— (nothing to divide by){parts}"
    if style == "percent" and figure.denominator is not None:
        return f"{(figure.value * 100).quantize(Decimal('0.1'))}%{parts}"
    return f"{figure.value}{parts}"


def register(commands: Commands) -> None:
    group = commands.add_parser("metrics", help="KPIs: list, show").add_subparsers(dest="metrics_command", required=True)
    listing = with_tenant(group.add_parser("list", help="the metrics of the current release"))
    listing.set_defaults(handler=_list)
    show = with_tenant(group.add_parser("show", help="metric values (every metric when none is named)"))
    show.add_argument("names", nargs="*", metavar="NAME")
    show.add_argument("--period", help="2026-Q3, 2026-11, this_quarter, last_year, next_30_days, A..B, all "
                                       "(default: each metric's own)")
    show.add_argument("--group-by", help="one of the metric's groupings, e.g. owner_id")
    show.add_argument("--as", dest="as_user", metavar="EMAIL", help="compute with this user's permissions")
    show.add_argument("--definitions", action="store_true", help="print each metric's definition")
    show.set_defaults(handler=_show)
