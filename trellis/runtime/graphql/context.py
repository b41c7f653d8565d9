"""What every resolver of one request works with: who is asking, the services over the release
the request started on, and the request's DataLoaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

from trellis.runtime.access import Actor
from trellis.runtime.records.service import RecordsService

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking (database) work in the thread pool, never on the event loop."""
    return await anyio.to_thread.run_sync(partial(function, *args, **kwargs))


@dataclass
class RequestContext:
    tenant: str
    actor: Actor
    records: RecordsService
    loaders: Any = field(default=None)  # trellis.runtime.graphql.loaders.Loaders, made on first use

    def __post_init__(self) -> None:
        if self.loaders is None:
            from trellis.runtime.graphql.loaders import Loaders

            self.loaders = Loaders(self)
