"""Apps shipped with Trellis, each a package folder with an `app.json` (see
`trellis.metadata.packages`): `renewals`. Built-in apps may import the platform, metadata and
runtime; nothing but the CLI imports them (tests/test_layers.py)."""

from pathlib import Path

#: The folder whose sub-folders with an `app.json` are the built-in app packages.
APPS_FOLDER = Path(__file__).resolve().parent
