"""`trellis metadata apply/export/history/diff/rollback/purge`: publish and version a tenant's metadata."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from trellis.cli.options import Commands, with_publish_flags, with_tenant
from trellis.metadata.export import write_folder
from trellis.metadata.loader import load_folder
from trellis.platform.tenancy import Installation
from trellis.runtime.apps.install import Installed, installed
from trellis.runtime.releases import MetadataStore, PublishResult


def _apply(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    metadata = load_folder(Path(args.directory))
    store = MetadataStore(inst.database(args.tenant))
    result = store.publish(metadata, author=args.author, message=args.message or f"apply {args.directory}",
                           source=f"cli:{args.directory}", allow_destructive=args.allow_destructive,
                           dry_run=args.dry_run)
    print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def _rollback(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    store = MetadataStore(inst.database(args.tenant))
    result = store.rollback(args.number, author=args.author, allow_destructive=args.allow_destructive,
                            dry_run=args.dry_run)
    print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def print_result(result: PublishResult, tenant: str, out: TextIO, *, dry_run: bool, seconds: float) -> None:
    """The changes, the storage plan and the release a publish made (or would make)."""
    base = f"release {result.base}" if result.base else "no release yet"
    if result.no_changes and result.release is None:  # an app install may record a release all the same
        print(f"{tenant}: no changes ({base} already matches)", file=out)
        return
    print_plan(result, tenant, out)
    if dry_run:
        print("dry run: nothing was published", file=out)
    else:
        assert result.release is not None
        print(f"published release {result.release.number} ({len(result.plan.steps)} storage steps) "
              f"in {seconds:.2f} s", file=out)


def print_plan(result: PublishResult, tenant: str, out: TextIO) -> None:
    """The changes against the current release and the storage steps they need."""
    base = f"release {result.base}" if result.base else "no release yet"
    print(f"{tenant}: changes against {base}:", file=out)
    for line in result.diff.lines():
        print(f"  {line}", file=out)
    print("storage plan (! = destructive):", file=out)
    for line in result.plan.lines():
        print(f"  {line}", file=out)


def _export(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    if args.overlay:
        return _export_overlay(args, inst, out)
    release = MetadataStore(inst.database(args.tenant)).current()
    if release is None:
        print(f"{args.tenant}: nothing to export: no release has been published yet", file=sys.stderr)
        return 1
    written = write_folder(release.metadata, Path(args.directory))
    print(f"{args.tenant}: wrote release {release.number} ({len(written)} files) to {args.directory}", file=out)
    return 0


def _export_overlay(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    now = installed(MetadataStore(inst.database(args.tenant)))
    if not now.versions:
        print(f"{args.tenant}: no app is installed, so there is no overlay to export", file=sys.stderr)
        return 1
    written = overlay_files(now, Path(args.directory))
    print(f"{args.tenant}: wrote the overlay of release {now.release} on "
          f"{', '.join(f'{a} {v}' for a, v in sorted(now.versions.items()))} to "
          f"{', '.join(str(p) for p in written)}", file=out)
    return 0


def overlay_files(now: Installed, directory: Path) -> list[Path]:
    """`export --overlay`: one `<app>.overlay.json` per installed app, its customised items'
    merge patches and the items switched off."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for app in sorted(now.versions):
        path = directory / f"{app}.overlay.json"
        path.write_text(json.dumps(now.overlay(app), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


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


def _purge(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    store = MetadataStore(inst.database(args.tenant))
    older_than = None if args.older_than is None else timedelta(days=args.older_than)
    planned = store.purge(author=args.author, older_than=older_than, dry_run=True)
    if planned.plan.empty:
        age = f" for more than {args.older_than} day(s)" if args.older_than is not None else ""
        print(f"{args.tenant}: nothing kept aside{age}; nothing to purge", file=out)
        return 0
    print(f"{args.tenant}: kept aside by destructive publishes, to drop for good:", file=out)
    for line in planned.plan.lines():
        print(f"  {line}", file=out)
    if args.dry_run:
        print("dry run: nothing was dropped", file=out)
        return 0
    if not args.yes and not _confirmed(args.tenant):
        print(f"{args.tenant}: not confirmed; nothing was dropped", file=sys.stderr)
        return 1
    result = store.purge(author=args.author, older_than=older_than)
    assert result.release is not None
    print(f"{args.tenant}: dropped {len(result.plan.steps)} item(s); recorded as release {result.release.number}",
          file=out)
    return 0


def _confirmed(tenant: str) -> bool:
    """Ask on the terminal; without one (a script) the caller must say --yes."""
    if not sys.stdin.isatty():
        return False
    return input(f"Type the tenant name ({tenant}) to drop these for good: ").strip() == tenant


def register(commands: Commands) -> None:
    meta = commands.add_parser("metadata", help="apply, export and version metadata").add_subparsers(
        dest="metadata_command", required=True, metavar="ACTION")

    apply = with_publish_flags(with_tenant(meta.add_parser("apply", help="validate, plan and publish a folder")))
    apply.add_argument("directory")
    apply.add_argument("-m", "--message", help="release message")
    apply.set_defaults(handler=_apply)

    export = with_tenant(meta.add_parser("export", help="write the current release as files"))
    export.add_argument("directory")
    export.add_argument("--overlay", action="store_true",
                        help="write only the tenant's changes to its installed apps (<app>.overlay.json)")
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

    purge = with_tenant(meta.add_parser("purge", help="drop columns and tables kept aside by destructive publishes"))
    purge.add_argument("--older-than", type=int, metavar="DAYS", help="only what was set aside more than DAYS ago")
    purge.add_argument("--dry-run", action="store_true", help="list what would be dropped, drop nothing")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation (scripts)")
    purge.add_argument("--author", default=getpass.getuser(), help="recorded with the purge")
    purge.set_defaults(handler=_purge)
