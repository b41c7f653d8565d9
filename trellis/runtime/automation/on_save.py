"""Record-triggered rules, run by the records service inside the write.

Before-save rules change the records about to be written (`set_fields`) or refuse them
(`reject`); the record is then re-validated and its formulas recomputed, so a rule cannot
write what a user could not. After-save rules are planned in the same transaction and leave
it only as ledger rows (the outbox): if the write rolls back, nothing is sent.

Actions that write records run later, through the dispatcher, which writes with `depth + 1`;
a chain of rules triggering each other stops at MAX_DEPTH with a failed run saying so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from trellis.metadata.model import localized
from trellis.runtime.automation.firing import Firing, Plan, Planner
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.errors import FieldProblem
from trellis.runtime.expressions import EvaluationContext, EvaluationError, evaluate
from trellis.runtime.records.coercion import CoercionError
from trellis.runtime.registry import Registry

if TYPE_CHECKING:  # the pipeline calls in here; importing it at run time would be circular
    from trellis.runtime.records.pipeline import Draft, Pipeline

MAX_DEPTH = 5  # rule → record write → rule …: how deep a chain may go


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any], names: Sequence[str]) -> list[str] | None:
    """The fields an update changed; None for a creation (every field is new)."""
    if before is None:
        return None
    return [n for n in names if before.get(n) != after.get(n)]


def apply_before_save(pipeline: Pipeline, drafts: Sequence[Draft]) -> None:
    """Run the object's before-save rules on clean drafts (see `Pipeline.run`)."""
    index = pipeline.registry.automation
    if not index.before_save.get(pipeline.obj.name):
        return
    names = list(pipeline.obj.fields)
    for draft in drafts:
        event = "created" if draft.before is None else "updated"
        rules = index.on_save(pipeline.obj.name, "before_save", event, changed_fields(draft.before, draft.values, names))
        touched = False
        for rule in rules:
            try:
                if rule.condition is not None and not evaluate(rule.condition, draft.values, draft.related, pipeline.context):
                    continue
            except EvaluationError as error:
                draft.problems.append(FieldProblem("$", f"rule {rule.name}: the condition could not be checked: {error}"))
                continue
            for action in rule.actions:
                if action.type == "reject":
                    message = action.spec["message"]
                    labels = {"*": message} if isinstance(message, str) else message
                    draft.problems.append(FieldProblem("$", localized(labels, pipeline.locale, f"rule {rule.name} refused it")))
                    continue
                for name, expression in action.values.items():
                    try:
                        value = evaluate(expression, draft.values, draft.related, pipeline.context)
                        draft.values[name] = pipeline.coercers[name](value, pipeline.context.timezone) \
                            if name in pipeline.coercers else value
                        touched = True
                    except (EvaluationError, CoercionError) as error:
                        draft.problems.append(FieldProblem(name, f"rule {rule.name} could not set it: {error}"))
        if touched and not draft.problems:
            pipeline.validate(draft)
            if not draft.problems:
                pipeline.compute_formulas(draft)


def fire_after_save(conn: Connection, registry: Registry, compiled: CompiledObject, event: str,
                    changes: Sequence[tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
                    context: EvaluationContext, locale: str, depth: int) -> list[Plan]:
    """Plan and record the after-save rules one write fires; returns what was recorded."""
    index = registry.automation
    if not index.after_save.get(compiled.name):
        return []
    names = list(compiled.definition.fields) + ["owner_id"]
    chosen: list[tuple[Any, Mapping[str, Any]]] = []
    for before, after in changes:
        changed = changed_fields(before, after, names) if event == "updated" else None
        if event == "updated" and not changed:
            continue
        chosen.extend((rule, after) for rule in index.on_save(compiled.name, "after_save", event, changed))
    if not chosen:
        return []
    planner = Planner(conn, registry, context, locale, depth=depth)
    prepared = planner.prepare(compiled, [after for _, after in chosen])
    plans = []
    for (rule, _), (record, related) in zip(chosen, prepared, strict=True):
        # one firing per version of the record: a save fires a rule once, however fast saves come
        firing = Firing(rule, record, related, event, context.now, step=f"v{record.get('version')}")
        if depth >= MAX_DEPTH:
            plans.append(Plan(firing, "failed", f"stopped: rules triggered each other {depth} times in a row "
                                                f"(the limit is {MAX_DEPTH})"))
            continue
        plan = planner.plan(firing)
        if plan.outcome != "skipped":  # a save that does not match is not news; every save would log one
            plans.append(plan)
    return planner.record(plans)
