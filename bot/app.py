"""The PTB Application factory and the long-polling entry point (`amanat run`).

:func:`build_application` wires an Application to Amanat's settings and database: the token and Bot API
URLs (a test stand-in or the offline console pass their own), HTML as the default parse mode, Telegram's
rate limits, the command menu per language, one error handler, and the dialogue's handlers.
:func:`run_polling` opens the database and runs the bot until interrupted; :func:`run_bot` is its
synchronous wrapper for the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeAllPrivateChats, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    ContextTypes,
    Defaults,
)

from bot.board.api import BoardApi
from bot.config import WEBHOOK_SECRET_MISSING, Settings
from bot.database import open_database
from bot.i18n import LANGUAGES, translator
from bot.jobs import register_board_stats, register_jobs
from bot.logs import cap_library_loggers, setup_logging
from bot.monitoring import Monitoring
from bot.services.registry_search import RegistrySearch, StoredRegistry
from bot.services.send_budget import open_send_budget
from bot.services.startup import DatabaseFileLost, StartupRefused, check_database, watch_database_file
from bot.services.story_store import open_story_store
from handlers import (
    appeal_reply,
    appeals,
    cases,
    dialogue,
    family,
    flood,
    moderation,
    notifications,
    review,
    roles,
    stats,
    stories,
)
from handlers.rate_limiter import SharedRateLimiter
from handlers.turn import AmanatContext, Features, Services
from handlers.update_order import PerChatUpdateProcessor
from handlers.web_board import BoardActions
from models import Database
from models.db import database_unavailable

_LOGGER = logging.getLogger(__name__)

UpdateListener = Callable[[object], None]
# Opens the registry search the application uses (at start, in post_init): e.g. open_registry_index.
RegistryOpener = Callable[[Database], Awaitable[RegistrySearch]]


class AmanatApplication(Application[Any, AmanatContext, Any, Any, Any, Any]):
    """PTB's Application that also tells listeners when an update has been fully handled.

    The offline console and the end-to-end tests use this to know that the bot has finished answering
    (rather than guessing with timeouts); listeners get the update after every handler has run.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.update_listeners: list[UpdateListener] = []

    async def begin_polling(self, *, poll_interval: float = 0.0, timeout: int = 10) -> None:
        """Initialize, run post_init (PTB itself runs it only inside its blocking ``run_polling``),
        start, and poll for updates: the async way to run the bot inside an existing event loop."""
        await self.initialize()
        if self.post_init is not None:
            await self.post_init(self)
        await self.start()
        assert self.updater is not None
        await self.updater.start_polling(
            poll_interval=poll_interval, timeout=timeout, allowed_updates=Update.ALL_TYPES
        )

    async def begin_webhook(self, *, listen: str, port: int, url: str, secret_token: str) -> None:
        """Like :meth:`begin_polling`, but Telegram delivers updates to ``url`` (served on listen:port).

        ``secret_token`` is required: without it anyone who finds the URL can post forged updates
        (an administrator's id included), so PTB's webhook server must check Telegram's header.
        """
        if not secret_token:
            raise StartupRefused(WEBHOOK_SECRET_MISSING)
        await self.initialize()
        if self.post_init is not None:
            await self.post_init(self)
        await self.start()
        assert self.updater is not None
        await self.updater.start_webhook(
            listen=listen,
            port=port,
            url_path=urlsplit(url).path.lstrip("/"),
            webhook_url=url,
            secret_token=secret_token,
            allowed_updates=Update.ALL_TYPES,
        )

    async def end_polling(self) -> None:
        """Stop polling and handling, then shut down and run post_shutdown (PTB runs it only inside its
        blocking ``run_polling``): the counterpart of :meth:`begin_polling`."""
        if self.updater is not None and self.updater.running:
            await self.updater.stop()
        if self.running:
            await self.stop()
        await self.shutdown()
        if self.post_shutdown is not None:
            await self.post_shutdown(self)

    async def process_update(self, update: object) -> None:
        try:
            await super().process_update(update)
        finally:
            for listener in list(self.update_listeners):
                listener(update)


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<token>")
    return text


