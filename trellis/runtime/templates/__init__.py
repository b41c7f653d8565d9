"""Message templates: Jinja2 in its sandbox, rendered within budgets, in the tenant's locale.

Tenant admins write these templates, and a record-triggered rule renders them inside an
ordinary user's write, so no template may exhaust the process that renders it:

- `engine`: `Templates` (compile, cache, render; money and dates in the tenant's locale) and
  the cap on output (MAX_OUTPUT characters);
- `budget`: what one rendering may build (MAX_VALUES characters and items in all), the steps it
  may take (MAX_STEPS) and the numbers range() may make (MAX_RANGE);
- `sandbox`, `metering`, `filters`, `sizes`: where the budget is charged: Jinja's sandbox, the
  code it compiles to, the filters and tests, and the bounds of operations that can build far
  more than they are given (`'x'.center(10**9)`, format widths);
- `errors`: TemplateError, the one error all of it raises.

What a template may use (filters, tests, functions, the names a rule's template sees) is named
in `trellis.metadata.templates`, which publish checks templates against.
"""

from trellis.metadata.templates import MAX_OUTPUT, MAX_RANGE, MAX_SOURCE
from trellis.runtime.templates.budget import MAX_STEPS, MAX_VALUES
from trellis.runtime.templates.engine import CompiledTemplate, Templates, json_text
from trellis.runtime.templates.errors import TemplateError

__all__ = ["MAX_OUTPUT", "MAX_RANGE", "MAX_SOURCE", "MAX_STEPS", "MAX_VALUES", "CompiledTemplate", "TemplateError",
           "Templates", "json_text"]
