"""The versioned metadata store of one tenant: drafts, immutable releases, publish, rollback.

Publishing validates the whole set, computes the metadata diff and the storage plan, refuses
destructive steps unless allowed, then applies the plan and records the release in ONE
transaction: a failure at any step leaves the previous release and every table as they were.

Release documents are stored once per content hash (`metadata_blobs`), so a history of many
releases that each change one object costs one copy of each distinct document.

Every release also records which app versions it is based on and each item's provenance
(shipped / customised with its merge patch / removed / the tenant's own; `trellis.runtime.apps`),
in the same transaction: whoever publishes, the tenant's overlay on its apps is recorded, and a
rollback restores the app versions of the release it goes back to.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Row, delete, func, insert, select

from trellis.metadata.diff import MetadataDiff, diff_sets
from trellis.metadata.documents import canonical_json
from trellis.metadata.errors import MetadataInvalid
from trellis.metadata.model import ItemKey, MetadataSet
from trellis.metadata.packages import AppVersion
from trellis.metadata.renames import as_renamed, field_renames, object_renames, rename_problems
from trellis.metadata.validation import validate_set
from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.runtime.apps import provenance
from trellis.runtime.errors import Conflict
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.records import rollups
from trellis.runtime.release_tables import metadata_blobs, metadata_drafts, metadata_release_items, metadata_releases
from trellis.runtime.storage import (
    StepObserver,
    StoragePlan,
    apply_plan,
    build_tables,
    plan_storage,
)
from trellis.runtime.storage.purge import aside_storage


class ReleaseNotFound(LookupError):
    pass


class BaseMoved(Conflict):
    """Another release was published since the change was computed. Nothing was changed."""


class DestructiveChangeRefused(Exception):
    """The plan has destructive steps and the caller did not allow them. Nothing was changed."""

    def __init__(self, plan: StoragePlan):
        self.plan = plan
        steps = "\n".join(f"  ! {s.describe()}" for s in plan.destructive_steps)
        super().__init__(
            f"refused: {len(plan.destructive_steps)} destructive step(s); nothing was changed.\n{steps}\n"
            "Re-run with --allow-destructive to apply them (data is kept aside, not deleted)."
        )


class DraftConflict(Exception):
    """The item changed since the caller read it (another admin saved it meanwhile). Nothing was saved."""


@dataclass(frozen=True)
class ReleaseInfo:
    number: int
    author: str
    message: str
    created_at: datetime
    content_hash: str
    source: str
    diff: list[dict[str, Any]]
    plan: dict[str, Any]


@dataclass(frozen=True)
class Release:
    info: ReleaseInfo
    metadata: MetadataSet

    @property
    def number(self) -> int:
        return self.info.number


@dataclass(frozen=True)
class PublishResult:
    base: int | None  # the release the change was computed against
    diff: MetadataDiff
    plan: StoragePlan
    release: ReleaseInfo | None  # None when nothing was published (no changes, or a dry run)

    @property
    def no_changes(self) -> bool:
        return self.diff.empty


EMPTY = MetadataSet()


class MetadataStore:
    """Drafts and releases of one tenant's metadata, over its `Database`."""

    def __init__(self, db: Database, clock: Clock = utc_now, timezone: ZoneInfo = ZoneInfo("UTC")):
        self.db = db
        self.clock = clock
        self.timezone = timezone  # the tenant's: roll-ups a publish computes count `today()` in it
        self._cache: dict[int, Release] = {}  # releases are immutable: safe to keep
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def current_number(self, conn: Connection | None = None) -> int | None:
        if conn is None:
            with self.db.read() as conn:
                return self.current_number(conn)
        return conn.execute(select(func.max(metadata_releases.c.number))).scalar()

    def current(self) -> Release | None:
        with self.db.read() as conn:
            number = self.current_number(conn)
            return None if number is None else self._release(conn, number)

    def release(self, number: int) -> Release:
        with self.db.read() as conn:
            return self._release(conn, number)

    def _release(self, conn: Connection, number: int) -> Release:
        with self._lock:
            cached = self._cache.get(number)
        if cached is not None:
            return cached
        row = conn.execute(select(metadata_releases).where(metadata_releases.c.number == number)).first()
        if row is None:
            known = self.current_number(conn)
            raise ReleaseNotFound(f"no release {number} (releases: {'1..' + str(known) if known else 'none yet'})")
        items = conn.execute(
            select(metadata_release_items.c.kind, metadata_release_items.c.name, metadata_blobs.c.document)
            .join(metadata_blobs, metadata_blobs.c.hash == metadata_release_items.c.hash)
            .where(metadata_release_items.c.release == number)
        ).all()
        release = Release(_info(row), MetadataSet({(k, n): json.loads(d) for k, n, d in items}))
        with self._lock:
            self._cache[number] = release
        return release

    def history(self) -> list[ReleaseInfo]:
        with self.db.read() as conn:
            rows = conn.execute(select(metadata_releases).order_by(metadata_releases.c.number.desc())).all()
        return [_info(row) for row in rows]

    def diff(self, a: int, b: int) -> MetadataDiff:
        return diff_sets(self.release(a).metadata, self.release(b).metadata)

    # -- drafts ----------------------------------------------------------------------------

    def drafts(self) -> dict[ItemKey, Mapping[str, Any] | None]:
        with self.db.read() as conn:
            return self._drafts(conn)

    def _drafts(self, conn: Connection) -> dict[ItemKey, Mapping[str, Any] | None]:
        rows = conn.execute(select(metadata_drafts)).all()
        return {(r.kind, r.name): None if r.document is None else json.loads(r.document) for r in rows}

    def save_draft(self, kind: str, name: str, document: Mapping[str, Any] | None, author: str,
                   expected: str | None = None) -> None:
        """Stage one item (None stages its removal). Drafts are not validated as a set until
        publish, so an admin can save work in progress. `expected`: the `item_version` the
        caller read; when the item has another one now, DraftConflict and nothing is saved."""
        values = {"document": None if document is None else canonical_json(document),
                  "updated_by": author, "updated_at": self.clock()}
        with self.db.write() as conn:
            if expected is not None and item_version(self._draft_set(conn).documents(kind).get(name)) != expected:
                raise DraftConflict(f"{kind} {name} was changed by someone else since you opened it")
            conn.execute(delete(metadata_drafts).where(
                (metadata_drafts.c.kind == kind) & (metadata_drafts.c.name == name)))
            conn.execute(insert(metadata_drafts).values(kind=kind, name=name, **values))

    def discard_drafts(self) -> None:
        with self.db.write() as conn:
            conn.execute(delete(metadata_drafts))

    def draft_set(self) -> MetadataSet:
        """The current release with the drafts applied: what publishing the drafts would publish."""
        with self.db.read() as conn:
            return self._draft_set(conn)

    def _draft_set(self, conn: Connection) -> MetadataSet:
        number = self.current_number(conn)
        items = dict((EMPTY if number is None else self._release(conn, number).metadata).items())
        for key, document in self._drafts(conn).items():
            if document is None:
                items.pop(key, None)
            else:
                items[key] = document
        return MetadataSet(items)

    # -- publishing ------------------------------------------------------------------------

    def publish(
        self,
        metadata: MetadataSet,
        *,
        author: str,
        message: str = "",
        source: str = "api",
        allow_destructive: bool = False,
        dry_run: bool = False,
        on_step: StepObserver | None = None,
        app: AppVersion | None = None,
        expect_base: int | None = None,
    ) -> PublishResult:
        """Publish `metadata` as the next release (see the module docstring). With `app`, the
        release is based on that app version (an install or upgrade): its shipped documents are
        kept, and a release is recorded even when no item changes. With `expect_base`, refused
        (`BaseMoved`) unless that release is still the current one: `metadata` was computed from it."""
        _validate(metadata)
        with self._transaction(dry_run) as conn:
            current = self.current_number(conn)
            if expect_base is not None and current != expect_base:
                raise BaseMoved(f"release {current} was published after release {expect_base}, which this "
                                f"change was computed from; nothing was changed: compute it again")
            apps = None if app is None else _AppChange(app, {**provenance.versions_at(conn, current),
                                                             app.app: app.version})
            return self._publish(conn, metadata, author, message, source, allow_destructive, dry_run, on_step,
                                 apps)

    def publish_drafts(self, *, author: str, message: str = "", allow_destructive: bool = False,
                       dry_run: bool = False) -> PublishResult:
        """Publish the current release with the drafts applied; the drafts are cleared in the same
        transaction, so they are either all published or all still there."""
        with self._transaction(dry_run) as conn:
            metadata = self._draft_set(conn)
            _validate(metadata)
            result = self._publish(conn, metadata, author, message, "drafts", allow_destructive, dry_run, None,
                                   None)
            if result.release is not None:
                conn.execute(delete(metadata_drafts))
            return result

    def _publish(self, conn: Connection, metadata: MetadataSet, author: str, message: str, source: str,
                 allow_destructive: bool, dry_run: bool, on_step: StepObserver | None,
                 apps: _AppChange | None) -> PublishResult:
        base_number = self.current_number(conn)
        base = EMPTY if base_number is None else self._release(conn, base_number).metadata
        number = (base_number or 0) + 1
        problems = rename_problems(base, metadata)
        if problems:
            raise MetadataInvalid(problems)
        moved = object_renames(base.objects, metadata.objects)
        renames = field_renames(as_renamed(base.objects, moved), metadata.objects)
        diff = diff_sets(base, metadata, renames, moved)
        plan = plan_storage(base.objects, metadata.objects, self.db.dialect, number, renames, moved)
        result = PublishResult(base_number, diff, plan, None)
        versions = provenance.versions_at(conn, base_number)
        if diff.empty and (apps is None or apps.versions == versions):
            return result
        if plan.destructive_steps and not allow_destructive:
            raise DestructiveChangeRefused(plan)
        if dry_run:
            return result
        tables = build_tables(metadata.objects)
        apply_plan(conn, plan, tables, on_step)
        if plan.rollups:
            rollups.fill(conn, metadata.objects, tables, plan.rollups,
                         EvaluationContext(timezone=self.timezone, now=self.clock()))
        if apps is not None and apps.app is not None:
            provenance.store_version(conn, apps.app, author, self.clock())
        info = self._record(conn, number, metadata, diff, plan, author, message, source)
        provenance.record(conn, number, metadata, versions if apps is None else apps.versions)
        return PublishResult(base_number, diff, plan, info)

    def rollback(self, number: int, *, author: str, allow_destructive: bool = False,
                 dry_run: bool = False) -> PublishResult:
        """Publish the content of release `number` again, as a new release based on the app
        versions release `number` was based on."""
        target = self.release(number)
        _validate(target.metadata)
        with self._transaction(dry_run) as conn:
            apps = _AppChange(None, provenance.versions_at(conn, number))
            return self._publish(conn, target.metadata, author, f"rollback to release {number}",
                                 f"rollback:{number}", allow_destructive, dry_run, None, apps)

    def purge(self, *, author: str, older_than: timedelta | None = None, dry_run: bool = False,
              on_step: StepObserver | None = None) -> PublishResult:
        """Drop what destructive publishes kept aside (set aside more than `older_than` ago, when
        given; items whose age is unknown are kept then). Recorded as a release with the current
        metadata and the drop steps as its plan, so history shows who purged what and when."""
        with self._transaction(dry_run) as conn:
            number = self.current_number(conn)
            if number is None:
                raise ReleaseNotFound("nothing to purge: no release is published yet")
            current = self._release(conn, number)
            steps = aside_storage(conn, self.db.schema, build_tables(current.metadata.objects))
            if older_than is not None:
                cutoff = self.clock() - older_than
                dates = dict(conn.execute(select(metadata_releases.c.number, metadata_releases.c.created_at)).all())
                steps = [s for s in steps if s.release in dates and _aware(dates[s.release]) <= cutoff]
            plan = StoragePlan(tuple(steps))
            result = PublishResult(number, MetadataDiff(()), plan, None)
            if plan.empty or dry_run:
                return result
            apply_plan(conn, plan, build_tables(current.metadata.objects), on_step)
            message = f"purge: {len(steps)} item(s) kept aside dropped"
            info = self._record(conn, number + 1, current.metadata, MetadataDiff(()), plan, author, message, "purge")
            provenance.record(conn, number + 1, current.metadata, provenance.versions_at(conn, number))
            return PublishResult(number, MetadataDiff(()), plan, info)

    def _transaction(self, dry_run: bool) -> AbstractContextManager[Connection]:
        return self.db.read() if dry_run else _publish_transaction(self.db)

    def _record(self, conn: Connection, number: int, metadata: MetadataSet, diff: MetadataDiff,
                plan: StoragePlan, author: str, message: str, source: str) -> ReleaseInfo:
        hashes = metadata.item_hashes()
        known = set(conn.execute(select(metadata_blobs.c.hash).where(
            metadata_blobs.c.hash.in_(set(hashes.values())))).scalars())
        fresh = {h: key for key, h in hashes.items() if h not in known}
        if fresh:
            conn.execute(insert(metadata_blobs), [
                {"hash": h, "document": json.dumps(metadata[key], ensure_ascii=False)} for h, key in fresh.items()])
        info = ReleaseInfo(number, author, message, self.clock(), metadata.content_hash,
                           source, diff.to_json(), plan.to_json())
        conn.execute(insert(metadata_releases).values(
            number=number, author=author, message=message, created_at=info.created_at,
            content_hash=info.content_hash, source=source,
            diff=json.dumps(info.diff, ensure_ascii=False), plan=json.dumps(info.plan, ensure_ascii=False)))
        if hashes:
            conn.execute(insert(metadata_release_items), [
                {"release": number, "kind": k, "name": n, "hash": h} for (k, n), h in hashes.items()])
        return info


