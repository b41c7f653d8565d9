"""The metadata API, for the designer and tools: read the current release and the drafts,
validate and plan a change, publish it, browse history and diffs; and user administration
(`users_api`), and the installed apps with each item's provenance (`apps_api`). Admins only.

Served at `/t/<tenant>/metadata/graphql`. Its schema is fixed (it describes metadata, not a
tenant's objects), so it is built once, at import. Publishing here is the same
`MetadataStore.publish_drafts` the CLI and the designer use; the data API picks the new release
up on its next request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.tools import merge_types

from trellis.metadata.diff import diff_sets
from trellis.metadata.errors import MetadataError, MetadataInvalid
from trellis.metadata.model import MetadataSet
from trellis.metadata.validation import validate_set
from trellis.runtime.access import Actor
from trellis.runtime.graphql.apps_api import AppsQuery
from trellis.runtime.graphql.context import in_thread
from trellis.runtime.graphql.errors import ApiError, bad_input
from trellis.runtime.graphql.limits import Limits
from trellis.runtime.graphql.scalars import SCALAR_OVERRIDES
from trellis.runtime.graphql.schema import TenantSchema
from trellis.runtime.graphql.users_api import UsersMutation, UsersQuery
from trellis.runtime.identity import UserService
from trellis.runtime.releases import DestructiveChangeRefused, MetadataStore, ReleaseInfo, ReleaseNotFound


@dataclass
class MetadataContext:
    tenant: str
    actor: Actor
    store: MetadataStore
    users: UserService


def _store(info: strawberry.Info) -> MetadataStore:
    context: MetadataContext = info.context
    if not context.actor.policy.is_admin:
        raise ApiError("FORBIDDEN", "only admins may read or change metadata")
    return context.store


@strawberry.type(description="One item of a metadata set: an object definition, a role, ...")
class MetadataItem:
    kind: str
    name: str
    document: JSON


@strawberry.type(description="A staged edit: the new document, or null when the item is to be removed.")
class Draft:
    kind: str
    name: str
    document: JSON | None


@strawberry.type
class FieldChange:
    field: str
    keys: list[str]


@strawberry.type(description="An item added, removed or changed between two metadata sets.")
class Change:
    kind: str
    name: str
    change: str
    fields_added: list[str]
    fields_removed: list[str]
    fields_changed: list[FieldChange]
    keys_changed: list[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(kind=data["kind"], name=data["name"], change=data["change"],
                   fields_added=list(data.get("fields_added", ())), fields_removed=list(data.get("fields_removed", ())),
                   fields_changed=[FieldChange(field=f, keys=list(k)) for f, k in data.get("fields_changed", {}).items()],
                   keys_changed=list(data.get("keys_changed", ())))


@strawberry.type(description="One storage change of a publish plan.")
class PlanStep:
    object: str
    text: str
    destructive: bool


@strawberry.type(description="A metadata error: the file it is in, its JSON path and what is wrong.")
class Problem:
    file: str
    path: str
    message: str


@strawberry.type
class Validation:
    valid: bool
    errors: list[Problem]


@strawberry.type(description="What publishing would do: the changes, and the storage steps they need.")
class Plan:
    base: int | None
    valid: bool
    errors: list[Problem]
    changes: list[Change]
    steps: list[PlanStep]
    notices: list[str]
    destructive: bool


@strawberry.type(description="A published release.")
class Release:
    number: int
    author: str
    message: str
    created_at: datetime
    content_hash: str
    source: str
    changes: list[Change]
    steps: list[PlanStep]

    @strawberry.field(description="The items of this release.")
    async def items(self, info: strawberry.Info) -> list[MetadataItem]:
        release = await in_thread(_store(info).release, self.number)
        return [MetadataItem(kind=k, name=n, document=JSON(dict(doc))) for (k, n), doc in release.metadata.items()]

    @classmethod
    def of(cls, info: ReleaseInfo) -> Release:
        return cls(number=info.number, author=info.author, message=info.message, created_at=info.created_at,
                   content_hash=info.content_hash, source=info.source,
                   changes=[Change.from_json(c) for c in info.diff], steps=_steps(info.plan))


@strawberry.input(description="An item to try on top of the drafts; a null document removes it.")
class ItemInput:
    kind: str
    name: str
    document: JSON | None = None


def _steps(plan: Mapping[str, Any]) -> list[PlanStep]:
    return [PlanStep(object=s["object"], text=s["text"], destructive=s["destructive"]) for s in plan.get("steps", ())]


def _problems(errors: list[MetadataError]) -> list[Problem]:
    return [Problem(file=e.file, path=e.path, message=e.message) for e in errors]


def _document(value: JSON | None, path: str) -> Mapping[str, Any] | None:
    """A metadata document as sent: a JSON object, or null (a removal). Any other JSON value
    is refused here, before it could reach validation, which reads documents as objects."""
    if value is None or isinstance(value, Mapping):
        return value
    raise bad_input(path, f"expected a JSON object or null; got {type(value).__name__}", "invalid document")


def _with_items(store: MetadataStore, items: list[ItemInput] | None) -> MetadataSet:
    """The drafts over the current release, with `items` applied on top (nothing is saved)."""
    documents = [(item.kind, item.name, _document(item.document, f"items[{i}].document"))
                 for i, item in enumerate(items or ())]
    merged = dict(store.draft_set().items())
    for kind, name, document in documents:
        if document is None:
            merged.pop((kind, name), None)
        else:
            merged[(kind, name)] = document
    return MetadataSet(merged)


def _plan(store: MetadataStore, metadata: MetadataSet) -> Plan:
    base = store.current_number()
    errors = validate_set(metadata)
    if errors:
        return Plan(base=base, valid=False, errors=_problems(errors), changes=[], steps=[], notices=[],
                    destructive=False)
    result = store.publish(metadata, author="plan", dry_run=True, allow_destructive=True)
    return Plan(base=base, valid=True, errors=[], changes=[Change.from_json(c) for c in result.diff.to_json()],
                steps=_steps(result.plan.to_json()), notices=list(result.plan.notices),
                destructive=bool(result.plan.destructive_steps))


@strawberry.type
class Query:
    @strawberry.field(description="The release in force (null before the first publish).")
    async def current_release(self, info: strawberry.Info) -> Release | None:
        store = _store(info)
        release = await in_thread(store.current)
        return None if release is None else Release.of(release.info)

    @strawberry.field(description="One release by number.")
    async def release(self, info: strawberry.Info, number: int) -> Release:
        store = _store(info)
        try:
            return Release.of((await in_thread(store.release, number)).info)
        except ReleaseNotFound as error:
            raise ApiError("NOT_FOUND", str(error)) from None

    @strawberry.field(description="Staged edits, not yet published.")
    async def drafts(self, info: strawberry.Info) -> list[Draft]:
        found = await in_thread(_store(info).drafts)
        return [Draft(kind=k, name=n, document=None if d is None else JSON(dict(d))) for (k, n), d in sorted(found.items())]

    @strawberry.field(description="Every release, newest first.")
    async def history(self, info: strawberry.Info) -> list[Release]:
        return [Release.of(i) for i in await in_thread(_store(info).history)]

    @strawberry.field(description="What changed from one release to another.")
    async def diff(self, info: strawberry.Info, from_: Annotated[int, strawberry.argument(name="from")],
                   to: int) -> list[Change]:
        store = _store(info)

        def work() -> list[Change]:
            return [Change.from_json(c) for c in diff_sets(store.release(from_).metadata,
                                                           store.release(to).metadata).to_json()]
        try:
            return await in_thread(work)
        except ReleaseNotFound as error:
            raise ApiError("NOT_FOUND", str(error)) from None

    @strawberry.field(description="Validate the drafts over the current release, with `items` tried on top.")
    async def validate(self, info: strawberry.Info, items: list[ItemInput] | None = None) -> Validation:
        store = _store(info)
        errors = await in_thread(lambda: validate_set(_with_items(store, items)))
        return Validation(valid=not errors, errors=_problems(errors))

    @strawberry.field(description="What publishing the drafts (with `items` on top) would change, step by step.")
    async def plan(self, info: strawberry.Info, items: list[ItemInput] | None = None) -> Plan:
        store = _store(info)
        return await in_thread(lambda: _plan(store, _with_items(store, items)))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Stage an item (a null document stages its removal).")
    async def save_draft(self, info: strawberry.Info, kind: str, name: str,
                         document: JSON | None = None) -> Draft:
        store = _store(info)
        actor: Actor = info.context.actor
        await in_thread(store.save_draft, kind, name, _document(document, "document"), actor.email)
        return Draft(kind=kind, name=name, document=document)

    @strawberry.mutation(description="Drop every staged edit.")
    async def discard_drafts(self, info: strawberry.Info) -> bool:
        await in_thread(_store(info).discard_drafts)
        return True

    @strawberry.mutation(description="Publish the drafts as the next release, atomically.")
    async def publish(self, info: strawberry.Info, message: str, allow_destructive: bool = False) -> Release:
        store = _store(info)
        actor: Actor = info.context.actor
        try:
            result = await in_thread(lambda: store.publish_drafts(author=actor.email, message=message,
                                                                  allow_destructive=allow_destructive))
        except MetadataInvalid as error:
            raise ApiError("BAD_USER_INPUT", f"{len(error.errors)} error(s) in metadata; nothing was published",
                           [{"file": e.file, "path": e.path, "message": e.message} for e in error.errors]) from None
        except DestructiveChangeRefused as error:
            raise ApiError("BAD_USER_INPUT", "the plan has destructive steps; nothing was published",
                           [{"path": "allowDestructive", "message": s.describe()}
                            for s in error.plan.destructive_steps]) from None
        if result.release is None:
            raise ApiError("BAD_USER_INPUT", "nothing to publish: the drafts match the current release")
        return Release.of(result.release)


SCHEMA = TenantSchema(query=merge_types("Query", (Query, UsersQuery, AppsQuery)),
                      mutation=merge_types("Mutation", (Mutation, UsersMutation)),
                      extensions=[Limits], scalar_overrides=SCALAR_OVERRIDES)
