"""The workspace: the web pages the renewals team works in, generated from metadata.

Lists, record pages and forms for every object of the tenant's release, and "my work" (what
expires, who is at risk, my tasks, approvals and notifications), all through the records
service and the query compiler with the signed-in user's permissions. It reuses the designer's
request pipeline (sign-in, sessions, CSRF, languages): it may import platform, metadata, runtime
and designer; the server mounts it.

Where things are: `list_pages` (lists, CSV, saved views), `record_pages` (one record),
`form_pages` (create, edit, lookups), `home` (my work); `routes` wires them.
"""

from trellis.workspace.routes import routes

__all__ = ["routes"]
