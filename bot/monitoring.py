"""Health checks and Prometheus metrics of a running bot, served by :mod:`bot.web`.

:class:`Monitoring` is built by ``amanat run`` (polling and webhook alike) with the settings and the
database handle; ``start()`` listens on ``web.listen:web.port`` before the registry index loads (so
``/healthz`` says "index: loading" while it does), ``instrument(application)`` counts and times the
updates, ``stop()`` closes the server.

``/healthz`` parts (each fails on its own, and the 503 answer names it):

========  =====================================================================================
database  a new connection reads and writes (rolled back) — :class:`bot.services.health.DatabaseProbe`
index     the registry index is loaded in memory (readings, load seconds); while it loads in the
          background the part is fine with "state": "loading" (searches are answered by the database)
matching  a matching pass ran (in any process) within max(3 × ``matching.interval_seconds``,
          :data:`MATCHING_GRACE`) of now, or of this process's start before the first pass
outbox    no message has been due and unsent for longer than :data:`OUTBOX_STALE_SECONDS`
========  =====================================================================================

``/metrics`` (Prometheus text format, from ``prometheus-client``; one registry per process):
``amanat_updates_total{kind}``, ``amanat_update_seconds`` (an update's handling, replies sent
included), ``amanat_search_seconds``, ``amanat_outbox_messages{state}``, ``amanat_outbox_due``,
``amanat_cases{status}``, ``amanat_appeal_deliveries{state}`` (broadcast progress),
``amanat_registry_readings``, ``amanat_matching_last_pass_timestamp_seconds`` and the process'
own (memory, CPU, open files).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from telegram import Update
from telegram.ext import Application, TypeHandler

from bot.config import Settings
from bot.services.health import DatabaseProbe, last_matching_pass, outbox_backlog, state_counts
from bot.services.registry_index import LoadingRegistry, RegistryIndex, open_registry_index
from bot.services.registry_search import StoredRegistry
from bot.web import CheckResult, WebServer
from models import CaseStatus, Database, DeliveryState, OutboxState
from models.base import utcnow

MATCHING_GRACE: Final = 900.0
OUTBOX_STALE_SECONDS: Final = 900.0
FIRST_GROUP: Final = -(10**6)  # the update timer runs before every other handler group

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

__all__ = ["Monitoring", "update_kind"]


def update_kind(update: object) -> str:
    """A small fixed set of labels for updates (never anything a user typed)."""
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "callback_query"
    if update.message is not None:
        return "command" if (update.message.text or "").startswith("/") else "message"
    if update.edited_message is not None:
        return "edited_message"
    if update.my_chat_member is not None:
        return "my_chat_member"
    return "other"


class Monitoring:
    """The metrics, the health checks and the web server of one bot process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.started_at = utcnow()
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.updates = Counter("amanat_updates", "Updates handled", ["kind"], registry=self.registry)
        self.update_seconds = Histogram(
            "amanat_update_seconds",
            "Time to handle one update, replies sent included",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.search_seconds = Histogram(
            "amanat_search_seconds",
            "Time of one registry search",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.outbox = Gauge(
            "amanat_outbox_messages", "Outbox messages by state", ["state"], registry=self.registry
        )
        self.outbox_due = Gauge(
            "amanat_outbox_due", "Outbox messages due and not yet sent", registry=self.registry
        )
        self.cases = Gauge("amanat_cases", "Volunteer cases by status", ["status"], registry=self.registry)
        self.deliveries = Gauge(
            "amanat_appeal_deliveries",
            "Appeal deliveries by state (broadcast progress)",
            ["state"],
            registry=self.registry,
        )
        self.readings = Gauge("amanat_registry_readings", "Readings in the registry", registry=self.registry)
        self.last_pass = Gauge(
            "amanat_matching_last_pass_timestamp_seconds",
            "When a matching pass last ended (Unix time; 0: never)",
            registry=self.registry,
        )
        self.database_up = Gauge(
            "amanat_database_up", "1 when the last scrape could read the database", registry=self.registry
        )
        self._started: dict[int, float] = {}
        self.probe = DatabaseProbe(settings.database.url)
        self.web = WebServer(
            settings.web.listen,
            settings.web.port,
            checks={
                "database": self.check_database,
                "index": self.check_index,
                "matching": self.check_matching,
                "outbox": self.check_outbox,
            },
            metrics=self.render_metrics,
        )
        self.index: RegistryIndex | None = None  # set when the index has loaded (in the background)
        self.loading: LoadingRegistry | None = None  # set when the application has opened it (post_init)
        self.stored = StoredRegistry(db)  # counts the readings until the index is loaded

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self.web.start()

    async def open_registry_index(self, db: Database) -> LoadingRegistry:
        """The application's registry opener: the database search at once, the in-memory index when it has
        loaded in the background (its searches timed, its load watched)."""

        async def load(db: Database) -> RegistryIndex:
            index = await open_registry_index(db)
            index.search_observer = self.search_seconds.observe
            self.index = index
            return index

        self.loading = LoadingRegistry(db, load)
        return self.loading

    async def stop(self) -> None:
        await self.web.stop()
        await self.probe.dispose()

    def instrument(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Count and time every update the application handles (its update listeners report the end)."""
        application.add_handler(TypeHandler(object, self._update_began), group=FIRST_GROUP)
        listeners = getattr(application, "update_listeners", None)
        if listeners is not None:
            listeners.append(self._update_ended)

    async def _update_began(self, update: object, _context: Any) -> None:
        self._started[id(update)] = time.perf_counter()

    def _update_ended(self, update: object) -> None:
        began = self._started.pop(id(update), None)
        self.updates.labels(kind=update_kind(update)).inc()
        if began is not None:
            self.update_seconds.observe(time.perf_counter() - began)

    # ---------------------------------------------------------------- /healthz

    async def check_database(self) -> CheckResult:
        return CheckResult(True, await self.probe.check())

    async def check_index(self) -> CheckResult:
        index = self.index
        if index is None:
            if self.loading is not None and self.loading.loading:  # searches are answered by the database
                return CheckResult(True, {"state": "loading", "searches": "database"})
            return CheckResult(False, {"error": "the registry index is not loaded"})
        return CheckResult(
            True, {"state": "loaded", "readings": len(index), "load_seconds": round(index.load_seconds, 1)}
        )

    async def check_matching(self) -> CheckResult:
        last = await last_matching_pass(self.db)
        now = utcnow()
        allowed = max(3.0 * self.settings.matching.interval_seconds, MATCHING_GRACE)
        since = max(last, self.started_at) if last is not None else self.started_at
        age = (now - since).total_seconds()
        detail: dict[str, Any] = {"last_pass_at": _iso(last), "max_age_seconds": allowed}
        if age > allowed:
            detail["error"] = f"no matching pass for {age:.0f} s"
            return CheckResult(False, detail)
        return CheckResult(True, detail)

    async def check_outbox(self) -> CheckResult:
        backlog = await outbox_backlog(self.db)
        detail = {
            "due": backlog.due,
            "oldest_due_seconds": round(backlog.oldest_due_seconds, 1),
            "failed": backlog.failed,
        }
        if backlog.oldest_due_seconds > OUTBOX_STALE_SECONDS:
            return CheckResult(
                False, {**detail, "error": f"a message has waited {backlog.oldest_due_seconds:.0f} s"}
            )
        return CheckResult(True, detail)

    # ---------------------------------------------------------------- /metrics

    async def render_metrics(self) -> tuple[bytes, str]:
        """The database-derived gauges refreshed, then everything in the text format."""
        try:
            counts = await state_counts(self.db, self.index or self.stored)
            backlog = await outbox_backlog(self.db)
            last = await last_matching_pass(self.db)
        except Exception:  # the process' own metrics are still worth a scrape; /healthz says why
            self.database_up.set(0)
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        self.database_up.set(1)
        for state in OutboxState:
            self.outbox.labels(state=str(state)).set(counts.outbox.get(str(state), 0))
        for status in CaseStatus:
            self.cases.labels(status=str(status)).set(counts.cases.get(str(status), 0))
        for delivery in DeliveryState:
            self.deliveries.labels(state=str(delivery)).set(counts.deliveries.get(str(delivery), 0))
        self.outbox_due.set(backlog.due)
        self.readings.set(counts.readings)
        self.last_pass.set(last.timestamp() if last is not None else 0)
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
