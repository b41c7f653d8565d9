"""`trellis app list|install|status|upgrade|diff`: built-in apps as versioned packages in a tenant.

The work is in `trellis.runtime.apps.install`; this module finds the packages, parses arguments
and prints reports.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TextIO

from trellis.builtin_apps import APPS_FOLDER
from trellis.cli.metadata import print_plan, print_result
from trellis.cli.options import Commands, with_publish_flags, with_tenant
from trellis.metadata.diff import diff_sets
from trellis.metadata.errors import json_path
from trellis.metadata.merge import OURS, THEIRS, changes, show
from trellis.metadata.overlays import CONFLICT, CUSTOMISED, Prefer, parse_json_path
from trellis.metadata.packages import AppPackage, AppVersion, find_packages, item_label, normal_version, parse_item
from trellis.platform.tenancy import Installation
from trellis.runtime.apps.install import (
    AppError,
    UpgradePlan,
    apply_upgrade,
    install,
    installed,
    plan_upgrade,
    shipped_version,
)
from trellis.runtime.releases import MetadataStore


def packages(root: Path = APPS_FOLDER) -> dict[str, AppPackage]:
    return find_packages(root)


def package(name: str, root: Path = APPS_FOLDER) -> AppPackage:
    found = packages(root)
    if name not in found:
        raise AppError(f"no app named {name!r}; the apps are: {', '.join(sorted(found)) or 'none'}")
    return found[name]


def load_version(pkg: AppPackage, text: str | None) -> AppVersion:
    """The version asked for (`1.1` or `1.1.0`), or the latest."""
    if text is None:
        return pkg.load(pkg.latest)
    version = normal_version(text)
    if version is None or version not in pkg.versions:
        raise AppError(f"{pkg.name} has no version {text!r}; it ships {', '.join(pkg.versions)}")
    return pkg.load(version)


def _list(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    now = installed(MetadataStore(inst.database(args.tenant))) if args.tenant else None
    for name, pkg in sorted(packages().items()):
        label = pkg.label.get("en") or next(iter(pkg.label.values()))
        line = f"{name:<16} {', '.join(pkg.versions):<20} {label}"
        if now is not None:
            line += f"   installed: {now.versions.get(name, '-')}"
        print(line, file=out)
    return 0


def _install(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    app = load_version(package(args.app), args.version)
    store = MetadataStore(inst.database(args.tenant))
    result, kept = install(store, app, author=args.author, dry_run=args.dry_run,
                           allow_destructive=args.allow_destructive)
    for key in kept:
        print(f"  kept the tenant's {item_label(key)} (recorded as a customisation of {app.app})", file=out)
    print_result(result, args.tenant, out, dry_run=args.dry_run, seconds=time.perf_counter() - started)
    return 0


def _status(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    now = installed(MetadataStore(inst.database(args.tenant)))
    if args.app and args.app not in now.versions:
        installed_apps = ", ".join(sorted(now.versions)) or "none"
        raise AppError(f"{args.app} is not installed in {args.tenant} (installed: {installed_apps})")
    if not now.versions:
        print(f"{args.tenant}: no app installed", file=out)
    for app, version in sorted(now.versions.items()):
        print(f"{args.tenant}: {app} {version} (release {now.release})", file=out)
    for origin in now.origins:
        if args.app and origin.app not in (args.app, None):
            continue
        state = origin.state if origin.app is None else f"{origin.state} ({origin.app})"
        print(f"  {item_label(origin.key):<44} {state}", file=out)
        if origin.state == CUSTOMISED:
            text = json.dumps(origin.patch, ensure_ascii=False)
            print(f"      {'document' if origin.whole else 'patch'}: {text}", file=out)
    return 0


def _diff(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    store = MetadataStore(inst.database(args.tenant))
    now = installed(store)
    pkg = package(args.app)
    target = load_version(pkg, args.to)
    version = now.versions.get(pkg.name)
    if version is None:
        raise AppError(f"{pkg.name} is not installed in {args.tenant}")
    print(f"{pkg.name} {version} (installed) -> {target.version}:", file=out)
    for line in diff_sets(shipped_version(store, pkg.name, version), target.metadata).lines():
        print(f"  {line}", file=out)
    return 0


def _upgrade(args: argparse.Namespace, inst: Installation, out: TextIO) -> int:
    started = time.perf_counter()
    store = MetadataStore(inst.database(args.tenant))
    pkg = package(args.app)
    target = load_version(pkg, args.to)
    plan = plan_upgrade(store, target, parse_prefers(args.prefer or []))
    print_merge(plan, out)
    if plan.merge.unresolved:
        print(f"{len(plan.merge.unresolved)} unresolved conflict(s); nothing was changed. Resolve each with "
              "--prefer ours|theirs ITEM[:PATH] (or all with --prefer ours|theirs), or edit the item, "
              "publish and run the upgrade again:", file=out)
        for key, conflict in plan.merge.unresolved:
            print(f"  --prefer ours|theirs '{item_label(key)}:{conflict.path}'", file=out)
        return 1
    preview = apply_upgrade(store, plan, author=args.author, dry_run=True, allow_destructive=True)
    print_plan(preview, args.tenant, out)
    if args.dry_run:
        print("dry run: nothing was published", file=out)
        return 0
    if preview.plan.destructive_steps and not args.allow_destructive:
        print(f"refused: the upgrade needs {len(preview.plan.destructive_steps)} destructive step(s) (! above); "
              "nothing was changed. Re-run with --allow-destructive to apply them (data is kept aside).", file=out)
        return 1
    result = apply_upgrade(store, plan, author=args.author, allow_destructive=args.allow_destructive)
    assert result.release is not None  # an upgrade always records a release
    print(f"upgraded {plan.describe()}: published release {result.release.number} "
          f"in {time.perf_counter() - started:.2f} s", file=out)
    return 0


WHOLE = 400  # characters of a conflicting value shown; what changed inside it follows in full


def print_merge(plan: UpgradePlan, out: TextIO) -> None:
    print(f"merge {plan.describe()} on release {plan.release}:", file=out)
    if not plan.merge.report:
        print("  nothing to merge: no item changes", file=out)
    for item in plan.merge.report:
        print(f"  {item_label(item.key):<44} {item.outcome}", file=out)
        for conflict in item.conflicts:
            how = "UNRESOLVED" if conflict.resolved is None else f"resolved: {conflict.resolved}"
            print(f"      conflict at {conflict.path} ({how})", file=out)
            for side, value in (("installed", conflict.base), ("yours", conflict.ours), ("new", conflict.theirs)):
                print(f"        {side:<9} {show(value, WHOLE)}", file=out)
            if isinstance(conflict.base, dict | list):  # say what each side changed inside it
                for side, value in (("yours", conflict.ours), ("new", conflict.theirs)):
                    for parts, changed in changes(conflict.base, value, conflict.parts):
                        print(f"        {side} changed {json_path(parts)} to {show(changed, WHOLE)}", file=out)
        if item.outcome == "kept":
            print("      removed by the new version, kept because you customised it", file=out)
    conflicted = sum(1 for item in plan.merge.report if item.outcome == CONFLICT)
    if conflicted:
        print(f"  {conflicted} item(s) in conflict", file=out)


def parse_prefers(groups: list[list[str]]) -> list[Prefer]:
    """`--prefer SIDE [ITEM[:PATH] …]`, repeatable: SIDE alone applies to every conflict."""
    prefers: list[Prefer] = []
    for side, *targets in groups:
        if side not in (OURS, THEIRS):
            raise AppError(f"--prefer takes ours or theirs first; got {side!r}")
        if not targets:
            prefers.append(Prefer(side))
        for target in targets:
            item_text, _, path_text = target.partition(":")
            key = parse_item(item_text)
            parts = parse_json_path(path_text) if path_text else ()
            if key is None:
                raise AppError(f"--prefer {side} {target}: expected an item as <kind folder>/<name>, "
                               f"e.g. workflow_rules/renewal_reminder")
            if parts is None:
                raise AppError(f"--prefer {side} {target}: expected a JSON path after ':', "
                               f"e.g. objects/contract:$.properties.amount.maximum")
            prefers.append(Prefer(side, key, parts))
    return prefers


def register(commands: Commands) -> None:
    group = commands.add_parser("app", help="install, customise and upgrade built-in apps").add_subparsers(
        dest="app_command", required=True, metavar="ACTION")

    listing = group.add_parser("list", help="the apps and their versions (installed ones with --tenant)")
    listing.add_argument("--tenant")
    listing.set_defaults(handler=_list)

    inst = with_publish_flags(with_tenant(group.add_parser("install", help="publish an app into a tenant")))
    inst.add_argument("app")
    inst.add_argument("--version", help="default: the latest")
    inst.set_defaults(handler=_install)

    status = with_tenant(group.add_parser("status", help="per item: as shipped, customised (patch), tenant-owned"))
    status.add_argument("app", nargs="?")
    status.set_defaults(handler=_status)

    diff = with_tenant(group.add_parser("diff", help="what a version changes against the installed one"))
    diff.add_argument("app")
    diff.add_argument("--to", help="default: the latest")
    diff.set_defaults(handler=_diff)

    upgrade = with_publish_flags(with_tenant(group.add_parser(
        "upgrade", help="three-way merge of the new version with the tenant's customisations, then publish")))
    upgrade.add_argument("app")
    upgrade.add_argument("--to", help="default: the latest")
    upgrade.add_argument("--prefer", nargs="+", action="append", metavar="SIDE_OR_ITEM",
                         help="ours|theirs [ITEM[:PATH] …]: the side that wins those conflicts (all without ITEM)")
    upgrade.set_defaults(handler=_upgrade)
