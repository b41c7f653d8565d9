"""The admin web UI: server-rendered Starlette + Jinja2 pages."""

from trellis.designer.views import routes

__all__ = ["routes"]
