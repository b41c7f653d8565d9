"""Errors the runtime raises to callers, each with a stable code the API layer passes through.

Codes follow the GraphQL `extensions.code` convention used in ARCHITECTURE §5. Field problems
carry the path of the field they concern, so a form (or an API client) can show each one where
it belongs. Every error means: nothing was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input value: `path` is the field (or `field.sub`, `$` for the record)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuntimeProblem(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, problems: Iterable[FieldProblem] = ()):
        self.message = message
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        detail = "; ".join(str(p) for p in self.problems)
        super().__init__(f"{message}: {detail}" if detail else message)


class InvalidInput(RuntimeProblem):
    """The input cannot be accepted as it is (validation, coercion, rules, unknown names).

    A refused batch also says which rows were bad: `rows` maps each row's position to its
    problems (paths relative to the row), so callers need not parse `rows[i].` out of paths."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, problems: Iterable[FieldProblem] = (),
                 rows: Mapping[int, Sequence[FieldProblem]] | None = None):
        super().__init__(message, problems)
        self.rows: Mapping[int, tuple[FieldProblem, ...]] = {i: tuple(ps) for i, ps in (rows or {}).items()}


class NotFound(RuntimeProblem):
    """No such record — or one the caller may not see (we do not say which)."""

    code = "NOT_FOUND"


class Conflict(RuntimeProblem):
    """The record changed since the caller read it (`expected_version`), or is still referenced."""

    code = "CONFLICT"


class Forbidden(RuntimeProblem):
    """The caller's roles do not allow this."""

    code = "FORBIDDEN"
