"""What every resolver of one request works with: who is asking, the services over the release
the request started on, and the request's DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from trellis.runtime.access import Actor
from trellis.runtime.records.service import RecordsService

if TYPE_CHECKING:
    from trellis.runtime.graphql.loaders import Loaders

P = ParamSpec("P")
T = TypeVar("T")


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking (database) work in the loop's default executor, never on the event loop (the
    server sizes that executor: `Settings.db_threads`)."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(function, *args, **kwargs))


@dataclass
class RequestContext:
    tenant: str
    actor: Actor
    records: RecordsService
    loaders: Loaders = field(init=False)  # made with the context (loaders.py imports this module)

    def __post_init__(self) -> None:
        from trellis.runtime.graphql.loaders import Loaders

        self.loaders = Loaders(self)