def _first_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def make_error_handler(token: str) -> Any:
    """The one error handler: log the error without the token (one line when the database is away).

    The person has been answered already, inside the failed step and in their own language
    (handlers/steps.py): PTB gives error handlers a fresh context, without the step's turn.
    """

    async def on_error(update: object, context: AmanatContext) -> None:
        error = context.error
        detail = "".join(traceback.format_exception(error)) if error is not None else "unknown error"
        where = ""
        if isinstance(update, Update):
            user = update.effective_user
            where = f" (update {update.update_id}, user {user.id if user else '-'})"
        if error is not None and database_unavailable(error):  # one line: the database is away, not a bug
            _LOGGER.error("the database is unavailable%s: %s", where, _redact(_first_line(error), [token]))
        else:
            _LOGGER.error("error while handling an update%s:\n%s", where, _redact(detail, [token]))
        raise ApplicationHandlerStop  # no fallback handler answers the same update after an error

    return on_error


def command_menu(lang: str, *, volunteers: bool = False) -> list[BotCommand]:
    """The command menu of private chats in ``lang``."""
    t = translator(lang)
    # /ask and /story only when someone answers (a story waits for a volunteer's review)
    names = (*dialogue.COMMANDS, *((*cases.COMMANDS, *stories.COMMANDS) if volunteers else ()))
    return [BotCommand(name, t.plain(f"command.{name}")) for name in names]


