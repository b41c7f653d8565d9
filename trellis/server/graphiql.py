"""GraphiQL, the in-browser IDE at `/t/<tenant>/graphql`, and the Content-Security-Policy it needs.

The page comes from strawberry: an inline script and inline styles, and React and GraphiQL from
unpkg.com (pinned, with subresource integrity). So its policy allows that CDN and exactly the
page's own inline scripts (by their SHA-256, computed here from the page as served), inline
styles, and requests to this server only; framing stays forbidden. The designer issue serves
GraphiQL from the package, and then the CDN leaves this policy.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

from starlette.responses import HTMLResponse
from strawberry.http.ides import get_graphql_ide_html

CDN = "https://unpkg.com"
TOKEN_HINT = '{"Authorization": "Bearer <your token: trellis token create>"}'
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _page() -> str:
    html = get_graphql_ide_html()
    # open the headers pane pre-filled with the header the API needs
    html = html.replace("<title>Strawberry GraphiQL</title>", "<title>Trellis GraphQL</title>")
    return html.replace("React.useState(parameters.headers)",
                        f"React.useState(parameters.headers || {json.dumps(TOKEN_HINT)})")


def _policy(html: str) -> str:
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
                      for script in _INLINE_SCRIPT.findall(html))
    return "; ".join([
        "default-src 'none'", f"script-src {CDN} {hashes}", f"style-src {CDN} 'unsafe-inline'",
        f"font-src {CDN} data:", "img-src 'self' data:", "connect-src 'self'",
        "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ])


PAGE = _page()
POLICY = _policy(PAGE)


def graphiql() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": POLICY})
