"""Installed app versions and release provenance (migration t0008).

Defined on the shared tenant `MetaData` beside the feature that owns them; the migrations in
`migrations/tenant/` create them and tests/platform/test_system_tables.py keeps both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from trellis.platform.sqltypes import UtcDateTime
from trellis.platform.system_tables import tenant_metadata

#: Every app version this tenant has installed at some point, kept so that any later release
#: can be compared with (and upgraded from) exactly what was installed.
app_versions = Table(
    "app_versions",
    tenant_metadata,
    Column("app", String(40), primary_key=True),
    Column("version", String(20), primary_key=True),
    Column("label", Text, nullable=False),  # JSON {language: text}
    Column("stored_at", UtcDateTime(), nullable=False),
    Column("stored_by", String(255), nullable=False),
)

#: The shipped documents of each installed version (in `metadata_blobs`, by content hash).
app_version_items = Table(
    "app_version_items",
    tenant_metadata,
    Column("app", String(40), primary_key=True),
    Column("version", String(20), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("hash", String(64), ForeignKey("metadata_blobs.hash"), nullable=False),
)

#: The app versions each release is based on: rollback to a release restores them too.
release_apps = Table(
    "release_apps",
    tenant_metadata,
    Column("release", Integer, ForeignKey("metadata_releases.number"), primary_key=True),
    Column("app", String(40), primary_key=True),
    Column("version", String(20), nullable=False),
)

#: Each item of each release (and each app item it lacks): shipped, customised (with the merge
#: patch), removed or the tenant's own, computed when the release was published.
release_provenance = Table(
    "release_provenance",
    tenant_metadata,
    Column("release", Integer, ForeignKey("metadata_releases.number"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("state", String(16), nullable=False),  # shipped, customised, removed, tenant
    Column("app", String(40), nullable=True),
    Column("patch", Text, nullable=True),  # JSON merge patch (customised), or ["whole", document]
)
