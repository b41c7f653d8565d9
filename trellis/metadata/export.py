"""Write a metadata set as files, the layout `load_folder` reads: one pretty JSON file per item."""

from __future__ import annotations

from pathlib import Path

from trellis.metadata.documents import pretty_json
from trellis.metadata.kinds import KIND_FOLDERS
from trellis.metadata.model import MetadataSet


def write_folder(metadata: MetadataSet, root: Path) -> list[Path]:
    """Write every item; remove `.json` files of known kinds that the set no longer has, so the
    folder is exactly the set (an export over a checked-out folder then diffs cleanly)."""
    written: list[Path] = []
    for kind, folder in KIND_FOLDERS.items():
        directory = root / folder
        names = set(metadata.names(kind))
        if directory.is_dir():
            for stale in directory.glob("*.json"):
                if stale.stem not in names:
                    stale.unlink()
        for name in sorted(names):
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / f"{name}.json"
            path.write_text(pretty_json(metadata[(kind, name)]), encoding="utf-8")
            written.append(path)
    return written
