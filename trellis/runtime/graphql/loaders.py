"""Per-request DataLoaders: every relation of a page is fetched in one batched query.

A page of 50 contracts asking for `account { owner { email } }` costs one query for the page,
one for the 50 accounts (whatever the number of distinct ids) and one for their owners. Batch
functions run in the thread pool; each loader lives for one request, so nothing a user could
not see is ever cached for someone else.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from trellis.runtime.graphql.context import in_thread
from trellis.runtime.identity.tables import users
from trellis.runtime.query.listing import MAX_PAGE, PageRequest
from trellis.runtime.records.service import RecordPage

if TYPE_CHECKING:
    from trellis.runtime.graphql.context import RequestContext

MAX_BATCH = MAX_PAGE  # ids per query: the records service's page limit


class Loaders:
    def __init__(self, context: RequestContext):
        self.context = context
        self._records: dict[str, DataLoader[str, dict[str, Any] | None]] = {}
        self._children: dict[tuple[str, str], DataLoader[str, RecordPage]] = {}
        self._batched: dict[str, DataLoader[str, Any]] = {}
        self.users: DataLoader[str, dict[str, Any] | None] = DataLoader(self._load_users, max_batch_size=MAX_BATCH)

    def record(self, object_name: str) -> DataLoader[str, dict[str, Any] | None]:
        """Records of `object_name` by id, as the actor sees them (None: missing or not visible)."""
        loader = self._records.get(object_name)
        if loader is None:
            async def load(ids: list[str]) -> list[dict[str, Any] | None]:
                return await in_thread(self._fetch_records, object_name, ids)

            loader = self._records[object_name] = DataLoader(load, max_batch_size=MAX_BATCH)
        return loader

    def record_now(self, object_name: str, record_id: str) -> dict[str, Any] | None | Awaitable[dict[str, Any] | None]:
        """The record if this request already has it (primed or loaded before), else an
        awaitable of it: a resolver that can answer at once spares the event loop a task."""
        loader = self.record(object_name)
        future = loader.cache_map.get(record_id)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            return future.result()
        return loader.load(record_id)

    def prefetch(self, records: Sequence[Mapping[str, Any]], lookups: Sequence[tuple[str, str]],
                 fields: Mapping[str, Collection[str]] | None = None) -> dict[str, dict[str, dict[str, Any] | None]]:
        """The records `records` point to through `lookups` ((field, target) pairs), fetched now
        (blocking: call it in the thread that fetched `records`) for `prime` to hand to the loaders;
        `fields`: per target, the fields the caller will use (None: all)."""
        wanted: dict[str, set[str]] = {}
        for field, target in lookups:
            wanted.setdefault(target, set()).update(r[field] for r in records if r.get(field) is not None)
        return {target: self.fetch(target, ids, None if fields is None else fields.get(target))
                for target, ids in wanted.items()}

    def fetch(self, object_name: str, ids: Iterable[str],
              fields: Collection[str] | None = None) -> dict[str, dict[str, Any] | None]:
        """Records of `object_name` by id as the actor sees them (None: missing or not visible),
        in batches (blocking: call it in the thread pool); `fields` as for `prefetch`."""
        ordered = sorted(set(ids))
        fetched: dict[str, dict[str, Any] | None] = {}
        for start in range(0, len(ordered), MAX_BATCH):
            chunk = ordered[start:start + MAX_BATCH]
            fetched.update(zip(chunk, self._fetch_records(object_name, chunk, fields), strict=True))
        return fetched

    def prime(self, fetched: Mapping[str, Mapping[str, dict[str, Any] | None]]) -> None:
        for target, records in fetched.items():
            self.record(target).prime_many(records)

    def children(self, child: str, via: str, request: PageRequest) -> DataLoader[str, RecordPage]:
        """A page of `child` records per parent id, one loader per distinct page request."""
        key = (f"{child}.{via}", _fingerprint(request))
        loader = self._children.get(key)
        if loader is None:
            async def load(parent_ids: list[str]) -> list[RecordPage]:
                pages = await in_thread(self.context.records.list_by_parent, self.context.actor, child, via,
                                        parent_ids, request)
                return [pages[parent] for parent in parent_ids]

            loader = self._children[key] = DataLoader(load, max_batch_size=MAX_BATCH)
        return loader

    def batched(self, key: str, fetch: Callable[[list[str]], list[Any]]) -> DataLoader[str, Any]:
        """A loader for this request under `key`, for a feature's per-record lists (a record's
        approval requests): `fetch` (blocking, run in the thread pool) answers a batch of ids
        in their order."""
        loader = self._batched.get(key)
        if loader is None:
            async def load(ids: list[str]) -> list[Any]:
                return await in_thread(fetch, ids)

            loader = self._batched[key] = DataLoader(load, max_batch_size=MAX_BATCH)
        return loader

    def _fetch_records(self, object_name: str, ids: Sequence[str],
                       fields: Collection[str] | None = None) -> list[dict[str, Any] | None]:
        found = self.context.records.find(self.context.actor, object_name, ids, fields)
        return [found[record_id] for record_id in ids]

    async def _load_users(self, ids: list[str]) -> list[dict[str, Any] | None]:
        return await in_thread(self.fetch_users, ids)

    def fetch_users(self, ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """Users by id (id, email, name), None for an unknown id (blocking)."""
        with self.context.records.db.read() as conn:
            rows = conn.execute(select(users.c.id, users.c.email, users.c.name).where(users.c.id.in_(list(ids))))
            found = {row.id: dict(row._mapping) for row in rows}
        return [found.get(user_id) for user_id in ids]


def _fingerprint(request: PageRequest) -> str:
    return json.dumps(vars(request), sort_keys=True, default=str)

