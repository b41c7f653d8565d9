"""One place that hands out a tenant's services over its current release, and composes them.

`write_hooks()` lists the features that take part in every record write (see
`trellis.runtime.records.hooks`); every `RecordsService` handed out here is built with them, so
no caller can write around a rule.

The CLI, the ASGI app and workers hold one `TenantServices` per installation; it keeps one
`MetadataStore` per tenant (releases are cached there) and one `RegistryCache`, so building a
service per call or per request costs a dictionary look-up and one `SELECT max(number)`. The
ASGI app's limits each statement (`statement_timeout_ms`, the installation's
TRELLIS_STATEMENT_TIMEOUT_MS); the CLI's does not (an import or a migration may take long).
"""

from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

from trellis.platform.clock import Clock, utc_now
from trellis.platform.db import Database
from trellis.platform.outbound import OutboundPolicy
from trellis.platform.tenancy import Installation, Tenant
from trellis.runtime.approvals.engine import ApprovalEngine
from trellis.runtime.approvals.lock import ApprovalLock
from trellis.runtime.approvals.processes import ProcessBook
from trellis.runtime.automation.on_save import RuleHooks
from trellis.runtime.channels import ChannelSettings
from trellis.runtime.errors import NotFound
from trellis.runtime.handover import Handover
from trellis.runtime.identity import UserService
from trellis.runtime.records.hooks import WriteHook
from trellis.runtime.records.service import RecordsService
from trellis.runtime.registry import Registry, RegistryCache
from trellis.runtime.releases import MetadataStore
from trellis.runtime.scores.on_change import ScoreOnChange


def write_hooks() -> tuple[WriteHook, ...]:
    """The write hooks, in the order they run: approval locks (a refused write runs no rule),
    then record-triggered workflow rules, then the queue of records to rescore."""
    return (ApprovalLock(), RuleHooks(), ScoreOnChange())


class TenantServices:
    def __init__(self, installation: Installation, registries: RegistryCache | None = None,
                 statement_timeout_ms: int | None = None):
        self.installation = installation
        self.registries = registries or RegistryCache()
        self.statement_timeout_ms = statement_timeout_ms
        self._stores: dict[str, MetadataStore] = {}
        self._users: dict[str, UserService] = {}
        self._tenants: dict[str, Tenant] = {}
        self._books: dict[str, ProcessBook] = {}
        self._lock = threading.Lock()

    @property
    def outbound(self) -> OutboundPolicy:
        """The installation's policy for outgoing HTTP (its settings' allow-list)."""
        return self.installation.settings.outbound

    def tenant(self, tenant: str) -> Tenant:
        """The tenant's registry entry (time zone, locale), read once: tenants do not change."""
        found = self._tenants.get(tenant)
        if found is None:
            found = self._tenants.setdefault(tenant, self.installation.tenant(tenant))
        return found

    def database(self, tenant: str) -> Database:
        """The tenant's database, with this composition's statement time limit."""
        return self.installation.database(tenant).with_statement_timeout(self.statement_timeout_ms)

    def store(self, tenant: str) -> MetadataStore:
        with self._lock:
            store = self._stores.get(tenant)
        if store is None:
            store = MetadataStore(self.database(tenant), timezone=ZoneInfo(self.tenant(tenant).timezone))
            with self._lock:
                store = self._stores.setdefault(tenant, store)
        return store

    def users(self, tenant: str) -> UserService:
        """One per tenant: it caches access policies per (release, roles held)."""
        with self._lock:
            service = self._users.get(tenant)
        if service is None:
            service = UserService(self.database(tenant), self.store(tenant))
            with self._lock:
                service = self._users.setdefault(tenant, service)
        return service

    def registry(self, tenant: str, release: int | None = None) -> Registry:
        """The registry of the tenant's current release; `release` when the caller has just read
        the current number (authentication does), sparing a second read."""
        store = self.store(tenant)
        registry = self.registries.current(tenant, store) if release is None else \
            self.registries.get(tenant, store, release)
        if registry is None:
            raise NotFound(f"tenant {tenant} has no published metadata yet; "
                           f"publish some with `trellis metadata apply DIR --tenant {tenant}`")
        return registry

    def channels(self, tenant: str) -> ChannelSettings:
        """The tenant's channel settings, sealed with the installation key."""
        return ChannelSettings(self.installation.database(tenant), self.installation.secrets, outbound=self.outbound)

    def records(self, tenant: str, clock: Clock = utc_now, release: int | None = None,
                locale: str | None = None) -> RecordsService:
        """`locale`: the language of rule messages and labels (default: the tenant's), e.g. the
        language a web page is shown in."""
        found = self.tenant(tenant)
        return RecordsService(self.database(tenant), self.registry(tenant, release), found.timezone,
                              locale or found.locale, clock, hooks=write_hooks())

    def approvals(self, tenant: str, clock: Clock = utc_now) -> ApprovalEngine:
        """The approval engine over the current release; each request runs under the release it
        was submitted in (one `ProcessBook` per tenant compiles those once)."""
        found = self.tenant(tenant)
        store = self.store(tenant)
        with self._lock:
            book = self._books.setdefault(tenant, ProcessBook(store))
        return ApprovalEngine(self.installation.database(tenant), self.registry(tenant), book, found.timezone,
                              found.locale, clock, hooks=write_hooks())

    def handover(self, tenant: str, clock: Clock = utc_now) -> Handover:
        """Handovers over the current release (its objects and rules)."""
        return Handover(self.database(tenant), self.registry(tenant), ZoneInfo(self.tenant(tenant).timezone), clock)
