"""`amanat console`: chat with the real bot in the terminal, offline — no token, no network.

The same Application, handlers and database as `amanat run`, but the Bot API is an in-process
:class:`~botapi_standin.BotApiStandIn` on 127.0.0.1. You are one Telegram user; what you type is sent
as your message, and inline buttons are shown as numbered choices: type the number to press one. A line
that starts with ``'`` is always sent as text (``'2`` sends "2"). ``/quit`` or end of input leaves.

Notifications reach the console too: what the outbox holds for its chat is delivered when it starts, and
``/check`` runs a matching pass (as ``amanat match`` does) and delivers what it found. The console's own
lines (intro, goodbye) are in the person's chosen language; ``--lang`` sets it. Logs stay off the screen
unless ``verbose`` (``amanat console -v``).

It works with piped input too (``printf '/start\\n1\\n/search Легкодымов 1904\\n' | amanat console``):
each line is sent only after the bot has finished answering the previous one.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from typing import Final, TextIO

from bot.app import build_application
from bot.config import Settings
from bot.database import open_database
from bot.i18n import Translator, translator
from bot.logs import cap_library_loggers
from bot.services.matching import run_matching_pass
from bot.services.people import get_person, set_language
from bot.services.registry_index import open_registry_index
from botapi_standin import BotApiStandIn, Observed, SentMessage, SimUser, Toast
from handlers.notifications import deliver_due
from handlers.turn import services_of
from models import Database

_LOGGER = logging.getLogger(__name__)

CONSOLE_USER_ID: Final = 1
HANDLE_TIMEOUT: Final = 60.0


class ConsoleChat:
    """Shows the bot's messages as text and turns typed numbers into button presses."""

    def __init__(self, api: BotApiStandIn, user: SimUser, stdout: TextIO) -> None:
        self.api = api
        self.user = user
        self.stdout = stdout
        self.buttons: list[tuple[SentMessage, str]] = []  # (message, caption) of the numbered choices

    def show(self, message: SentMessage) -> None:
        """Print one bot message (or edit) with its buttons numbered."""
        marker = "bot ✎" if message.edited else "bot ›"
        lines = message.text.splitlines() or [""]
        self.stdout.write(f"{marker} {lines[0]}\n")
        for line in lines[1:]:
            self.stdout.write(f"      {line}\n")
        captions = message.button_texts()
        if captions:
            self.buttons = [(message, caption) for caption in captions]
            for number, caption in enumerate(captions, start=1):
                self.stdout.write(f"      [{number}] {caption}\n")
        self.stdout.write("\n")

    def show_toast(self, toast: Toast) -> None:
        if toast.text:
            self.stdout.write(f"bot ⓘ {toast.text}\n\n")

    def choice(self, line: str) -> tuple[SentMessage, str] | None:
        """The button a typed number picks, if it is one of the current choices."""
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            return self.buttons[int(line) - 1]
        return None


def readable_text(line: str) -> str:
    """``line`` as valid Unicode: bytes that were not UTF-8 (a terminal cuts a long line in the middle of
    a letter, at its 4,096-byte limit; a pasted cp1251 text) become U+FFFD instead of lone surrogates,
    which nothing downstream can encode."""
    try:
        raw = line.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that never was a byte
        raw = line.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _tolerant(stdin: TextIO) -> None:
    """Make a real stream decode undecodable bytes instead of raising (see :func:`readable_text`)."""
    if isinstance(stdin, io.TextIOWrapper) and stdin.errors == "strict":
        stdin.reconfigure(errors="surrogateescape")


async def _read_line(stdin: TextIO) -> str | None:
    line = await asyncio.to_thread(stdin.readline)
    return None if line == "" else readable_text(line.rstrip("\r\n"))


async def _send(api: BotApiStandIn, console: ConsoleChat, user: SimUser, line: str) -> int | None:
    """Send a typed line as a message or a button press; None if the chosen button is gone."""
    picked = console.choice(line)
    if picked is None:
        return await api.send_text(user, line[1:] if line.startswith("'") else line)
    message, caption = picked
    current = next((m for m in api.messages(user.id) if m.message_id == message.message_id), None)
    if current is None or caption not in current.button_texts():
        return None
    return await api.press(user, current, caption)


