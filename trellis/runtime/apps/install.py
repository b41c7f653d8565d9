"""Install an app version into a tenant, read its status and overlay, upgrade it.

Each is an ordinary publish through `MetadataStore.publish(…, app=…)`: validation, the storage
plan (destructive steps refused unless allowed), one transaction. An upgrade is planned first
(`plan_upgrade`: the three-way merge, read-only) and applied second (`apply_upgrade`), so a
caller can show the merge report and the publish plan before anything changes, and nothing is
published while a conflict is unresolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from trellis.metadata.errors import json_path
from trellis.metadata.merge import show
from trellis.metadata.model import ItemKey, MetadataSet
from trellis.metadata.overlays import CUSTOMISED, REMOVED, Origin, Prefer, UpgradeMerge, merge_upgrade
from trellis.metadata.packages import AppVersion, item_label, version_key
from trellis.runtime.apps import provenance
from trellis.runtime.errors import FieldProblem, RuntimeProblem
from trellis.runtime.releases import MetadataStore, PublishResult
from trellis.runtime.storage import StepObserver


class AppError(RuntimeProblem):
    """An app operation refused before anything was changed."""

    code = "BAD_USER_INPUT"


class UnresolvedConflicts(AppError):
    """The upgrade's merge left conflicts: nothing was published."""

    def __init__(self, plan: UpgradePlan):
        self.plan = plan
        problems = [FieldProblem(f"{item_label(key)} {c.path}",
                                 f"installed {show(c.base)}, yours {show(c.ours)}, new {show(c.theirs)}")
                    for key, c in plan.merge.unresolved]
        super().__init__(f"{plan.describe()}: {len(problems)} unresolved conflict(s); nothing was changed", problems)


@dataclass(frozen=True)
class Installed:
    """A tenant's apps as of its current release: versions and each item's provenance."""

    release: int | None
    versions: Mapping[str, str]
    origins: list[Origin] = field(default_factory=list)

    def overlay(self, app: str) -> dict[str, Any]:
        """The tenant's overlay on `app`: customised items' patches and the items switched off."""
        mine = [o for o in self.origins if o.app == app]
        return {
            "app": app, "version": self.versions[app], "release": self.release,
            "customised": {item_label(o.key): o.patch for o in mine if o.state == CUSTOMISED},
            "whole_documents": sorted(item_label(o.key) for o in mine if o.state == CUSTOMISED and o.whole),
            "removed": sorted(item_label(o.key) for o in mine if o.state == REMOVED),
        }


def installed(store: MetadataStore) -> Installed:
    with store.db.read() as conn:
        number = store.current_number(conn)
        if number is None:
            return Installed(None, {})
        return Installed(number, provenance.versions_at(conn, number), provenance.origins_at(conn, number))


def shipped_version(store: MetadataStore, app: str, version: str) -> MetadataSet:
    """The documents of `app` `version` as this tenant installed them."""
    with store.db.read() as conn:
        return provenance.shipped(conn, {app: version})[app]


def install(store: MetadataStore, app: AppVersion, *, author: str, dry_run: bool = False,
            allow_destructive: bool = False) -> tuple[PublishResult, list[ItemKey]]:
    """Publish the app's items into the tenant, based on `app`'s version. Items the tenant already
    has under an app item's name keep the tenant's document (they become customisations; returned),
    so installing over metadata published before packages existed changes nothing an admin did."""
    now = installed(store)
    if app.app in now.versions:
        raise AppError(f"{app.app} {now.versions[app.app]} is already installed; "
                       f"to move to {app.version} run: trellis app upgrade {app.app} --to {app.version}")
    current = MetadataSet() if now.release is None else store.release(now.release).metadata
    items = dict(current.items())
    kept = [key for key in app.metadata if key in items]
    for key, document in app.metadata.items():
        items.setdefault(key, document)
    result = store.publish(MetadataSet(items), author=author, message=f"install {app.app} {app.version}",
                           source=f"app:{app.app}@{app.version}", app=app, dry_run=dry_run,
                           allow_destructive=allow_destructive, expect_base=now.release)
    return result, kept


@dataclass(frozen=True)
class UpgradePlan:
    """The merge of an upgrade, against the release it was computed from."""

    target: AppVersion
    installed: str
    release: int
    merge: UpgradeMerge

    def describe(self) -> str:
        return f"{self.target.app} {self.installed} -> {self.target.version}"


def plan_upgrade(store: MetadataStore, target: AppVersion, prefers: list[Prefer] | None = None) -> UpgradePlan:
    """Merge the tenant's release from its installed version onto `target` (nothing is written)."""
    now = installed(store)
    version = now.versions.get(target.app)
    if now.release is None or version is None:
        raise AppError(f"{target.app} is not installed in this tenant; run: trellis app install {target.app}")
    if version_key(target.version) < version_key(version):
        raise AppError(f"{target.app} {version} is installed; a downgrade to {target.version} is refused "
                       f"(roll back to an earlier release instead: trellis metadata history, rollback)")
    if target.version == version:
        raise AppError(f"{target.app} {version} is already installed")
    base = shipped_version(store, target.app, version)
    ours = store.release(now.release).metadata
    merge = merge_upgrade(base, target.metadata, ours, prefers)
    _check_prefers(prefers or [], merge, base, target.metadata, ours)
    return UpgradePlan(target, version, now.release, merge)


def _check_prefers(prefers: list[Prefer], merge: UpgradeMerge, *sets: MetadataSet) -> None:
    """A preference naming an item no side has, or matching no conflict, is a mistake to report."""
    problems: list[FieldProblem] = []
    conflicts = [(m.key, c) for m in merge.report for c in m.conflicts]
    for prefer in prefers:
        if prefer.item is None:
            continue
        where = item_label(prefer.item) + (f":{json_path(prefer.parts)}" if prefer.parts else "")
        if not any(prefer.item in s for s in sets):
            problems.append(FieldProblem(where, "no such item in the installed version, the new one or yours"))
        elif not any(prefer.matches(key, c.parts) for key, c in conflicts):
            problems.append(FieldProblem(where, "no conflict there; --prefer resolves conflicts only"))
    if problems:
        raise AppError("--prefer names what the upgrade cannot use; nothing was changed", problems)


def apply_upgrade(store: MetadataStore, plan: UpgradePlan, *, author: str, dry_run: bool = False,
                  allow_destructive: bool = False, on_step: StepObserver | None = None) -> PublishResult:
    """Publish the merged set as the next release, based on the new version; refused while a
    conflict is unresolved or when another release was published since the merge."""
    if plan.merge.unresolved:
        raise UnresolvedConflicts(plan)
    return store.publish(plan.merge.metadata, author=author, message=f"upgrade {plan.describe()}",
                         source=f"app:{plan.target.app}@{plan.target.version}", app=plan.target, dry_run=dry_run,
                         allow_destructive=allow_destructive, on_step=on_step, expect_base=plan.release)
