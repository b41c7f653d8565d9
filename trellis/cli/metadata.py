"""`trellis metadata apply/export/history/diff/rollback`: publish and version a tenant's metadata."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from trellis.cli.options import Commands, with_publish_flags, with_tenant
from trellis.metadata.export import write_folder
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.releases import MetadataStore, PublishResult


def _apply(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    metadata = load_folder(Path(args.directory))
    store = MetadataStore(inst.database(args.tenant))
    result = store.publish(metadata, author=args.author, message=args.message or f"apply {args.directory}",
                           source=f"cli:{args.directory}", allow_destructive=args.allow_destructive,
                           dry_run=args.dry_run)
    _print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def _rollback(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    store = MetadataStore(inst.database(args.tenant))
    result = store.rollback(args.number, author=args.author, allow_destructive=args.allow_destructive,
                            dry_run=args.dry_run)
    _print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def _print_result(result: PublishResult, tenant: str, out: TextIO, *, dry_run: bool, seconds: float) -> None:
    base = f"release {result.base}" if result.base else "no release yet"
    if result.no_changes:
        print(f"{tenant}: no changes ({base} already matches)", file=out)
        return
    print(f"{tenant}: changes against {base}:", file=out)
    for line in result.diff.lines():
        print(f"  {line}", file=out)
    print("storage plan (! = destructive):", file=out)
    for line in result.plan.lines():
        print(f"  {line}", file=out)
    if dry_run:
        print("dry run: nothing was published", file=out)
    else:
        assert result.release is not None
        print(f"published release {result.release.number} ({len(result.plan.steps)} storage steps) "
              f"in {seconds:.2f} s", file=out)


def _export(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    release = MetadataStore(inst.database(args.tenant)).current()
    if release is None:
        print(f"{args.tenant}: nothing to export: no release has been published yet", file=sys.stderr)
        return 1
    written = write_folder(release.metadata, Path(args.directory))
    print(f"{args.tenant}: wrote release {release.number} ({len(written)} files) to {args.directory}", file=out)
    return 0


def _history(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    releases = MetadataStore(inst.database(args.tenant)).history()
    if not releases:
        print(f"{args.tenant}: no releases yet", file=out)
    for info in releases:
        when = info.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        print(f"{info.number:>5}  {when}  {info.author:<16} {len(info.diff):>3} change(s)  {info.message}", file=out)
    return 0


def _diff(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    diff = MetadataStore(inst.database(args.tenant)).diff(args.a, args.b)
    print(f"{args.tenant}: release {args.a} -> {args.b}:", file=out)
    for line in diff.lines():
        print(f"  {line}", file=out)
    return 0


def register(commands: Commands) -> None:
    meta = commands.add_parser("metadata", help="apply, export and version metadata").add_subparsers(
        dest="metadata_command", required=True, metavar="ACTION")

    apply = with_publish_flags(with_tenant(meta.add_parser("apply", help="validate, plan and publish a folder")))
    apply.add_argument("directory")
    apply.add_argument("-m", "--message", help="release message")
    apply.set_defaults(handler=_apply)

    export = with_tenant(meta.add_parser("export", help="write the current release as files"))
    export.add_argument("directory")
    export.set_defaults(handler=_export)

    with_tenant(meta.add_parser("history", help="list releases")).set_defaults(handler=_history)

    diff = with_tenant(meta.add_parser("diff", help="what changed between two releases"))
    diff.add_argument("a", type=int)
    diff.add_argument("b", type=int)
    diff.set_defaults(handler=_diff)

    rollback = with_publish_flags(with_tenant(meta.add_parser(
        "rollback", help="publish the content of an earlier release as a new release")))
    rollback.add_argument("number", type=int)
    rollback.set_defaults(handler=_rollback)
