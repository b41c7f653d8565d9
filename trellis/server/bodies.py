"""Request bodies read with a limit as they stream in.

The limit is counted on the bytes that arrive, not on what `Content-Length` says: a chunked body
has none, and a client may lie. So a body over the limit costs the server the limit, never the
body: reading stops at the first chunk past it. (Callers authenticate first, from the headers,
so a request without a valid token costs not even that.)
"""

from __future__ import annotations

from starlette.requests import Request

from trellis.server.problems import HttpProblem


def too_large(limit: int) -> HttpProblem:
    return HttpProblem(413, "BAD_REQUEST", f"the request body is larger than {limit:,} bytes; "
                                           "send a smaller query (variables count too)")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or HttpProblem 413 as soon as more than `limit` bytes are declared or
    have arrived."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)
