"""`Handover.run`: check, count, and (unless a dry run) move, in one transaction.

Refused before anything is written: a non-admin caller, an unknown or deactivated receiver, a
receiver who is the leaver, an unknown object, a filter that does not compile. A failure after
the first write rolls the whole transaction back, so nothing is ever half-moved.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.ids import new_id
from trellis.runtime.access import Actor
from trellis.runtime.errors import Forbidden
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.handover import moves
from trellis.runtime.handover.moves import ObjectScope, Scope
from trellis.runtime.handover.scope import HandoverRequest, HandoverResult, chosen_objects, parties
from trellis.runtime.query.columns import ColumnResolver
from trellis.runtime.query.filters import FilterCompiler
from trellis.runtime.registry import Registry


class Handover:
    """Handovers of one tenant's current release (its `Registry`)."""

    def __init__(self, db: Database, registry: Registry, timezone: ZoneInfo, clock: Clock = utc_now):
        self.db = db
        self.registry = registry
        self.timezone = timezone
        self.clock = clock

    def run(self, actor: Actor, request: HandoverRequest) -> HandoverResult:
        if not actor.policy.is_admin:
            raise Forbidden("only admins may hand over another user's records and work")
        context = EvaluationContext(timezone=self.timezone, now=self.clock())
        if request.dry_run:
            with self.db.read() as conn:
                return self._count(conn, self._scope(conn, actor, request, context), request, None)
        with self.db.write() as conn:
            scope = self._scope(conn, actor, request, context)
            result = self._count(conn, scope, request, new_id())
            self._move(conn, actor, request, scope, result, context)
            return result

    def _scope(self, conn: Connection, actor: Actor, request: HandoverRequest, context: EvaluationContext) -> Scope:
        leaver, receiver = parties(conn, request, self.registry.tenant)
        names = chosen_objects(list(self.registry.tables), request.objects)
        filters = FilterCompiler(ColumnResolver(self.registry, context, self.db.dialect), actor)
        objects = []
        for name in names:
            table = self.registry.tables[name]
            chosen = None if request.where is None else filters.compile(name, request.where, path=f"where ({name})")
            owned = table.c.owner_id == leaver.id
            objects.append(ObjectScope(name, table, chosen, owned if chosen is None else owned & chosen))
        return Scope(leaver, receiver, objects, restricted=bool(request.objects) or request.where is not None)

    def _count(self, conn: Connection, scope: Scope, request: HandoverRequest, handover_id: str | None) -> HandoverResult:
        redirected, dropped = moves.count_deliveries(conn, scope, self.registry.automation)
        notes = ("the leaver is still active: deactivate them afterwards (`trellis user deactivate`) so that "
                 "nothing new is assigned to them",) if scope.leaver.active else ()
        return HandoverResult(
            id=handover_id, from_user=scope.leaver.email, to_user=scope.receiver.email, dry_run=request.dry_run,
            objects=tuple(moves.count_records(conn, o) for o in scope.objects),
            deliveries=redirected, deliveries_dropped=dropped, approval_tasks=moves.count_approvals(conn, scope),
            tasks=moves.count_tasks(conn, scope), notes=notes)

    def _move(self, conn: Connection, actor: Actor, request: HandoverRequest, scope: Scope, result: HandoverResult,
              context: EvaluationContext) -> None:
        """Queued work first (it finds the leaver's records by their owner), records last."""
        assert result.id is not None
        at, dialect = context.now, self.db.dialect
        moves.move_deliveries(conn, scope, self.registry.automation, result.id)
        moves.move_approvals(conn, scope, at, actor.user_id, result.id, dialect)
        moves.move_tasks(conn, scope)
        for obj, counted in zip(scope.objects, result.objects, strict=True):
            if counted.records:
                moves.move_records(conn, obj, scope.leaver, scope.receiver, at, actor.user_id, dialect)
        moves.audit_event(conn, result.id, at, actor.user_id, {**result.summary(), "where": request.where})
