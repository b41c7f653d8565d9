"""Preview: every message and action the timed rules would cause over the next days, rendered,
without sending or recording anything — for the published rules or for the drafts
(`draft_registry`).

It runs the scheduler's own search (`due_firings`) and the planner the scheduler uses, in a
read transaction, so what the preview shows is what the worker will do. Each firing is judged as
of its due instant: live formulas (`days_between(today(), end_date)`), the condition and the
templates see the day it falls due, as the worker will then (a record edited before the day
comes is planned again then).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from trellis.metadata import MetadataInvalid, validate_set
from trellis.platform.db import Database
from trellis.runtime.automation.firing import Planner
from trellis.runtime.automation.scheduler import due_firings
from trellis.runtime.errors import NotFound
from trellis.runtime.expressions import EvaluationContext
from trellis.runtime.records.related import compute_live
from trellis.runtime.registry import Registry, registry_for
from trellis.runtime.releases import MetadataStore

MAX_DAYS = 366


@dataclass(frozen=True)
class PreviewItem:
    day: date  # the local date it falls due
    due_at: datetime
    rule: str
    object: str
    record_id: str
    step: str
    outcome: str  # fired, skipped, failed
    reason: str | None
    kind: str | None  # the action type; None when the firing plans nothing
    channel: str | None  # the message channel; None for an action that sends no message
    recipient: str | None
    subject: str | None
    body: str | None


def draft_registry(store: MetadataStore, current: Registry) -> Registry:
    """The tenant's drafts over the current release, to preview them: validated as publishing
    them would be (MetadataInvalid otherwise), over the current release's tables."""
    drafts = store.draft_set()
    errors = validate_set(drafts)
    if errors:
        raise MetadataInvalid(errors)
    return registry_for(current.tenant, current.release, drafts)


def preview(db: Database, registry: Registry, timezone: ZoneInfo, locale: str, now: datetime, days: int,
            rule_name: str | None = None) -> list[PreviewItem]:
    """What the timed rules would do in (now, now + days], day by day."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be between 1 and {MAX_DAYS}; got {days}")
    rules = [r for r in registry.automation.timed if rule_name is None or r.name == rule_name]
    if rule_name is not None and not rules:
        known = ", ".join(sorted(r.name for r in registry.automation.timed)) or "none"
        raise NotFound(f"no active date or schedule rule named '{rule_name}' (rules: {known})")
    items: list[PreviewItem] = []
    with db.read() as conn:
        planner = Planner(conn, registry, EvaluationContext(timezone, now), locale)
        on_the_day: dict[datetime, Planner] = {}  # one per due instant: a few per day at most
        for rule in rules:
            compiled = registry.compiled[rule.object]
            for found in due_firings(conn, planner, rule, now, now + timedelta(days=days), timezone):
                day_planner = on_the_day.get(found.due_at)
                if day_planner is None:
                    day_planner = on_the_day[found.due_at] = Planner(
                        conn, registry, EvaluationContext(timezone, found.due_at), locale)
                record = dict(found.record)
                compute_live(compiled, record, found.related, day_planner.context)
                firing = replace(found, record=record)
                plan = day_planner.plan(firing)
                if rule.kind == "schedule" and plan.outcome == "skipped":
                    continue
                fired = PreviewItem(day=firing.due_at.astimezone(timezone).date(), due_at=firing.due_at,
                                    rule=rule.name, object=rule.object, record_id=firing.record_id, step=firing.step,
                                    outcome=plan.outcome, reason=plan.reason, kind=None, channel=None, recipient=None,
                                    subject=None, body=None)
                if not plan.deliveries:
                    items.append(fired)
                for d in plan.deliveries:
                    items.append(replace(fired, kind=d.kind, channel=d.channel or None, recipient=d.recipient,
                                         subject=d.payload.get("subject") or d.payload.get("title"),
                                         body=d.payload.get("body") or d.payload.get("description")))
    items.sort(key=lambda i: (i.due_at, i.rule, i.record_id, i.channel or i.kind or "", i.recipient or ""))
    return items
