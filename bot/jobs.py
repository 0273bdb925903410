"""Scheduled jobs of the running bot (PTB JobQueue on APScheduler): matching, the outbox sender, heartbeat.

PTB keeps no jobs across restarts, and it does not need to: every job's progress lives in the database
(the matching watermark, the outbox, `last_heartbeat_at`), so a restarted bot simply runs them again.

=============  ==================================  ==============================================
job            every                               does
=============  ==================================  ==============================================
matching       `matching.interval_seconds`         `run_matching_pass` (one pass at a time, also
                                                   across processes: `amanat match` may run too)
outbox         OUTBOX_INTERVAL seconds             delivers due notifications with the bot's Bot
                                                   API connection (its rate limiter included)
heartbeat      HEARTBEAT_CHECK seconds, when       queues "we keep looking" for relatives whose
               `matching.heartbeat_days` > 0       last one is `heartbeat_days` old
cases          CASES_CHECK seconds                 posts the cards that reached no volunteer when
                                                   their case opened; when
                                                   `cases.remind_after_hours` > 0, re-posts cases
                                                   unclaimed for that long and reminds claimers,
                                                   once per period (the watermark is each case's
                                                   `reminded_at`)
broadcast      BROADCAST_INTERVAL seconds          sends the appeals marked to be sent, at
                                                   `broadcast.rate_per_second` (one process per
                                                   appeal: bot.services.broadcast)
board_stats    `web.stats_refresh_seconds`, at     the administrators' statistics snapshot that
               start too, when the web server is   /api/stats serves (bot.services.board_stats):
               on (`web.port` > 0)                 made by whichever process finds it stale, under
                                                   a job lock; the others only read its time
=============  ==================================  ==============================================

A job that fails logs the error and runs again at its next tick; nothing it did is lost.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from sqlalchemy.exc import DBAPIError
from telegram.ext import Application, CallbackContext, JobQueue

from bot.config import Settings
from bot.services.board_stats import refresh_snapshot
from bot.services.heartbeat import queue_heartbeats
from bot.services.matching import run_matching_pass
from bot.services.registry_search import RegistrySearch
from handlers.broadcast import broadcast_due
from handlers.cases import send_reminders
from handlers.notifications import deliver_due
from handlers.turn import AmanatContext, Services
from models import Database

log = logging.getLogger(__name__)


def _job_failed(what: str, error: Exception) -> None:
    """Log a failed job run: one line when the database refused (it is away, or the file was lost: the
    start-up checks and the file watcher say what to do), the whole traceback for anything else."""
    if isinstance(error, DBAPIError):
        reason = str(error.orig).splitlines()[0] if error.orig is not None else ""
        log.error("%s: the database refused (%s: %s)", what, type(error.orig).__name__, reason)
    else:
        log.error("%s", what, exc_info=error)


OUTBOX_INTERVAL: Final = 5.0
HEARTBEAT_CHECK: Final = 3600.0
CASES_CHECK: Final = 60.0
FIRST_MATCHING_DELAY: Final = 5.0
BROADCAST_INTERVAL: Final = 2.0
FIRST_STATS_DELAY: Final = 1.0
STATS_FRESH_SHARE: Final = 0.8  # a snapshot younger than this share of the period is left as it is


def _job_data(context: CallbackContext[Any, Any, Any, Any]) -> tuple[Database, Settings]:
    job = context.job
    if job is None:
        raise RuntimeError("a job callback was called without its job")
    data: tuple[Database, Settings] = job.data  # type: ignore[assignment]
    return data


def _registry(context: CallbackContext[Any, Any, Any, Any]) -> RegistrySearch | None:
    """The registry search the application opened at start (the pass counts on it, not a second copy)."""
    services = context.application.bot_data.get("services")
    return services.registry if isinstance(services, Services) else None


async def matching_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """One matching pass, then the notifications it queued go out at once."""
    db, settings = _job_data(context)
    try:
        report = await run_matching_pass(db, settings, registry=_registry(context))
    except Exception as error:
        _job_failed("matching pass failed; it runs again at the next tick", error)
        return
    log.info("%s", report.summary())
    if report.notifications:
        await outbox_job(context)


async def outbox_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Deliver what is due in the outbox."""
    db, settings = _job_data(context)
    try:
        report = await deliver_due(db, context.bot, settings, rounds=20)
    except Exception as error:
        _job_failed("outbox delivery failed; it runs again at the next tick", error)
        return
    if report.claimed:
        log.info("outbox: %s", report.summary())


