"""A request refused before (or instead of) GraphQL execution: its HTTP status and a
GraphQL-shaped error body with a stable code."""

from __future__ import annotations

from starlette.responses import JSONResponse

from trellis.runtime.graphql import error_body


class HttpProblem(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self, close: bool = False) -> JSONResponse:
        """`close`: the request's body was not read (whole); the connection is closed after the
        answer instead of the server reading the rest to reach the next request."""
        headers = {"WWW-Authenticate": 'Bearer realm="trellis"'} if self.status == 401 else {}
        if close:
            headers["Connection"] = "close"
        return JSONResponse(error_body(self.code, self.message), status_code=self.status, headers=headers)
