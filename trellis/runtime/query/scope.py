"""Which rows an actor may touch: the one predicate every read, write and filter path adds.

Own-only scopes compare `owner_id`; soft-deleted rows are invisible unless asked for. Applying
this in one place is what keeps lists, counts, aggregates and lookup filters from leaking rows.
"""

from __future__ import annotations

from sqlalchemy import false, true
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from trellis.runtime.access import Action, Actor, Scope


def visible(table: FromClause, actor: Actor, object_name: str, action: Action = "read",
            include_deleted: bool = False) -> ColumnElement[bool]:
    scope = actor.policy.scope(object_name, action)
    if scope is Scope.NONE:
        return false()
    condition: ColumnElement[bool] = true() if include_deleted else table.c.deleted_at.is_(None)
    if scope is Scope.OWN:
        condition = condition & (table.c.owner_id == actor.user_id)
    return condition
