"""The admin web UI: server-rendered Starlette + Jinja2 pages.

Imports the platform, metadata and runtime; only the server and the CLI import it
(tests/test_layers.py).
"""

from trellis.designer.views import routes

__all__ = ["routes"]
