"""Finding 8 of the security review: files only their owner may read — the data folder (0700),
every SQLite file with its WAL (0600), the installation key (0600) — and secrets sealed with it."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.fernet import Fernet

from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation


def test_sqlite_files_and_folders_are_readable_by_their_owner_only(tmp_path: Path):
    """Records and password hashes live in these files: never 0644 on a shared machine."""
    settings = Settings(data_dir=tmp_path / "data")
    inst = Installation(settings)
    try:
        inst.create_tenant("acme")
        with inst.database("acme").write() as conn:  # WAL and shared-memory files appear on use
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        data = settings.data_dir
        assert _mode(data) == _mode(data / "tenants") == 0o700
        files = [data / "control.db", *sorted((data / "tenants").iterdir())]
        assert (data / "tenants" / "acme.db") in files and len(files) >= 3
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        inst.dispose()


def test_a_world_readable_database_is_narrowed_when_opened(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    Installation(settings).dispose()
    control = settings.data_dir / "control.db"
    control.chmod(0o644)
    Installation(settings).dispose()
    assert _mode(control) == 0o600


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_the_installation_key_readable_by_its_owner_only(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    inst = Installation(settings)
    try:
        inst.init()
        key = settings.data_dir / "secret.key"
        assert _mode(key) == 0o600
        sealed = inst.secrets.seal("s3cret")
        assert "s3cret" not in sealed
    finally:
        inst.dispose()
    again = Installation(settings)  # a restart reads the same key back
    try:
        assert again.secrets.open(sealed) == "s3cret"
    finally:
        again.dispose()
    given = Installation(Settings(data_dir=tmp_path / "other", secret_key=Fernet.generate_key().decode()))
    try:
        given.init()
        assert not (tmp_path / "other" / "secret.key").exists()  # the setting wins; no file is made
    finally:
        given.dispose()
