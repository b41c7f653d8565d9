"""The app as an import string for uvicorn's worker processes (`trellis serve --workers N`):
each worker builds its own installation from the environment the CLI set up for it.

    uvicorn --factory trellis.platform.asgi:create
"""

from __future__ import annotations

from starlette.applications import Starlette

from trellis.platform.app import create_app
from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation


def create() -> Starlette:
    return create_app(Installation(Settings.from_env()))
