"""The renewals app, as metadata: `objects/`, `workflow_rules/` and `app.json` in this folder,
plus the demo-data generator (`demo_data`)."""

from pathlib import Path

#: The app's metadata folder, as `trellis metadata apply` reads it.
APP_FOLDER = Path(__file__).resolve().parent
