"""Security headers on every response, set in one place (ASGI middleware), not per page.

The default Content-Security-Policy allows scripts, styles and images from this server only
(never inline: no `<script>` in a page, no `onclick=`), forms posted to it only, and no framing; a response that needs more brings its own policy and keeps it (GraphiQL,
graphiql.py). The others hold for every response: no framing (`X-Frame-Options` for browsers
that predate `frame-ancestors`), no referrer leaving with a tenant's URLs, no MIME sniffing.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_POLICY = "; ".join(["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
                            "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'"])
HEADERS = {
    "Content-Security-Policy": DEFAULT_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
