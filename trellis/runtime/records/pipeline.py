"""The steps every write runs before it touches a table, for one record or a batch.

    input → known & editable names → coercion → defaults → JSON Schema → lookups exist and
    are visible → x-rules → stored formulas → before-save hooks (workflow rules, …)

Each step collects every problem of the record instead of stopping at the first, so a form shows
all of them at once. Nothing here writes; `trellis.runtime.records.service` does, in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from trellis.metadata.model import FieldDef, FieldType
from trellis.metadata.names import SETTABLE_SYSTEM_FIELDS
from trellis.runtime.access import Actor
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.errors import FieldProblem
from trellis.runtime.expressions import CompiledExpression, EvaluationContext, EvaluationError, evaluate
from trellis.runtime.query.scope import visible
from trellis.runtime.records.hooks import BeforeSave, SaveEvent, WriteHook
from trellis.runtime.records.messages import field_problems
from trellis.runtime.records.related import LOOKUP_BATCH, fetch_related
from trellis.runtime.values.coercion import CoercionError, coerce, coercer, for_validation, rounded

if TYPE_CHECKING:
    from trellis.runtime.registry import Registry


@dataclass
class Draft:
    """One record on its way to the table: the values it will have and what is wrong with it."""

    values: dict[str, Any]
    before: Mapping[str, Any] | None = None  # stored values, for updates
    problems: list[FieldProblem] = field(default_factory=list)
    related: dict[str, Mapping[str, Any] | None] = field(default_factory=dict)


class Pipeline:
    """Runs the write steps for one object on behalf of one actor, inside one transaction."""

    def __init__(self, conn: Connection, registry: Registry, compiled: CompiledObject, actor: Actor,
                 context: EvaluationContext, locale: str, hooks: Sequence[WriteHook] = ()):
        self.conn = conn
        self.hooks = hooks
        self.registry = registry
        self.compiled = compiled
        self.obj = compiled.definition
        self.actor = actor
        self.context = context
        self.locale = locale
        # resolved once per call, not once per cell
        self.editable = frozenset(n for n in self.obj.fields if actor.policy.can_edit_field(self.obj.name, n))
        self.coercers = {n: coercer(f) for n, f in self.obj.fields.items() if not f.computed}
        self.defaults = {n: self.coercers[n](f.schema["default"], context.timezone)
                         for n, f in self.obj.fields.items() if "default" in f.schema and not f.computed}

    # -- input ---------------------------------------------------------------------------------

    def accept(self, incoming: Mapping[str, Any], before: Mapping[str, Any] | None) -> Draft:
        """Check names and permissions, coerce values and merge them over `before` (or defaults)."""
        draft = Draft(values=dict(before) if before else {}, before=before)
        if not isinstance(incoming, Mapping):
            draft.problems.append(FieldProblem("$", "expected an object of field values"))
            return draft
        for name, raw in incoming.items():
            field_def = self.obj.fields.get(name)
            if name in SETTABLE_SYSTEM_FIELDS:
                if self.actor.policy.scope(self.obj.name, "update").value != "all":
                    draft.problems.append(FieldProblem(name, "only users who may update every record can change the owner"))
                elif raw is not None and not isinstance(raw, str):
                    draft.problems.append(FieldProblem(name, "expected a user id"))
                else:
                    draft.values[name] = raw
                continue
            if field_def is None:
                known = ", ".join(self.obj.fields)
                draft.problems.append(FieldProblem(name, f"unknown field of {self.obj.name}; fields: {known}"))
                continue
            if field_def.computed:
                draft.problems.append(FieldProblem(name, "is computed by Trellis and cannot be set"))
                continue
            if name not in self.editable:
                draft.problems.append(FieldProblem(name, "you may not edit this field"))
                continue
            try:
                draft.values[name] = self.coercers[name](raw, self.context.timezone)
            except CoercionError as error:
                draft.problems.append(FieldProblem(name, str(error)))
        if before is None:
            self._apply_defaults(draft, incoming)
        return draft

    def _apply_defaults(self, draft: Draft, incoming: Mapping[str, Any]) -> None:
        for name, value in self.defaults.items():
            if name not in incoming:
                draft.values[name] = list(value) if isinstance(value, list) else value  # never shared

    # -- checks --------------------------------------------------------------------------------

    def validate(self, draft: Draft) -> None:
        """The object's JSON Schema, on the record as it will be stored (computed fields aside)."""
        instance = {
            name: for_validation(value) for name, value in draft.values.items()
            if value is not None and name in self.obj.fields and not self.obj.fields[name].computed
        }
        quick = self.compiled.quick_check
        if quick is not None and quick(instance):
            return
        seen = {p.path for p in draft.problems}
        draft.problems.extend(p for p in field_problems(self.compiled.validator, instance) if p.path not in seen)

    def check_lookups(self, drafts: Sequence[Draft]) -> None:
        """Every lookup value names an existing record the actor may see (batched per field)."""
        for field_def in self.obj.fields.values():
            if field_def.type is not FieldType.LOOKUP or field_def.ref is None:
                continue
            wanted = {value for d in drafts if self._changed(d, field_def.name)
                      if (value := d.values.get(field_def.name)) is not None}
            found = self._visible_ids(field_def.ref, wanted)
            for draft in drafts:
                value = draft.values.get(field_def.name)
                if value is not None and self._changed(draft, field_def.name) and value not in found:
                    draft.problems.append(FieldProblem(
                        field_def.name, f"no {field_def.ref} with id '{value}' (or you may not see it)"))

    def _visible_ids(self, target: str, ids: set[str]) -> set[str]:
        table = self.registry.tables[target]
        found: set[str] = set()
        ordered = sorted(ids)
        for start in range(0, len(ordered), LOOKUP_BATCH):
            chunk = ordered[start:start + LOOKUP_BATCH]
            found.update(self.conn.execute(select(table.c.id).where(
                table.c.id.in_(chunk), visible(table, self.actor, target))).scalars())
        return found

    @staticmethod
    def _changed(draft: Draft, name: str) -> bool:
        return draft.before is None or draft.before.get(name) != draft.values.get(name)

    def load_related(self, drafts: Sequence[Draft], live_only: bool = False) -> None:
        """Values of looked-up records that formulas and rules read (`account.tier`), batched;
        reads need only those of live formulas. Read as the system: a formula's result must not
        depend on who saves the record."""
        expressions = [self.compiled.formulas[n] for n in self.compiled.live_order] if live_only \
            else list(self._expressions())
        needed = {base for expr in expressions for base, _ in expr.attributes}
        found = fetch_related(self.conn, self.registry, self.compiled, [d.values for d in drafts], needed)
        for draft, related in zip(drafts, found, strict=True):
            draft.related.update(related)

    def _expressions(self) -> Iterator[CompiledExpression]:
        yield from self.compiled.formulas.values()
        yield from (rule.condition for rule in self.compiled.rules)
        for hook in self.hooks:
            yield from hook.reads(self.registry, self.compiled)

    def check_rules(self, draft: Draft) -> None:
        """`x-rules`: each condition must hold. A rule that reads a blank field is not applicable
        (whether a field may be blank is the schema's `required`, not the rule's, business)."""
        for rule in self.compiled.rules:
            if any(draft.values.get(n) is None for n in rule.condition.names):
                continue
            try:
                holds = evaluate(rule.condition, draft.values, draft.related, self.context)
            except EvaluationError as error:
                draft.problems.append(FieldProblem("$", f"rule {rule.name} could not be checked: {error}"))
                continue
            if not holds:
                draft.problems.append(FieldProblem(rule.field or "$", rule.text(self.locale)))

    def compute_formulas(self, draft: Draft) -> None:
        """Stored formulas, each after the formulas it reads; results take the field's type."""
        for name in self.compiled.stored_order:
            field_def = self.obj.fields[name]
            try:
                result = evaluate(self.compiled.formulas[name], draft.values, draft.related, self.context)
                draft.values[name] = formula_value(field_def, result, self.context)
            except (EvaluationError, CoercionError) as error:
                draft.values[name] = None
                draft.problems.append(FieldProblem(name, f"formula {field_def.formula!r} failed: {error}"))

    def run(self, drafts: Sequence[Draft], event: SaveEvent) -> None:
        """Every check for a batch: the schema for all drafts (so every problem of a record is
        reported at once), the checks that need a valid record only for the clean ones; then
        each before-save hook on the drafts still clean."""
        for draft in drafts:
            self.validate(draft)
        clean = [d for d in drafts if not d.problems]
        self.check_lookups(clean)
        clean = [d for d in clean if not d.problems]
        self.load_related(clean)
        for draft in clean:
            self.check_rules(draft)
            if not draft.problems:
                self.compute_formulas(draft)
        for hook in self.hooks:
            clean = [d for d in clean if not d.problems]
            if clean:
                hook.before_save(BeforeSave(self.conn, self.registry, self.compiled, self.actor, event, clean,
                                            self.context, self.locale, self))


