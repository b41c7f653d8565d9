"""The one error templates raise, and where in the template it happened."""

from __future__ import annotations

import jinja2


class TemplateError(Exception):
    """A template cannot be compiled or rendered; the message says where and why."""


def located(error: Exception) -> str:
    """The error's message, after the template line it happened on when Jinja tells us."""
    line = None
    trace = error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    if isinstance(error, TemplateError | jinja2.TemplateError):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return f"line {line}: {text}" if line else text
