"""Each user's saved list views: a name and the list page's query string, per object.

Saving under a name the user already has for that object replaces it (the list page offers
"save as" with the current name). Only the owner reads or deletes their views.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.errors import FieldProblem, InvalidInput
from trellis.workspace.tables import workspace_views

MAX_NAME = 100
MAX_QUERY = 4000


@dataclass(frozen=True)
class SavedView:
    id: str
    object: str
    name: str
    query: str
    created_at: datetime


class SavedViews:
    def __init__(self, db: Database, user_id: str, clock: Clock = utc_now):
        self.db = db
        self.user_id = user_id
        self.clock = clock

    def list(self, object_name: str) -> list[SavedView]:
        v = workspace_views.c
        with self.db.read() as conn:
            rows = conn.execute(select(workspace_views).where(v.user_id == self.user_id, v.object == object_name)
                                .order_by(v.name)).mappings()
            return [SavedView(r["id"], r["object"], r["name"], r["query"], r["created_at"]) for r in rows]

    def save(self, object_name: str, name: str, query: str) -> str:
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput("invalid view", [FieldProblem("name", f"give the view a name of 1 to {MAX_NAME} characters")])
        if len(query) > MAX_QUERY:
            raise InvalidInput("invalid view", [FieldProblem("query", f"at most {MAX_QUERY} characters")])
        v = workspace_views.c
        mine = and_(v.user_id == self.user_id, v.object == object_name, v.name == name)
        with self.db.write() as conn:
            found = conn.execute(select(v.id).where(mine)).scalar()
            if found is not None:
                conn.execute(update(workspace_views).where(v.id == found).values(query=query))
                return str(found)
            view_id = new_id()
            conn.execute(insert(workspace_views).values(id=view_id, user_id=self.user_id, object=object_name,
                                                        name=name, query=query, created_at=self.clock()))
            return view_id

    def delete(self, view_id: str) -> bool:
        v = workspace_views.c
        with self.db.write() as conn:
            return bool(conn.execute(delete(workspace_views).where(v.id == view_id, v.user_id == self.user_id)).rowcount)
