"""Errors as API clients see them: a message and a stable `extensions.code`.

| code | when |
| --- | --- |
| `BAD_USER_INPUT` | invalid values, filters, sorts, pages, cursors; `extensions.problems` lists `{path, message}` |
| `NOT_FOUND` | no such record (or one the caller may not see) |
| `CONFLICT` | the record changed since it was read (`expectedVersion`), or is still referenced |
| `FORBIDDEN` | the caller's roles do not allow it (also filtering on a field they may not read) |
| `UNAUTHENTICATED` | no valid bearer token (HTTP 401) |
| `GRAPHQL_PARSE_FAILED` | the query is not GraphQL |
| `GRAPHQL_VALIDATION_FAILED` | the query does not fit the schema, or exceeds a limit (`extensions.limit`: depth, aliases, tokens, cost; `extensions.max`; for cost also `extensions.cost`, the estimate) |
| `TIMEOUT` | a database statement ran over the installation's statement timeout; its transaction was rolled back |
| `BAD_REQUEST` | the HTTP request is not a GraphQL request (no query, body not JSON) |
| `INTERNAL_SERVER_ERROR` | a bug: the details are logged, not sent |

Problem paths use the API's camelCase names and start at the argument they concern:
`input.endDate`, `inputs[2].amount`, `where.status._eq`, `orderBy[0]`, `first`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from trellis.platform.statement_timeout import StatementTimeout
from trellis.runtime.errors import InvalidInput, RuntimeProblem
from trellis.runtime.graphql.limits import MAX_TOKENS, TOKENS_MESSAGE, limit_error
from trellis.runtime.graphql.names import camel_path
from trellis.runtime.graphql.scalars import ScalarInputError
from trellis.runtime.identity.errors import Unauthenticated

log = logging.getLogger("trellis.graphql")

INTERNAL_MESSAGE = "internal error: the server could not complete this field (the details are in its log)"


class ApiError(Exception):
    """An error already in the API's terms (code, message, problems with API paths)."""

    def __init__(self, code: str, message: str, problems: Iterable[Mapping[str, str]] = ()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = list(problems)


def bad_input(path: str, message: str, summary: str = "invalid input") -> ApiError:
    return ApiError("BAD_USER_INPUT", summary, [{"path": path, "message": message}])


def api_error(error: RuntimeProblem, root: str | None = None, renames: Mapping[str, str] | None = None,
              batch: bool = False, inner: str = "") -> ApiError:
    """A records-service error with its problem paths in API spelling.

    `root` is the argument that held the record values (`input`; for a `batch`, `inputs` or
    `items`, whose service paths read `rows[i].field` — or just `field` for a batch of one);
    `inner` is where the values sit inside a batch item (`input`); `renames` maps service field
    names to API names where camelCase is not enough (a lookup `account` is sent as `accountId`)."""
    rows = error.rows if batch and isinstance(error, InvalidInput) else {}
    located = [(f"[{i}]", p) for i, problems in rows.items() for p in problems] if rows else \
        [("[0]" if batch else "", p) for p in error.problems]
    return ApiError(error.code, error.message, [
        {"path": _api_path(p.path, index, root, renames or {}, batch, inner), "message": p.message}
        for index, p in located])


def _api_path(path: str, index: str, root: str | None, renames: Mapping[str, str], batch: bool, inner: str) -> str:
    if root is None:
        return camel_path(path)
    head, dot, rest = path.partition(".")
    bracket = ""
    if "[" in head:
        head, bracket = head[:head.index("[")], head[head.index("["):]
    head = "" if head == "$" else renames.get(head) or camel_path(head)
    tail = f"{head}{bracket}{dot}{camel_path(rest) if rest else ''}"
    prefix = f"{root}{index}" + (f".{inner}" if batch and inner and tail else "")
    return prefix + (f".{tail}" if tail else "")


def classify(error: GraphQLError) -> tuple[str, str, list[Mapping[str, str]], dict[str, Any]]:
    """(code, message, problems, other extensions) of one error of an execution result."""
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, ApiError):
        return original.code, original.message, original.problems, {}
    if isinstance(original, RuntimeProblem):
        return original.code, original.message, [{"path": camel_path(p.path), "message": p.message}
                                                 for p in original.problems], {}
    if isinstance(original, Unauthenticated):
        return "UNAUTHENTICATED", str(original), [], {}
    if isinstance(original, StatementTimeout):
        return "TIMEOUT", str(original), [], {}
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return str(extensions.pop("code")), error.message, [], extensions
    if isinstance(error, GraphQLSyntaxError):
        if TOKENS_MESSAGE in error.message:
            limited = limit_error("tokens", MAX_TOKENS, f"the query has more than {MAX_TOKENS} tokens")
            return classify(limited)
        return "GRAPHQL_PARSE_FAILED", error.message, [], {}
    if isinstance(original, ScalarInputError) or error.message.startswith("Variable '$") \
            or type(original).__name__ == "StrawberryInputCoercionError":
        return "BAD_USER_INPUT", error.message, [], {}
    if original is None:
        return "GRAPHQL_VALIDATION_FAILED", error.message, [], {}
    return "INTERNAL_SERVER_ERROR", INTERNAL_MESSAGE, [], {}


def format_error(error: GraphQLError) -> dict[str, Any]:
    code, message, problems, extensions = classify(error)
    out: dict[str, Any] = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    out["extensions"] = {"code": code, **({"problems": list(problems)} if problems else {}), **extensions}
    return out


def format_errors(errors: Sequence[GraphQLError] | None) -> list[dict[str, Any]]:
    return [format_error(e) for e in errors or ()]


def log_unexpected(errors: Sequence[GraphQLError]) -> None:
    """Log the errors that are bugs (with their traceback); expected ones are the client's."""
    for error in errors:
        if classify(error)[0] == "INTERNAL_SERVER_ERROR":
            original = error.original_error
            log.error("GraphQL resolver failed at %s: %s", error.path, original,
                      exc_info=(type(original), original, original.__traceback__) if original else None)


def error_body(code: str, message: str) -> dict[str, Any]:
    """A GraphQL-shaped response body for errors found before execution (auth, bad requests)."""
    return {"errors": [{"message": message, "extensions": {"code": code}}]}