@contextmanager
def _publish_transaction(db: Database) -> Iterator[Connection]:
    """A write transaction that may rebuild tables, holding the tenant's publish lock
    (SQLite's BEGIN IMMEDIATE already admits one writer; PostgreSQL takes an advisory lock)."""
    with db.write_for_table_rebuild() as conn:
        if db.dialect == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(f"publish:{db.schema}".encode()))))
        yield conn


def item_version(document: Mapping[str, Any] | None) -> str:
    """A short fingerprint of an item as drafted (\"absent\" when it does not exist), for
    editors that must not overwrite a change they have not seen."""
    if document is None:
        return "absent"
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class _AppChange:
    """The app versions a release will be based on, and the version being installed (if any)."""

    app: AppVersion | None
    versions: Mapping[str, str]


def _aware(moment: datetime) -> datetime:
    """SQLite hands back UTC date-times without their zone."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _validate(metadata: MetadataSet) -> None:
    errors = validate_set(metadata)
    if errors:
        raise MetadataInvalid(errors)


def _info(row: Row[Any]) -> ReleaseInfo:
    return ReleaseInfo(
        number=row.number, author=row.author, message=row.message, created_at=row.created_at,
        content_hash=row.content_hash, source=row.source, diff=json.loads(row.diff), plan=json.loads(row.plan),
    )
