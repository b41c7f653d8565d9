"""Values built once per (tenant, release) — registries, GraphQL schemas — single-flight.

Building a release's registry or schema takes milliseconds to seconds; a burst of requests right
after a publish must not build it once each (Directus rebuilt its schema per request and fell
over). `ReleaseSlots` keeps each tenant's newest `keep` values and lets one thread per tenant
build; the others wait for it, or (when they have something to serve) get nothing at once and
keep serving the previous release. A finished value is published with one reference assignment,
so readers see the old mapping or the new one, never half of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Slot(Generic[T]):
    def __init__(self) -> None:
        self.values: dict[int, T] = {}
        self.building = threading.Lock()


class ReleaseSlots(Generic[T]):
    def __init__(self, keep: int):
        self.keep = keep
        self._slots: dict[str, _Slot[T]] = {}
        self._lock = threading.Lock()

    def _slot(self, tenant: str) -> _Slot[T]:
        with self._lock:
            return self._slots.setdefault(tenant, _Slot())

    def get(self, tenant: str, release: int) -> T | None:
        """The value of (tenant, release) if it is built (no lock: cheap enough for the event loop)."""
        slot = self._slots.get(tenant)
        return None if slot is None else slot.values.get(release)

    def releases(self, tenant: str) -> list[int]:
        """The releases whose values are kept, oldest first."""
        slot = self._slots.get(tenant)
        return [] if slot is None else sorted(slot.values)

    def newest(self, tenant: str) -> tuple[int, T] | None:
        slot = self._slots.get(tenant)
        values = None if slot is None else slot.values
        if not values:
            return None
        release = max(values)
        return release, values[release]

    def build(self, tenant: str, release: int, make: Callable[[], T], *, wait: bool = True) -> T | None:
        """The value of (tenant, release), made by `make` unless another thread made it first.
        With `wait=False`, None at once while another thread is building for this tenant."""
        slot = self._slot(tenant)
        if not slot.building.acquire(blocking=wait):
            return None
        try:
            found = slot.values.get(release)
            if found is not None:
                return found
            value = make()
            kept = sorted({*slot.values, release})[-self.keep:]
            slot.values = {n: value if n == release else slot.values[n] for n in kept}
            return value
        finally:
            slot.building.release()