def formula_value(field_def: FieldDef, result: Any, context: EvaluationContext) -> Any:
    """A formula's result in the field's stored type (money rounded half-up to its scale)."""
    if result is None:
        return None
    if field_def.type.is_decimal:
        return rounded(field_def, result)
    if field_def.type is FieldType.INTEGER and isinstance(result, Decimal):
        return int(result.to_integral_value(rounding=ROUND_HALF_UP))
    return coerce(field_def, result, context.timezone)


def check_unique(conn: Connection, compiled: CompiledObject, drafts: Sequence[Draft], ids: Sequence[str]) -> None:
    """`x-unique` as field errors, not a 500: against stored rows (soft-deleted ones too, as the
    index sees them) and within the batch itself. The index still guards against races."""
    from sqlalchemy import tuple_

    table = compiled.table
    for index in (i for i in compiled.definition.indexes if i.unique):
        keyed: dict[tuple[Any, ...], list[int]] = {}
        for i, draft in enumerate(drafts):
            key = tuple(draft.values.get(f) for f in index.fields)
            changed = draft.before is None or any(draft.before.get(f) != draft.values.get(f) for f in index.fields)
            if None not in key and changed and not draft.problems:
                keyed.setdefault(key, []).append(i)
        if not keyed:
            continue
        columns = [table.c[f] for f in index.fields]
        target = columns[0] if len(columns) == 1 else tuple_(*columns)
        keys = list(keyed)
        taken: dict[tuple[Any, ...], str] = {}
        for start in range(0, len(keys), LOOKUP_BATCH):
            chunk = keys[start:start + LOOKUP_BATCH]
            values = [k[0] for k in chunk] if len(columns) == 1 else chunk
            for row in conn.execute(select(table.c.id, *columns).where(target.in_(values))):
                taken[tuple(row[1:])] = row[0]
        label = ", ".join(index.fields)
        for key, positions in keyed.items():
            owner = taken.get(key)
            clashes = [p for p in positions if owner is not None and owner != ids[p]]
            if len(positions) > 1:
                clashes += positions[1:]
            for p in sorted(set(clashes)):
                shown = ", ".join(str(v) for v in key)
                drafts[p].problems.append(FieldProblem(index.fields[0], f"must be unique: another {compiled.name} "
                                                                        f"already has {label} = {shown}"))
