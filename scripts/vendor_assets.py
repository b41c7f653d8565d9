"""Fetch the designer's and the workspace's browser assets from the npm registry at pinned versions, offline afterwards.

Each package's tarball is downloaded from registry.npmjs.org, checked against the sha512
`integrity` the registry publishes for that version (a mismatch stops the script and writes
nothing), and only the files the pages load are copied, with the package's licence, into
`trellis/designer/static/vendor/<package>/`. `manifest.json` there records package@version,
the integrity and the files, so a reviewer can re-check them; `tests/designer` does.

    python scripts/vendor_assets.py          # re-fetch everything (needs the registry)
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
VENDOR = Path(__file__).resolve().parent.parent / "trellis" / "designer" / "static" / "vendor"

#: package -> (version, files inside the package to keep)
PINNED: dict[str, tuple[str, tuple[str, ...]]] = {
    "htmx.org": ("2.0.4", ("dist/htmx.min.js",)),
    "react": ("18.2.0", ("umd/react.production.min.js",)),
    "react-dom": ("18.2.0", ("umd/react-dom.production.min.js",)),
    "graphiql": ("3.8.3", ("graphiql.min.js", "graphiql.min.css")),
    # the workspace dashboard's charts; Apache-2.0, so its NOTICE travels with it
    "echarts": ("5.6.0", ("dist/echarts.min.js", "NOTICE")),
}
LICENCES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https registry
        return bytes(response.read())


def _check_integrity(data: bytes, integrity: str, name: str) -> None:
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"{name}: the registry gives a {algorithm} integrity; expected sha512")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
    if actual != expected:
        raise SystemExit(f"{name}: the tarball's sha512 does not match the registry's integrity; nothing written")


def fetch(name: str, version: str, keep: tuple[str, ...]) -> dict[str, object]:
    """Download, verify and unpack one package; the manifest entry for it."""
    meta = json.loads(_get(f"{REGISTRY}/{name}/{version}"))
    tarball = _get(meta["dist"]["tarball"])
    _check_integrity(tarball, meta["dist"]["integrity"], f"{name}@{version}")
    target = VENDOR / name
    shutil.rmtree(target, ignore_errors=True)
    written: list[str] = []
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        members = {m.name.removeprefix("package/"): m for m in archive.getmembers() if m.isfile()}
        licence = next((f for f in LICENCES if f in members), None)
        for inner in (*keep, *([licence] if licence else [])):
            member = members.get(inner)
            if member is None:
                raise SystemExit(f"{name}@{version} has no {inner}")
            extracted = archive.extractfile(member)
            assert extracted is not None
            out = target / Path(inner).name
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(extracted.read())
            written.append(out.name)
    return {"version": version, "integrity": meta["dist"]["integrity"], "tarball": meta["dist"]["tarball"],
            "licence": meta.get("license"), "files": written}


def main() -> int:
    manifest = {name: fetch(name, version, keep) for name, (version, keep) in PINNED.items()}
    (VENDOR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    for name, entry in manifest.items():
        print(f"{name}@{entry['version']}: {', '.join(entry['files'])}")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
