"""Record-triggered rules: the write hook through which automation joins the records service.

Before-save rules change the records about to be written (`set_fields`) or refuse them
(`reject`); the record is then re-validated and its formulas recomputed, so a rule cannot
write what a user could not. After-save rules are planned in the same transaction and leave
it only as ledger rows (the outbox): if the write rolls back, nothing is sent.

Actions that write records run later, through the dispatcher, which writes with `depth + 1`;
a chain of rules triggering each other stops at MAX_DEPTH with a failed run saying so.

An after-save rule that cannot be planned (a value that cannot be evaluated, a template that
fails, one stopped by its rendering budget among them) fails that firing only: the run is
recorded failed with the reason, for the admin who wrote the rule, and the user's write commits.
A template's budgets keep that failure small and quick, so planning inside the write is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from trellis.metadata.model import localized
from trellis.runtime.automation.firing import Firing, Plan, Planner
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.errors import FieldProblem
from trellis.runtime.expressions import CompiledExpression, EvaluationError, evaluate
from trellis.runtime.expressions.evaluate import PREVIOUS
from trellis.runtime.records.hooks import AfterWrite, BeforeSave, WriteHook
from trellis.runtime.registry import Registry
from trellis.runtime.values.coercion import CoercionError

MAX_DEPTH = 5  # rule → record write → rule …: how deep a chain may go


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any], names: Sequence[str]) -> list[str] | None:
    """The fields an update changed; None for a creation (every field is new)."""
    if before is None:
        return None
    return [n for n in names if before.get(n) != after.get(n)]


class RuleHooks(WriteHook):
    """Runs the object's record-triggered rules: before-save ones on the drafts, after-save ones
    into the outbox. Stateless: everything comes from the write and the release's rule index."""

    def reads(self, registry: Registry, compiled: CompiledObject) -> Iterable[CompiledExpression]:
        return _before_save_expressions(registry, compiled.name)

    def before_save(self, save: BeforeSave) -> None:
        index = save.registry.automation
        if not index.before_save.get(save.compiled.name):
            return
        names = list(save.compiled.definition.fields)
        for draft in save.drafts:
            rules = index.on_save(save.compiled.name, "before_save", save.event,
                                  changed_fields(draft.before, draft.values, names))
            touched = False
            related = draft.related if draft.before is None else {**draft.related, PREVIOUS: dict(draft.before)}
            for rule in rules:
                try:
                    if rule.condition is not None and not evaluate(rule.condition, draft.values, related,
                                                                   save.context):
                        continue
                except EvaluationError as error:
                    draft.problems.append(FieldProblem("$", f"rule {rule.name}: the condition could not be checked: {error}"))
                    continue
                for action in rule.actions:
                    if action.type == "reject":
                        message = action.spec["message"]
                        labels = {"*": message} if isinstance(message, str) else message
                        draft.problems.append(FieldProblem("$", localized(labels, save.locale, f"rule {rule.name} refused it")))
                        continue
                    for name, expression in action.values.items():
                        try:
                            save.set_value(draft, name, evaluate(expression, draft.values, related, save.context))
                            touched = True
                        except (EvaluationError, CoercionError) as error:
                            draft.problems.append(FieldProblem(name, f"rule {rule.name} could not set it: {error}"))
            if touched and not draft.problems:
                save.recheck(draft)

    def after_write(self, write: AfterWrite) -> None:
        """Plan and record the after-save rules of the write; a restore counts as an update and a
        purge fires nothing (there is no record left to act on)."""
        if write.event == "purged":
            return
        event = "updated" if write.event == "restored" else write.event
        fire_after_save(write, event)


def _before_save_expressions(registry: Registry, object_name: str) -> Iterator[CompiledExpression]:
    """What before-save rules evaluate, so their looked-up values are loaded with the drafts'."""
    for rule in registry.automation.before_save.get(object_name, ()):
        yield from ([rule.condition] if rule.condition else [])
        yield from (e for action in rule.actions for e in action.values.values())


def fire_after_save(write: AfterWrite, event: str) -> list[Plan]:
    """Plan and record the after-save rules one write fires; returns what was recorded."""
    registry, compiled, context = write.registry, write.compiled, write.context
    index = registry.automation
    if not index.after_save.get(compiled.name):
        return []
    names = list(compiled.definition.fields) + ["owner_id"]
    chosen: list[tuple[Any, Mapping[str, Any], Mapping[str, Any] | None]] = []
    for before, after in write.changes:
        changed = changed_fields(before, after, names) if event == "updated" else None
        if event == "updated" and not changed:
            continue
        previous = before if event == "updated" else None
        chosen.extend((rule, after, previous) for rule in index.on_save(compiled.name, "after_save", event, changed))
    if not chosen:
        return []
    planner = Planner(write.conn, registry, context, write.locale, depth=write.depth)
    prepared = planner.prepare(compiled, [after for _, after, _ in chosen])
    plans = []
    for (rule, _, previous), (record, related) in zip(chosen, prepared, strict=True):
        if previous is not None:  # previous(field) in the condition and values reads the record before the save
            related = {**related, PREVIOUS: dict(previous)}
        # one firing per version of the record: a save fires a rule once, however fast saves come
        firing = Firing(rule, record, related, event, context.now, step=f"v{record.get('version')}")
        if write.depth >= MAX_DEPTH:
            plans.append(Plan(firing, "failed", f"stopped: rules triggered each other {write.depth} times in a row "
                                                f"(the limit is {MAX_DEPTH})"))
            continue
        plan = planner.plan(firing)
        if plan.outcome != "skipped":  # a save that does not match is not news; every save would log one
            plans.append(plan)
    return planner.record(plans)
