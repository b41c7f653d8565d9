"""Approval processes compiled for the engine, each from the release a request is pinned to.

A request finishes under the process it started with, even after a publish edits or removes
it: the engine asks `ProcessBook.at(release, name)`, which reads that release's document (the
`MetadataStore` keeps releases) and compiles it once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from trellis.metadata.approval_processes import OUTCOMES, at_least
from trellis.metadata.model import MetadataSet, localized
from trellis.runtime.expressions import CompiledExpression, compile_expression
from trellis.runtime.releases import MetadataStore


@dataclass(frozen=True)
class Step:
    index: int
    name: str
    label: Mapping[str, str]
    condition: CompiledExpression | None
    approvers: tuple[Mapping[str, Any], ...]
    expressions: Mapping[int, CompiledExpression]  # position of an {"expression": …} approver -> parsed
    mode: str  # any, all, at_least
    at_least: int | None
    escalation: Mapping[str, Any] | None
    reminder: timedelta | None

    def title(self, locale: str) -> str:
        return localized(self.label, locale, self.name)

    def needed(self, asked: int) -> int:
        """How many approvals decide the step, of `asked` approvers. N-of-M with fewer than N
        asked (a role with fewer members) needs all of them."""
        if self.mode == "any":
            return 1
        if self.mode == "all" or self.at_least is None:
            return asked
        return min(self.at_least, asked)

    @property
    def escalate_after(self) -> timedelta | None:
        return timedelta(hours=self.escalation["after_hours"]) if self.escalation else None


@dataclass(frozen=True)
class Process:
    name: str
    label: Mapping[str, str]
    object: str
    active: bool
    entry_condition: CompiledExpression | None
    submitters: tuple[Any, ...]
    steps: tuple[Step, ...]
    lock: Any  # "record", "none" or {"fields": [...]}
    channels: tuple[str, ...]
    outcomes: Mapping[str, tuple[Mapping[str, Any], ...]]  # on_approved/... -> actions
    allow_recall: bool
    self_approval: str

    def title(self, locale: str) -> str:
        return localized(self.label, locale, self.name)

    @property
    def locked_fields(self) -> list[str] | str:
        """What the request locks, as stored with it: "record", "none" or the field names."""
        return list(self.lock["fields"]) if isinstance(self.lock, Mapping) else str(self.lock)


def _label(value: Any) -> Mapping[str, str]:
    return {"*": value} if isinstance(value, str) else dict(value or {})


def compile_process(name: str, document: Mapping[str, Any]) -> Process:
    steps = []
    for index, spec in enumerate(document["steps"]):
        mode = spec.get("mode", "any")
        steps.append(Step(
            index=index, name=spec["name"], label=_label(spec.get("label")),
            condition=compile_expression(spec["condition"]) if "condition" in spec else None,
            approvers=tuple(spec["approvers"]),
            expressions={i: compile_expression(a["expression"]) for i, a in enumerate(spec["approvers"])
                         if "expression" in a},
            mode=mode if isinstance(mode, str) else "at_least", at_least=at_least(mode),
            escalation=spec.get("escalation"),
            reminder=timedelta(hours=spec["reminder_hours"]) if "reminder_hours" in spec else None,
        ))
    return Process(
        name=name, label=_label(document.get("x-label")), object=document["object"],
        active=document.get("active", True),
        entry_condition=compile_expression(document["entry_condition"]) if "entry_condition" in document else None,
        submitters=tuple(document.get("submitters", ["update_access"])), steps=tuple(steps),
        lock=document.get("lock", "record"), channels=tuple(document.get("notify", ["in_app"])),
        outcomes={o: tuple(document.get(o, ())) for o in OUTCOMES},
        allow_recall=document.get("allow_recall", True), self_approval=document.get("self_approval", "forbid"),
    )


class ProcessBook:
    """Compiled processes by (release, name), over one tenant's store; compiled once each."""

    def __init__(self, store: MetadataStore):
        self.store = store
        self._compiled: dict[tuple[int, str], Process | None] = {}
        self._lock = threading.Lock()

    def at(self, release: int, name: str) -> Process | None:
        key = (release, name)
        with self._lock:
            if key in self._compiled:
                return self._compiled[key]
        found = self.of(self.store.release(release).metadata, name)
        with self._lock:
            self._compiled[key] = found
        return found

    @staticmethod
    def of(metadata: MetadataSet, name: str) -> Process | None:
        document = metadata.documents("approval_process").get(name)
        return None if document is None else compile_process(name, document)
