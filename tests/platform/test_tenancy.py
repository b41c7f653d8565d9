"""Tenants: creation, isolation, validation and migration, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.helpers import schema_snapshot
from trellis.platform import migrations
from trellis.platform.settings import Settings, SettingsError
from trellis.platform.tenancy import Installation, TenantError


def test_a_tenant_gets_its_own_system_tables(installation: Installation):
    tenant = installation.create_tenant("acme", "Europe/Paris", "en")
    assert (tenant.timezone, tenant.locale) == ("Europe/Paris", "en")
    tables = installation.database("acme").table_names()
    assert {"metadata_releases", "metadata_release_items", "metadata_blobs", "metadata_drafts",
            "alembic_version"} <= tables
    assert [t.name for t in installation.tenants()] == ["acme"]


def test_defaults_come_from_settings(installation: Installation):
    tenant = installation.create_tenant("acme")
    assert (tenant.timezone, tenant.locale) == ("Asia/Shanghai", "zh-CN")


def test_tenants_are_physically_isolated(installation: Installation):
    installation.create_tenant("acme")
    installation.create_tenant("globex")
    acme, globex = installation.database("acme"), installation.database("globex")
    with acme.write() as conn:
        conn.execute(text("CREATE TABLE only_here (x INTEGER)"))
    assert "only_here" in acme.table_names()
    assert "only_here" not in globex.table_names()
    with globex.read() as conn, pytest.raises(DBAPIError):
        conn.execute(text("SELECT * FROM only_here"))
    if installation.settings.is_postgresql:
        assert (acme.schema, globex.schema) == ("tenant_acme", "tenant_globex")
    else:
        assert Path(installation.tenant("acme").location).name == "acme.db"


def test_creating_a_tenant_twice_is_a_clear_error(installation: Installation):
    installation.create_tenant("acme")
    with pytest.raises(TenantError, match="'acme' already exists"):
        installation.create_tenant("acme")
    assert len(installation.tenants()) == 1


@pytest.mark.parametrize("name", ["Acme", "acme_cn", "-acme", "acme-", "a--b", "1acme", "", "a" * 41, "ac me", "客户"])
def test_tenant_names_must_be_lowercase_slugs(installation: Installation, name: str):
    with pytest.raises(TenantError, match="lowercase slug"):
        installation.create_tenant(name)
    assert installation.tenants() == []


def test_bad_timezone_and_locale_are_refused(installation: Installation):
    with pytest.raises(SettingsError, match="time zone"):
        installation.create_tenant("acme", "Mars/Olympus")
    with pytest.raises(SettingsError, match="locale"):
        installation.create_tenant("acme", None, "fr")
    assert installation.tenants() == []


def test_unknown_tenant_names_the_known_ones(installation: Installation):
    installation.create_tenant("acme")
    with pytest.raises(TenantError, match="no tenant named 'globex' .*acme"):
        installation.database("globex")


def test_failed_tenant_creation_leaves_nothing_behind(installation: Installation, monkeypatch: pytest.MonkeyPatch):
    def broken_upgrade(conn, history, schema):  # type: ignore[no-untyped-def]
        conn.execute(text("CREATE TABLE half_done (x INTEGER)"))
        raise RuntimeError("migration failed half-way")

    installation.init()
    monkeypatch.setattr(migrations, "upgrade", broken_upgrade)
    with pytest.raises(RuntimeError, match="half-way"):
        installation.create_tenant("acme")
    monkeypatch.undo()
    assert installation.tenants() == []
    installation.create_tenant("acme")  # and the name is still free
    assert "half_done" not in installation.database("acme").table_names()


def test_migrate_is_idempotent_and_reports_each_tenant(installation: Installation):
    installation.create_tenant("acme")
    installation.create_tenant("globex")
    before = schema_snapshot(installation.database("acme"))
    revisions = installation.migrate()
    assert revisions == {"acme": migrations.head_revision("tenant"), "globex": migrations.head_revision("tenant")}
    assert schema_snapshot(installation.database("acme")) == before
    with installation.database("acme").read() as conn:
        assert migrations.current_revision(conn, installation.database("acme").schema) == revisions["acme"]


def test_settings_from_environment():
    settings = Settings.from_env({"TRELLIS_DATA_DIR": "/tmp/x", "TRELLIS_TIMEZONE": "UTC", "TRELLIS_LOCALE": "en",
                                  "TRELLIS_DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert (settings.data_dir, settings.default_timezone, settings.default_locale) == (Path("/tmp/x"), "UTC", "en")
    assert settings.is_postgresql
    assert Settings.from_env({}).database_url is None
    with pytest.raises(SettingsError, match="TRELLIS_DATABASE_URL"):
        Settings.from_env({"TRELLIS_DATABASE_URL": "mysql://x"})

