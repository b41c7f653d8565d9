"""Workflow rules compiled once per release: triggers typed, expressions parsed, and an index of
which rules fire on which object, event and field.

A request that saves a contract asks `RuleIndex.on_save("contract", "updated", changed)` and
gets the few rules to run, without reading a rule document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from trellis.metadata.cron import CronSchedule, parse_cron
from trellis.metadata.model import MetadataSet, localized
from trellis.metadata.workflow_rules import DEFAULT_AT, DEFAULT_CATCH_UP, date_offsets
from trellis.runtime.expressions import CompiledExpression, compile_expression
from trellis.runtime.expressions.functions import months_later


@dataclass(frozen=True)
class CompiledAction:
    index: int
    type: str
    spec: Mapping[str, Any]
    values: Mapping[str, CompiledExpression] = field(default_factory=dict)  # set/update/create values


@dataclass(frozen=True)
class DateTrigger:
    """Fire `offset` units before (negative) or after the date in `field`, at `at` local time."""

    field: str
    offsets: tuple[int, ...]
    unit: str  # minutes, hours, days, months
    at: time
    timezone: ZoneInfo | None  # None: the tenant's
    timezone_field: str | None  # `field` or `lookup.field` holding an IANA name, per record

    def step(self, offset: int) -> str:
        """The ledger's name for one offset: '-30d', '+2h', '0d'."""
        sign = "+" if offset > 0 else ""
        return f"{sign}{offset}{self.unit[0] if self.unit != 'months' else 'mo'}"

    def due(self, anchor: date | datetime, offset: int, zone: ZoneInfo) -> datetime:
        """The instant an offset falls due for one date value, in UTC terms (aware)."""
        if self.unit in ("days", "months"):
            day = anchor.astimezone(zone).date() if isinstance(anchor, datetime) else anchor
            day = months_later(day, offset) if self.unit == "months" else day + timedelta(days=offset)
            return datetime.combine(day, self.at, tzinfo=zone)
        delta = timedelta(minutes=offset) if self.unit == "minutes" else timedelta(hours=offset)
        if isinstance(anchor, datetime):
            return anchor + delta
        return datetime.combine(anchor, time(0), tzinfo=zone) + delta

    @property
    def span(self) -> timedelta:
        """How far apart the offsets lie: a date moved by less than this is the same cycle, so an
        offset that already fired for it is not repeated."""
        unit = {"minutes": timedelta(minutes=1), "hours": timedelta(hours=1), "days": timedelta(days=1),
                "months": timedelta(days=31)}[self.unit]
        return max(unit, unit * (self.offsets[-1] - self.offsets[0]))


@dataclass(frozen=True)
class CompiledWorkflowRule:
    name: str
    label: Mapping[str, str]
    object: str
    active: bool
    kind: str  # record, date, schedule
    events: frozenset[str]
    watched: frozenset[str] | None  # fields whose change fires an update (None: any change)
    timing: str  # before_save / after_save (record rules); after_save for the others
    date: DateTrigger | None
    cron: CronSchedule | None
    cron_timezone: ZoneInfo | None
    condition: CompiledExpression | None
    catch_up: str  # send_late or skip
    late_limit: timedelta  # send_late: how late a firing may still go out
    actions: tuple[CompiledAction, ...]

    def title(self, locale: str) -> str:
        return localized(self.label, locale, self.name)


@dataclass(frozen=True)
class RuleIndex:
    """The active rules of a release, indexed by what fires them."""

    rules: Mapping[str, CompiledWorkflowRule]
    before_save: Mapping[str, tuple[CompiledWorkflowRule, ...]]  # by object
    after_save: Mapping[str, tuple[CompiledWorkflowRule, ...]]  # by object
    timed: tuple[CompiledWorkflowRule, ...]  # date and schedule rules

    def on_save(self, object_name: str, timing: str, event: str,
                changed: Iterable[str] | None) -> list[CompiledWorkflowRule]:
        """Rules to run for one saved record; `changed` is None for a creation or deletion."""
        candidates = (self.before_save if timing == "before_save" else self.after_save).get(object_name, ())
        changed_set = None if changed is None else set(changed)
        return [rule for rule in candidates if event in rule.events and (
            event != "updated" or rule.watched is None or bool(changed_set and rule.watched & changed_set))]


EMPTY_INDEX = RuleIndex(MappingProxyType({}), MappingProxyType({}), MappingProxyType({}), ())


def compile_rules(metadata: MetadataSet) -> RuleIndex:
    """The rule index of a validated set."""
    rules = {name: compile_rule(name, doc) for name, doc in metadata.documents("workflow_rule").items()}
    active = [r for r in rules.values() if r.active]
    before: dict[str, list[CompiledWorkflowRule]] = {}
    after: dict[str, list[CompiledWorkflowRule]] = {}
    for rule in active:
        if rule.kind == "record":
            (before if rule.timing == "before_save" else after).setdefault(rule.object, []).append(rule)
    return RuleIndex(
        rules=MappingProxyType(rules),
        before_save=MappingProxyType({k: tuple(v) for k, v in before.items()}),
        after_save=MappingProxyType({k: tuple(v) for k, v in after.items()}),
        timed=tuple(r for r in active if r.kind != "record"),
    )


def compile_rule(name: str, document: Mapping[str, Any]) -> CompiledWorkflowRule:
    trigger = document["trigger"]
    kind = trigger["type"]
    catch_up = document.get("catch_up", DEFAULT_CATCH_UP)
    within = catch_up.get("within_days", DEFAULT_CATCH_UP["within_days"]) if catch_up["policy"] == "send_late" else 0
    label = document.get("x-label", {})
    return CompiledWorkflowRule(
        name=name,
        label={"*": label} if isinstance(label, str) else dict(label),
        object=document["object"],
        active=document.get("active", True),
        kind=kind,
        events=frozenset(trigger.get("events", ())),
        watched=frozenset(trigger["fields"]) if "fields" in trigger else None,
        timing=trigger.get("timing", "after_save"),
        date=_date_trigger(trigger) if kind == "date" else None,
        cron=parse_cron(trigger["cron"]) if kind == "schedule" else None,
        cron_timezone=ZoneInfo(trigger["timezone"]) if kind == "schedule" and "timezone" in trigger else None,
        condition=compile_expression(document["condition"]) if "condition" in document else None,
        catch_up=catch_up["policy"],
        late_limit=timedelta(days=within),
        actions=tuple(_action(i, a) for i, a in enumerate(document["actions"])),
    )


def _date_trigger(trigger: Mapping[str, Any]) -> DateTrigger:
    hours, minutes = trigger.get("at", DEFAULT_AT).split(":")
    return DateTrigger(
        field=trigger["field"],
        offsets=date_offsets(trigger),
        unit=trigger.get("unit", "days"),
        at=time(int(hours), int(minutes)),
        timezone=ZoneInfo(trigger["timezone"]) if "timezone" in trigger else None,
        timezone_field=trigger.get("timezone_field"),
    )


def _action(index: int, spec: Mapping[str, Any]) -> CompiledAction:
    values = {name: compile_expression(source) for name, source in spec.get("values", {}).items()}
    return CompiledAction(index=index, type=spec["type"], spec=spec, values=MappingProxyType(values))

