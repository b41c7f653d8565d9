"""GraphiQL, the in-browser IDE at `/t/<tenant>/graphql`, served entirely by Trellis.

React, ReactDOM and GraphiQL come from their npm packages at pinned versions, vendored under
`trellis/designer/static/vendor/` (scripts/vendor_assets.py, checked against the registry's
integrity), and the page's start-up code is a served file (`/static/graphiql-init.js`), so the
IDE works on a network without internet and its policy allows scripts from this server only.
GraphiQL sets inline styles as it lays itself out, so styles may be inline; nothing else is.
"""

from __future__ import annotations

from starlette.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Trellis GraphQL</title>
<link rel="stylesheet" href="/static/vendor/graphiql/graphiql.min.css">
<link rel="stylesheet" href="/static/graphiql.css">
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="/static/vendor/react/react.production.min.js"></script>
<script src="/static/vendor/react-dom/react-dom.production.min.js"></script>
<script src="/static/vendor/graphiql/graphiql.min.js"></script>
<script src="/static/graphiql-init.js"></script>
</body>
</html>
"""

POLICY = "; ".join([
    "default-src 'none'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "font-src 'self' data:",
    "img-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:", "base-uri 'none'", "form-action 'none'",
    "frame-ancestors 'none'",
])


def graphiql() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": POLICY})
