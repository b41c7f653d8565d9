"""Approvals on a record's page: its requests (process, status and steps named in the user's
language), "submit for approval" with a comment where an active process of the object applies
and the user may submit, and "recall" of a pending request for whoever submitted it.

Submitting and recalling go through the runtime's approval engine with the signed-in user;
its refusals (not allowed, entry condition not met, already pending, no longer pending) are
worded here in the page's language by their code, the engine's English kept out of the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from trellis.designer.web import Page
from trellis.runtime.access import Scope
from trellis.runtime.approvals.processes import Process, ProcessBook
from trellis.runtime.approvals.queries import requests_of_records
from trellis.runtime.approvals.views import RequestView
from trellis.runtime.errors import InvalidInput, NotFound, RuntimeProblem
from trellis.runtime.records.service import RecordsService
from trellis.workspace.fields import ObjectView, user_names
from trellis.workspace.web import app_base, presenter

#: A request's and a task's statuses, each worded by the catalogue (`ws.approval.status.*`).
STATUSES = ("pending", "approved", "rejected", "recalled", "closed", "reassigned")


@dataclass(frozen=True)
class Offer:
    """A process the user may submit this record to."""

    name: str
    title: str


def status_label(say: Callable[..., str], status: str) -> str:
    return say(f"ws.approval.status.{status}") if status in STATUSES else status


def process_title(book: ProcessBook, request: RequestView, language: str) -> str:
    """The process's label in `language`, as in the release the request is pinned to."""
    process = book.at(request.release, request.process)
    return process.title(language) if process is not None else request.process


def step_title(book: ProcessBook, request: RequestView, step: int, language: str) -> str:
    process = book.at(request.release, request.process)
    return process.steps[step].title(language) if process is not None and step < len(process.steps) else str(step)


def may_submit(view: ObjectView, process: Process, record: dict[str, Any]) -> bool:
    """Whether the process's `submitters` include the user (what the engine checks again)."""
    actor = view.actor
    if actor.policy.is_admin:
        return True
    own = record.get("owner_id") == actor.user_id
    update = actor.policy.scope(view.name, "update")
    return any((s == "owner" and own) or (s == "update_access" and (update is Scope.ALL or (update is Scope.OWN and own)))
               or (isinstance(s, dict) and s.get("role") in actor.roles) for s in process.submitters)


def approvals_section(page: Page, view: ObjectView, service: RecordsService, record: dict[str, Any]) -> dict[str, Any]:
    """What the record page shows of approvals: the requests, the processes offered, whether
    one is pending (then nothing is offered)."""
    found: list[RequestView] = requests_of_records(service.db, view.name, [record["id"]])[0]
    book = page.services.approvals(page.tenant_name).book
    language, say = page.t.language, page.t.t
    people = user_names(service.db, {r.submitted_by for r in found} | {t.approver_id for r in found for t in r.tasks})
    shows = presenter(page, service)
    assert page.actor is not None
    requests = [{
        "id": r.id, "process": process_title(book, r, language), "status": r.status,
        "status_label": status_label(say, r.status), "comment": r.comment or "",
        "submitted_by": people.get(r.submitted_by, r.submitted_by), "submitted_at": shows.when(r.submitted_at),
        "may_recall": r.status == "pending" and _may_recall(page, book, r),
        "tasks": [{"step": step_title(book, r, t.step, language), "approver": people.get(t.approver_id, t.approver_id),
                   "status": t.status, "status_label": status_label(say, t.status), "comment": t.comment or ""}
                  for t in r.tasks]} for r in found]
    pending = any(r.status == "pending" for r in found)
    offers = [] if pending or record.get("deleted_at") else _offers(view, service, record, language)
    return {"requests": requests, "offers": offers}


def _may_recall(page: Page, book: ProcessBook, request: RequestView) -> bool:
    assert page.actor is not None
    process = book.at(request.release, request.process)
    allowed = page.actor.user_id == request.submitted_by or (page.actor.policy.is_admin and not page.actor.is_system)
    return allowed and process is not None and process.allow_recall


def _offers(view: ObjectView, service: RecordsService, record: dict[str, Any], language: str) -> list[Offer]:
    metadata = service.registry.metadata
    found = []
    for name in sorted(metadata.names("approval_process")):
        process = ProcessBook.of(metadata, name)
        if process is not None and process.active and process.object == view.name and may_submit(view, process, record):
            found.append(Offer(name, process.title(language)))
    return found


#: A refusal as the page shows it: the message in the page's language and the HTTP status.
Refusal = tuple[str, int]
STATUS_OF = {"CONFLICT": 409, "FORBIDDEN": 403}


def submit(page: Page, view: ObjectView, record_id: str) -> Refusal | None:
    """Submit the record for the process named in the form; None, or the refusal in the page's words."""
    assert page.actor is not None
    engine = page.services.approvals(page.tenant_name)
    name = page.value("process")
    process = ProcessBook.of(engine.registry.metadata, name)
    title = process.title(page.t.language) if process is not None else name
    try:
        engine.submit(page.actor, view.name, record_id, name, page.value("comment").strip() or None)
    except RuntimeProblem as problem:
        if isinstance(problem, NotFound):
            raise
        return refusal(page, problem, title, view.label, process)
    return None


def recall(page: Page, view: ObjectView, record_id: str, request_id: str) -> Refusal | None:
    """Recall my pending request of this record; None, or the refusal in the page's words."""
    assert page.actor is not None
    engine = page.services.approvals(page.tenant_name)
    request = engine.get(page.actor, request_id)  # NotFound unless they take part or may read the record
    if (request.object, request.record_id) != (view.name, record_id):
        raise NotFound(f"no approval request with id '{request_id}' for this {view.name}")
    try:
        engine.recall(page.actor, request_id, page.value("comment").strip() or None)
    except RuntimeProblem as problem:
        if isinstance(problem, NotFound):
            raise
        return refusal(page, problem, "", "", None, recalling=True)
    return None


def refusal(page: Page, problem: RuntimeProblem, title: str, label: str, process: Process | None,
            recalling: bool = False) -> Refusal:
    """The engine's refusal worded by its code (its English stays out of the page)."""
    return _worded(page.t.t, problem, title, label, process, recalling), STATUS_OF.get(problem.code, 400)


def _worded(say: Callable[..., str], problem: RuntimeProblem, title: str, label: str, process: Process | None,
            recalling: bool) -> str:
    if problem.code == "CONFLICT":
        return say("ws.approval.not_pending" if recalling else "ws.approval.already_pending")
    if problem.code == "FORBIDDEN":
        return say("ws.approval.recall_refused" if recalling else "ws.approval.not_allowed", process=title)
    if isinstance(problem, InvalidInput) and process is not None and process.entry_condition is not None \
            and any(p.path == "$" for p in problem.problems):
        return say("ws.approval.not_entered", object=label, process=title, condition=process.entry_condition.source)
    if isinstance(problem, InvalidInput) and any(p.path == "process" for p in problem.problems):
        return say("ws.approval.no_process", process=title)
    return str(problem)


def redirect_to_record(page: Page, view: ObjectView, record_id: str, notice: str) -> Response:
    return page.redirect(f"{app_base(page)}/{view.name}/{record_id}?{notice}=1")
