"""The app as an import string for uvicorn's worker processes (`trellis serve --workers N`):
each worker builds its own installation from the environment the CLI set up for it.

    uvicorn --factory trellis.server.asgi:create
"""

from __future__ import annotations

from starlette.applications import Starlette

from trellis.platform.settings import Settings
from trellis.platform.tenancy import Installation
from trellis.server.app import create_app


def create() -> Starlette:
    return create_app(Installation(Settings.from_env()))