async def console_language(db: Database, settings: Settings, lang: str | None) -> Translator:
    """The console's own lines: the person's stored language, else ``--lang``, else the default."""
    person = await get_person(db, CONSOLE_USER_ID)
    if person is not None and person.consented and person.language:
        return translator(person.language)
    return translator(lang or settings.i18n.default_language)


async def run_console(
    settings: Settings,
    lang: str | None = None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    *,
    verbose: bool = False,
) -> int:
    """Chat with the bot until /quit or end of input; returns the exit code (0)."""
    if not verbose:  # the chat is the screen: logs only with -v
        logging.disable(logging.ERROR)
    try:
        return await _run_console(settings, lang, stdin, stdout)
    finally:
        if not verbose:
            logging.disable(logging.NOTSET)


async def _run_console(settings: Settings, lang: str | None, stdin: TextIO, stdout: TextIO) -> int:
    cap_library_loggers()  # httpx logs request URLs, and the URL holds the token
    for noisy in ("telegram", "alembic", "apscheduler"):  # with -v: only their warnings
        logging.getLogger(noisy).setLevel(logging.WARNING)
    db = await open_database(settings)
    api = BotApiStandIn(token="100000:CONSOLE", bot_username="amanat_console_bot")
    await api.start()
    app = build_application(
        settings,
        db,
        token=api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        rate_limiter=False,
        open_registry=open_registry_index,  # the registry in memory: searches stay fast at 1M readings
    )
    handled: set[int] = set()
    changed = asyncio.Event()

    def on_handled(update: object) -> None:
        update_id = getattr(update, "update_id", None)
        if isinstance(update_id, int):
            handled.add(update_id)
            changed.set()

    async def wait_handled(update_id: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANDLE_TIMEOUT
        while update_id not in handled and loop.time() < deadline:
            changed.clear()
            try:
                await asyncio.wait_for(changed.wait(), deadline - loop.time())
            except TimeoutError:
                break

    app.update_listeners.append(on_handled)
    user = api.user(CONSOLE_USER_ID, "Console", language_code=lang)
    console = ConsoleChat(api, user, stdout)

    def on_observed(item: Observed) -> None:
        if isinstance(item, SentMessage) and item.chat_id == user.id and not item.deleted:
            console.show(item)
        elif isinstance(item, Toast) and item.chat_id == user.id:
            console.show_toast(item)

    api.add_listener(on_observed)
    person = await get_person(db, CONSOLE_USER_ID)
    if lang and person is not None and person.consented and person.language != lang:
        await set_language(db, CONSOLE_USER_ID, lang)  # --lang: the bot speaks it too
    t = await console_language(db, settings, lang)
    echo = not stdin.isatty()
    _tolerant(stdin)
    try:
        await app.begin_polling(poll_interval=0, timeout=1)
        stdout.write(t.plain("console.intro") + "\n\n")
        await deliver_due(db, app.bot, settings, chat_id=user.id)  # what the outbox holds for this chat
        stdout.flush()
        while True:
            if not echo:
                stdout.write("you › ")
                stdout.flush()
            line = await _read_line(stdin)
            if line is None or line.strip() == "/quit":
                break
            line = line.strip()
            if not line:
                continue
            if echo:
                stdout.write(f"you › {line}\n")
            if line == "/check":  # a matching pass now, and what it found for this chat
                await run_matching_pass(db, settings, registry=services_of(app).registry)
                report = await deliver_due(db, app.bot, settings, chat_id=user.id)
                if not report.sent:
                    t = await console_language(db, settings, lang)
                    stdout.write(t.plain("console.check_nothing") + "\n\n")
                stdout.flush()
                continue
            try:
                update_id = await _send(api, console, user, line)
            except Exception as error:  # whatever was typed, the console goes on
                _LOGGER.warning("could not send a typed line (%s)", type(error).__name__)
                stdout.write(t.plain("console.unreadable") + "\n\n")
                continue
            if update_id is None:
                stdout.write(t.plain("console.no_such_button") + "\n\n")
                continue
            await wait_handled(update_id)
            stdout.flush()
        t = await console_language(db, settings, lang)  # they may have chosen another one meanwhile
        stdout.write(t.plain("console.bye") + "\n")
        stdout.flush()
    finally:
        api.remove_listener(on_observed)
        await app.end_polling()
        await api.stop()
        await db.dispose()
    return 0
