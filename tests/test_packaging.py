"""The distribution: every package is listed, and a plain wheel carries what `trellis` needs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from trellis.platform import migrations

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "trellis").rglob("__init__.py")}
    assert found | {"trellis.migrations"} == listed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a clean copy: setuptools keeps a build/ folder in the source tree and would
    # happily package stale modules from an earlier build.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("trellis", "migrations"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(source)], check=True)
    return next(out.glob("trellis-*.whl"))


def test_wheel_carries_migrations_meta_schemas_and_the_console_script(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "trellis/migrations/env.py" in names
    assert any(n.startswith("trellis/migrations/tenant/") for n in names)
    assert any(n.startswith("trellis/migrations/control/") for n in names)
    assert {f"trellis/metadata/meta_schemas/{kind}.schema.json" for kind in ("object", "role")} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "trellis = trellis.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_migrates_outside_the_checkout(wheel: Path, tmp_path: Path):
    """Unpack the wheel (as an installer would) and run the CLI from another folder, with the
    checkout nowhere on sys.path: migrations must come from the installed package."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site), "TRELLIS_DATA_DIR": str(tmp_path / "data")}
    env.pop("TRELLIS_DATABASE_URL", None)
    probe = "import trellis.migrations as m; print(m.__file__)"
    located = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert located.stdout.startswith(str(site)), located.stdout + located.stderr
    for argv in (["tenant", "create", "acme"], ["migrate"]):
        done = subprocess.run([sys.executable, "-m", "trellis.cli", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert f"acme: {migrations.head_revision('tenant')}" in done.stdout