async def set_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The command menu for private chats, per language, and the default one."""
    services: Services = application.bot_data["services"]
    volunteers = cases.volunteers_configured(services.settings)
    scope = BotCommandScopeAllPrivateChats()
    for lang in LANGUAGES:
        await application.bot.set_my_commands(
            command_menu(lang, volunteers=volunteers), scope=scope, language_code=lang
        )
    await application.bot.set_my_commands(
        command_menu(services.settings.i18n.default_language, volunteers=volunteers), scope=scope
    )


def make_post_init(
    open_registry: RegistryOpener | None,
) -> Callable[[Application[Any, Any, Any, Any, Any, Any]], Coroutine[Any, Any, None]]:
    """post_init: open the registry search (``open_registry``; else the keys table), then the command menu."""

    async def post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        services: Services = application.bot_data["services"]
        if open_registry is not None:
            registry = await open_registry(services.db)
            application.bot_data["services"] = dataclasses.replace(services, registry=registry)
        await set_commands(application)

    return post_init


async def close_registry(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """post_shutdown: close the registry search opened at start."""
    services: Services = application.bot_data["services"]
    await services.registry.close()


def default_features(settings: Settings) -> Features:
    """The optional parts of the dialogue this configuration supports ("ask a volunteer" needs volunteers;
    a search just saved is checked against the open appeals)."""
    ask = cases.ask_from_results if cases.volunteers_configured(settings) else None
    return Features(ask_volunteer=ask, search_saved=appeal_reply.tell_of_open_appeals)


def build_application(
    settings: Settings,
    db: Database,
    *,
    token: str | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    features: Features | None = None,
    rate_limiter: bool = True,
    open_registry: RegistryOpener | None = None,
) -> AmanatApplication:
    """An Application for ``settings`` on ``db``, with the dialogue's handlers registered.

    ``token``, ``base_url`` and ``base_file_url`` override the settings (a stand-in of the Bot API);
    ``features`` switches on optional buttons (e.g. "ask a volunteer") that later issues provide;
    ``open_registry`` opens the registry search when the application starts (the bot and the console
    keep the registry in memory: :func:`open_registry_index`); without it searches use the keys table.
    """
    bot_token = token or settings.telegram.token.get_secret_value()
    if not bot_token:
        raise ValueError("no bot token: set TELEGRAM_BOT_TOKEN (or AMANAT_TELEGRAM__TOKEN)")
    builder = (
        ApplicationBuilder()
        .application_class(AmanatApplication)
        .token(bot_token)
        .base_url(base_url or settings.telegram.base_url)
        .base_file_url(base_file_url or settings.telegram.base_file_url)
        .defaults(
            Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
        .context_types(ContextTypes(context=AmanatContext))
        .post_init(make_post_init(open_registry))
        .post_shutdown(close_registry)
        # Chats at once, each chat's updates in order (handlers/update_order.py); dialogue state is read from
        # the database per update, so any process can serve any update.
        .concurrent_updates(
            PerChatUpdateProcessor(settings.telegram.concurrent_updates, backlog=settings.flood.backlog)
        )
    )
    if rate_limiter:
        # Telegram's limits per bot token, shared by every process; replies before background sends.
        limiter = SharedRateLimiter(
            open_send_budget(settings, db), group_per_minute=settings.limits.group_per_minute, max_retries=2
        )
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    application = builder.build()
    assert isinstance(application, AmanatApplication)
    application.bot_data["services"] = Services(
        db=db,
        settings=settings,
        registry=StoredRegistry(db),
        story_store=open_story_store(settings.stories),
        features=features or default_features(settings),
    )
    application.add_error_handler(make_error_handler(bot_token))
    flood.register(application)  # per-user flood control, before every other handler
    cases.register(application)  # cases: before the dialogue (group -1), see handlers/cases.py
    review.register(application)  # /review for volunteers (group -1)
    family.register(application)  # /family for volunteers and the family's answer (group -1)
    moderation.register(application)  # /moderate for volunteers (group MODERATION)
    stories.register(application)  # /story and a story being written, before the dialogue (STORIES)
    dialogue.register(application)
    notifications.register(application)  # buttons under notifications, pause/resume in /my (FEATURES)
    appeals.register(application)  # /appeal and the broadcast's buttons (administrators)
    appeal_reply.register(application)  # "This may be my relative" and the channel's deep link
    roles.register(application)  # /grant, /revoke, /roles (administrators)
    stats.register(application)  # /stats for admins (FEATURES)
    return application


async def run_polling(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run the bot with long polling until ``stop`` is set (or the task is cancelled / Ctrl+C).

    Opens (and migrates) the configured database, builds the Application, polls with the configured
    timeout, and shuts everything down cleanly. Dialogue state is in the database, so a restart — clean
    or not — continues every dialogue where it was.
    """
    cap_library_loggers()  # httpx logs request URLs, and the URL holds the token
    telegram = settings.telegram
    if telegram.webhook_url and not telegram.webhook_secret.get_secret_value():
        raise StartupRefused(WEBHOOK_SECRET_MISSING)
    db = await open_database(settings)
    monitoring = Monitoring(settings, db)  # /healthz and /metrics on web.listen:web.port (bot.monitoring)
    try:
        await check_database(db)  # writable, and not a silently emptied file
        # The registry in memory (opened in post_init): searches stay fast at 1M readings.
        application = build_application(settings, db, open_registry=monitoring.open_registry_index)
        store = application.bot_data["services"].story_store
        await store.check()  # a bucket that is missing or refuses the keys stops the start, in one line
        _LOGGER.info("the memory book's files: %s", store.describe())
        monitoring.instrument(application)
        # The web board (/board/, /api/) on the same server, acting on cases as the chat does.
        board = BoardApi(settings, db, application.bot.token, BoardActions(application))
        monitoring.web.add_routes(board.install)
        await monitoring.start()  # /healthz says "index: loading" until post_init has opened it
    except BaseException:
        await monitoring.stop()
        await db.dispose()
        raise
    register_jobs(application, settings, db)  # matching, the outbox sender, the heartbeat
    if settings.web.port:
        register_board_stats(application, settings, db)  # the snapshot /api/stats serves
    stop_event = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):  # a service manager's stop is a clean stop
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal_number, stop_event.set)
    try:
        if telegram.webhook_url:
            await application.begin_webhook(
                listen=telegram.webhook_listen,
                port=telegram.webhook_port,
                url=telegram.webhook_url,
                secret_token=telegram.webhook_secret.get_secret_value(),
            )
            _LOGGER.info(
                "Amanat is running (webhook on %s:%s)", telegram.webhook_listen, telegram.webhook_port
            )
        else:
            await application.begin_polling(timeout=int(telegram.poll_timeout_seconds))
            _LOGGER.info("Amanat is running (long polling); Ctrl+C stops it")
        lost: list[str] = []
        watcher = asyncio.create_task(watch_database_file(db.url, stop_event, lost))
        try:
            await stop_event.wait()
        finally:
            watcher.cancel()
            await application.end_polling()
        if lost:
            raise DatabaseFileLost(lost[0])
    finally:
        await monitoring.stop()
        await db.dispose()


def run_bot(settings: Settings) -> None:
    """`amanat run`: the bot (long polling, or a webhook when configured) until Ctrl+C or SIGTERM."""
    setup_logging(settings)  # the CLI has done it already; this keeps run_bot safe to call on its own
    try:
        asyncio.run(run_polling(settings))
    except KeyboardInterrupt:
        _LOGGER.info("stopped")
