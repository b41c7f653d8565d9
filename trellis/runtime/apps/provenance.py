"""What the store records about apps inside every publish's transaction (see `apps/__init__`).

`versions_at` says which app versions a release is based on; `store_version` keeps the shipped
documents of a version being installed; `record` writes a release's app versions and the
provenance of each of its items, computed by `trellis.metadata.overlays.provenance` against the
shipped documents. Nothing here decides anything: the store calls it, in its own transaction, so
a release and its provenance are written together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from trellis.metadata.documents import content_hash
from trellis.metadata.model import ItemKey, MetadataSet
from trellis.metadata.overlays import CUSTOMISED, Origin, provenance
from trellis.metadata.packages import AppVersion
from trellis.runtime.apps.tables import app_version_items, app_versions, release_apps, release_provenance
from trellis.runtime.release_tables import metadata_blobs


def versions_at(conn: Connection, release: int | None) -> dict[str, str]:
    """App name -> installed version, as of `release` (none before the first release)."""
    if release is None:
        return {}
    rows = conn.execute(select(release_apps.c.app, release_apps.c.version)
                        .where(release_apps.c.release == release)).all()
    return {app: version for app, version in rows}


def shipped(conn: Connection, versions: Mapping[str, str]) -> dict[str, MetadataSet]:
    """The documents each of these app versions shipped, as installed in this tenant."""
    out: dict[str, MetadataSet] = {}
    for app, version in versions.items():
        rows = conn.execute(
            select(app_version_items.c.kind, app_version_items.c.name, metadata_blobs.c.document)
            .join(metadata_blobs, metadata_blobs.c.hash == app_version_items.c.hash)
            .where((app_version_items.c.app == app) & (app_version_items.c.version == version))).all()
        out[app] = MetadataSet({(kind, name): json.loads(document) for kind, name, document in rows})
    return out


def is_stored(conn: Connection, app: str, version: str) -> bool:
    return conn.execute(select(app_versions.c.app).where(
        (app_versions.c.app == app) & (app_versions.c.version == version))).first() is not None


def store_version(conn: Connection, app: AppVersion, author: str, now: datetime) -> None:
    """Keep the shipped documents of `app` (once: an installed version never changes)."""
    if is_stored(conn, app.app, app.version):
        return
    hashes = store_blobs(conn, {key: doc for key, doc in app.metadata.items()})
    conn.execute(insert(app_versions).values(app=app.app, version=app.version, stored_at=now, stored_by=author,
                                             label=json.dumps(dict(app.label), ensure_ascii=False)))
    if hashes:
        conn.execute(insert(app_version_items), [
            {"app": app.app, "version": app.version, "kind": k, "name": n, "hash": h} for (k, n), h in hashes.items()])


def store_blobs(conn: Connection, documents: Mapping[ItemKey, Mapping[str, Any]]) -> dict[ItemKey, str]:
    """Each document's content hash, storing the documents `metadata_blobs` lacks."""
    hashes = {key: content_hash(doc) for key, doc in documents.items()}
    known = set(conn.execute(select(metadata_blobs.c.hash).where(
        metadata_blobs.c.hash.in_(set(hashes.values())))).scalars()) if hashes else set()
    fresh = {h: key for key, h in hashes.items() if h not in known}
    if fresh:
        conn.execute(insert(metadata_blobs), [
            {"hash": h, "document": json.dumps(documents[key], ensure_ascii=False)} for h, key in fresh.items()])
    return hashes


def record(conn: Connection, release: int, metadata: MetadataSet, versions: Mapping[str, str]) -> list[Origin]:
    """Write the app versions and the provenance of release `release` (already inserted)."""
    if versions:
        conn.execute(insert(release_apps), [{"release": release, "app": a, "version": v} for a, v in versions.items()])
    origins = provenance(shipped(conn, versions), metadata)
    if origins:
        conn.execute(insert(release_provenance), [_row(release, origin) for origin in origins])
    return origins


def origins_at(conn: Connection, release: int) -> list[Origin]:
    """The provenance recorded with `release`."""
    rows = conn.execute(select(release_provenance).where(release_provenance.c.release == release)
                        .order_by(release_provenance.c.kind, release_provenance.c.name)).all()
    out: list[Origin] = []
    for row in rows:
        patch: Any = None if row.patch is None else json.loads(row.patch)
        whole = isinstance(patch, list)  # ["whole", document]; a merge patch of a document is an object
        out.append(Origin((row.kind, row.name), row.state, row.app, patch[1] if whole else patch, whole))
    return out


def _row(release: int, origin: Origin) -> dict[str, Any]:
    patch = None
    if origin.state == CUSTOMISED:
        patch = json.dumps(["whole", origin.patch] if origin.whole else origin.patch, ensure_ascii=False)
    return {"release": release, "kind": origin.key[0], "name": origin.key[1], "state": origin.state,
            "app": origin.app, "patch": patch}
