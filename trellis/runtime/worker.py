"""The worker: for each tenant, run the score models that are due, scan the timed rules, run the
approval reminders and escalations that are due, then deliver what is due; repeat.

Any number of workers may run against PostgreSQL (claims use SKIP LOCKED, firings have unique
keys); on SQLite they take turns on the write lock. A worker killed at any point leaves
nothing half-done: a scan is one transaction, and a delivery it had claimed is claimed again
by the next worker once its lease runs out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo

from trellis.platform.clock import Clock, utc_now
from trellis.runtime.approvals.engine import TimerReport
from trellis.runtime.automation.dispatcher import Dispatcher, DispatchReport, RetryPolicy
from trellis.runtime.automation.scheduler import ScanReport, Scheduler
from trellis.runtime.errors import NotFound
from trellis.runtime.scores.runner import RunReport
from trellis.runtime.scores.schedule import run_due, run_queued
from trellis.runtime.services import TenantServices, write_hooks

log = logging.getLogger("trellis.worker")


@dataclass
class TickReport:
    scans: dict[str, ScanReport] = field(default_factory=dict)
    deliveries: dict[str, DispatchReport] = field(default_factory=dict)
    approvals: dict[str, TimerReport] = field(default_factory=dict)
    scores: dict[str, list[RunReport]] = field(default_factory=dict)


class Worker:
    def __init__(self, services: TenantServices, tenants: Sequence[str] = (), *,
                 clock: Clock = utc_now, batch: int = 100,
                 lease: timedelta = timedelta(minutes=5), retry: RetryPolicy = RetryPolicy()):
        self.services = services
        self.tenants = tuple(tenants)
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.retry = retry

    def tick(self) -> TickReport:
        report = TickReport()
        names = self.tenants or tuple(t.name for t in self.services.installation.tenants())
        for name in names:
            try:
                registry = self.services.registry(name)
            except NotFound:
                continue  # nothing published yet: no rules to run
            tenant = self.services.tenant(name)
            zone, db = ZoneInfo(tenant.timezone), self.services.installation.database(name)
            # scores first: the rules their changes fire are planned now and delivered below
            report.scores[name] = [*run_due(db, registry, tenant.timezone, tenant.locale, self.clock, write_hooks()),
                                   *run_queued(db, registry, tenant.timezone, tenant.locale, self.clock, write_hooks())]
            report.scans[name] = Scheduler(db, registry, zone, tenant.locale, self.clock).scan()
            report.approvals[name] = self.services.approvals(name, self.clock).run_timers(self.batch)
            report.deliveries[name] = Dispatcher(db, registry, zone, tenant.locale, self.clock, hooks=write_hooks(),
                                                 secrets=self.services.installation.secrets,
                                                 outbound=self.services.outbound, batch=self.batch, lease=self.lease,
                                                 retry=self.retry).run()
        return report

    def run(self, interval: float, stop: threading.Event, on_tick: Callable[[TickReport], None] | None = None) -> None:
        """Tick every `interval` seconds until `stop` is set; a failing tick is logged and
        retried at the next one (a database restart must not end the worker)."""
        while not stop.is_set():
            try:
                report = self.tick()
                if on_tick is not None:
                    on_tick(report)
            except Exception:  # noqa: BLE001 - the loop must outlive one bad tick; the error is logged
                log.exception("worker tick failed; retrying in %.0f s", interval)
            stop.wait(interval)
