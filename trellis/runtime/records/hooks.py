"""Write hooks: how features join the one write path without the records service knowing them.

The records service runs defaults, coercion, validation, `x-rules` and formulas itself; then it
calls, in order, every hook it was composed with (`trellis.runtime.services.write_hooks`):

- `reads(registry, compiled)`: the expressions the hook will evaluate on an object's records,
  so their looked-up values (`account.tier`) are loaded with everything else, in one batch;
- `before_save(save)`: on the clean drafts of one call, before anything is written. A hook may
  change values through `save.set_value` (then `save.recheck` validates again and recomputes
  formulas) or refuse a draft by adding a `FieldProblem`; a refused draft is not written;
- `after_write(write)`: inside the write's transaction, with each record's values before and
  after. Whatever a hook writes here commits or rolls back with the records.

Automation's record-triggered rules are a hook (`trellis.runtime.automation.on_save`); approval
locks and score recomputation are the next ones. `WriteHook` is a base class with no-op methods,
so a hook overrides only what it needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection

from trellis.runtime.access import Actor
from trellis.runtime.compiled import CompiledObject
from trellis.runtime.expressions import CompiledExpression, EvaluationContext

if TYPE_CHECKING:  # only for annotations: the pipeline itself calls the hooks
    from trellis.runtime.records.pipeline import Draft, Pipeline
    from trellis.runtime.registry import Registry

#: What happened to the records of one write, as hooks see it.
SaveEvent = Literal["created", "updated"]
WriteEvent = Literal["created", "updated", "deleted", "restored", "purged"]

#: A record's stored values before a write (None for a creation) and after it.
Change = tuple[Mapping[str, Any] | None, Mapping[str, Any]]


@dataclass(frozen=True)
class BeforeSave:
    """The clean drafts of one create or update call, about to be written."""

    conn: Connection
    registry: Registry
    compiled: CompiledObject
    actor: Actor
    event: SaveEvent
    drafts: Sequence[Draft]
    context: EvaluationContext
    locale: str
    pipeline: Pipeline

    def set_value(self, draft: Draft, name: str, value: Any) -> None:
        """Set a field as a user would: coerced to the field's type (raises `CoercionError`)."""
        coercer = self.pipeline.coercers.get(name)
        draft.values[name] = coercer(value, self.context.timezone) if coercer is not None else value

    def recheck(self, draft: Draft) -> None:
        """Validate a changed draft again and recompute its formulas, so a hook cannot write
        what a user could not."""
        self.pipeline.validate(draft)
        if not draft.problems:
            self.pipeline.compute_formulas(draft)


@dataclass(frozen=True)
class AfterWrite:
    """Records one call has written, inside its transaction."""

    conn: Connection
    registry: Registry
    compiled: CompiledObject
    actor: Actor
    event: WriteEvent
    changes: Sequence[Change]
    context: EvaluationContext
    locale: str
    depth: int  # > 0: the write was made by a workflow action (chains stop at a limit)


class WriteHook:
    """A feature that takes part in every write. Override what you need; the rest do nothing."""

    def reads(self, registry: Registry, compiled: CompiledObject) -> Iterable[CompiledExpression]:
        return ()

    def before_save(self, save: BeforeSave) -> None:
        return None

    def after_write(self, write: AfterWrite) -> None:
        return None