async def heartbeat_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Queue heartbeats that are due (the outbox job sends them)."""
    db, settings = _job_data(context)
    try:
        queued = await queue_heartbeats(db, settings)
    except Exception as error:
        _job_failed("heartbeat failed; it runs again at the next tick", error)
        return
    if queued:
        log.info("heartbeat: %s messages queued", queued)


async def broadcast_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Send the appeals marked to be sent (each run ends after a while; the next tick goes on)."""
    db, settings = _job_data(context)
    try:
        await broadcast_due(db, context.bot, settings)
    except Exception as error:
        _job_failed("broadcast failed; it runs again at the next tick", error)


async def board_stats_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Refresh the board's statistics snapshot when it is stale (another process may have just made it)."""
    db, settings = _job_data(context)
    interval = settings.web.stats_refresh_seconds
    try:
        # Stale a little before a whole period: this process's next tick, not the one after, remakes it.
        snapshot = await refresh_snapshot(db, fresh_for=interval * STATS_FRESH_SHARE)
    except Exception as error:
        _job_failed("board statistics failed; they are made again at the next tick", error)
        return
    if snapshot is not None:
        log.info("board statistics refreshed in %.3f s", snapshot.seconds)


async def cases_job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """Post cards that reached no volunteer, re-post cases nobody claimed, remind claimers whose case
    waits for them (handlers/cases.py)."""
    assert isinstance(context, AmanatContext)
    try:
        sent = await send_reminders(context)
    except Exception as error:
        _job_failed("case reminders failed; they run again at the next tick", error)
        return
    if sent:
        log.info("cases: %s reminders sent", sent)


def _job_queue(application: Application[Any, Any, Any, Any, Any, Any]) -> JobQueue[Any]:
    queue = application.job_queue
    if queue is None:
        raise RuntimeError("the JobQueue is missing: install python-telegram-bot[job-queue]")
    return queue


def register_jobs(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    db: Database,
    *,
    first_matching: float = FIRST_MATCHING_DELAY,
) -> None:
    """Schedule the matching pass (first after `first_matching` s), the outbox sender, the heartbeat and
    the broadcaster (the board's statistics: :func:`register_board_stats`, where the board is served)."""
    queue = _job_queue(application)
    data = (db, settings)
    # No overlapping runs of one job within this process (APScheduler's max_instances=1, PTB's default).
    queue.run_repeating(
        matching_job,
        interval=settings.matching.interval_seconds,
        first=first_matching,
        name="matching",
        data=data,
    )
    queue.run_repeating(outbox_job, interval=OUTBOX_INTERVAL, first=1.0, name="outbox", data=data)
    # A run lasts up to a minute; a tick meanwhile finds the appeal's lock taken and returns at once
    # (two instances, so APScheduler does not log every skipped tick).
    queue.run_repeating(
        broadcast_job,
        interval=BROADCAST_INTERVAL,
        first=1.0,
        name="broadcast",
        data=data,
        job_kwargs={"max_instances": 2},
    )
    if settings.matching.heartbeat_days > 0:
        queue.run_repeating(heartbeat_job, interval=HEARTBEAT_CHECK, first=60.0, name="heartbeat", data=data)
    queue.run_repeating(cases_job, interval=CASES_CHECK, first=30.0, name="cases", data=data)


def register_board_stats(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: Settings,
    db: Database,
    *,
    first: float = FIRST_STATS_DELAY,
) -> None:
    """Schedule the board's statistics snapshot: at start (after ``first`` s), then every
    ``web.stats_refresh_seconds``."""
    queue = _job_queue(application)
    queue.run_repeating(
        board_stats_job,
        interval=settings.web.stats_refresh_seconds,
        first=first,
        name="board_stats",
        data=(db, settings),
    )
