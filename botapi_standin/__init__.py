"""A local stand-in of the Telegram Bot API, for end-to-end tests and the offline console.

A tool of its own, beside the bot: only the composition (``bot.console``), the tests and the benchmarks
import it. It implements the Bot API methods the bot calls (``getMe``, ``getUpdates``, the webhook
methods, ``setMyCommands``, ``sendMessage``, ``sendPhoto``, ``copyMessage``, ``editMessageText``, ``editMessageReplyMarkup``,
``deleteMessage(s)``, ``answerCallbackQuery``, ``getChat``, ``getChatMember``); any other method
answers 404.

:class:`BotApiStandIn` is a small :mod:`aiohttp` web server bound to ``127.0.0.1`` on a free port.
The real bot (python-telegram-bot 22) talks to it over real HTTP once its ``base_url`` and
``base_file_url`` point here::

    async with BotApiStandIn() as api:
        app = (
            ApplicationBuilder()
            .token(api.token)
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .build()
        )
        ...  # add handlers
        async with app:
            await app.start()
            await app.updater.start_polling(poll_interval=0, timeout=1)
            alice = api.user(1001, "Алия")
            await api.send_text(alice, "/start")
            [reply] = await api.wait_for_messages(alice.id)
            await api.press(alice, reply, "Найти")
            ...
            await app.updater.stop()
            await app.stop()

What it simulates:

* the transport: every method is accepted as ``POST`` (or ``GET``) to ``/bot{token}/{method}``
  with form-encoded, multipart or JSON parameters; nested objects (``reply_markup``, ``entities``
  …) may arrive as JSON strings, as PTB sends them. Answers are Telegram's
  ``{"ok": true, "result": …}`` / ``{"ok": false, "error_code": …, "description": …}``;
  a wrong token gets 401, an unknown method 404.
* long polling: ``getUpdates`` honours ``offset`` (updates below it are confirmed and dropped),
  ``limit``, ``timeout`` (blocks until an update is queued) and ``allowed_updates``; a second
  concurrent ``getUpdates`` terminates the first with 409, as Telegram does; stopping the stand-in
  releases any pending long poll at once.
* photos: ``sendPhoto`` takes a ``file_id`` the stand-in issued (a user's photo, an earlier upload) or
  a multipart upload; it is recorded like a text (``SentMessage.method`` "sendPhoto", ``text`` the
  caption) and :meth:`~BotApiStandIn.photo_of` gives the photo's bytes back.
* users and chats: :meth:`BotApiStandIn.user` and :meth:`BotApiStandIn.group` register them;
  :meth:`~BotApiStandIn.send_text`, :meth:`~BotApiStandIn.press` and friends queue the updates a
  Telegram client would produce (``reply_to=`` makes a message a reply to one of the bot's).
* Telegram's validation, with Telegram's error texts: empty or too long text (4096 UTF-16 code
  units after entity parsing; a photo's caption 1,024), HTML that does not parse (the only parse mode: the bot sends HTML),
  invalid inline keyboards (``BUTTON_DATA_INVALID`` …), edits that change nothing, unknown messages and chats.
  The HTML check is a little *stricter* than Telegram: an ``&`` that does not start one of
  ``&lt; &gt; &amp; &quot; &#NN; &#xNN;`` is rejected (Telegram would show it literally, which is
  a rendering bug in the bot either way).
* failures on demand: :meth:`~BotApiStandIn.fail_next` (403 / 429 with ``retry_after`` / 500 /
  anything), :meth:`~BotApiStandIn.block` (a user who blocked the bot),
  :meth:`~BotApiStandIn.deactivate` (a deleted account: 403 "user is deactivated"),
  :meth:`~BotApiStandIn.lose_chat` (400 "chat not found" from then on), and optional flood
  control (:class:`FloodLimits`) that answers 429 like Telegram when the bot sends too fast.

What the tests observe: :attr:`~BotApiStandIn.calls` (every request with its time and outcome),
:meth:`~BotApiStandIn.wait_for_messages` (the bot's messages and edits, in
order, as immutable :class:`SentMessage` snapshots), :meth:`~BotApiStandIn.messages` (what each chat
shows now), :meth:`~BotApiStandIn.toasts` (``answerCallbackQuery`` texts) and listeners
(:meth:`~BotApiStandIn.add_listener`) for the console.

Fast, reliable PTB settings for tests: ``start_polling(poll_interval=0, timeout=1)`` (an update is
delivered within a few milliseconds of being queued because the long poll wakes immediately;
``timeout`` only bounds how long an idle poll lasts) and ``updater.stop()`` before
``BotApiStandIn.stop()``; PTB cancels its in-flight poll on stop and then sends one
``getUpdates(timeout=0)``, which returns at once.

Modules: :mod:`~botapi_standin.server` (the HTTP server and the simulated chats),
:mod:`~botapi_standin.params` (request parameters and Telegram's checks of them),
:mod:`~botapi_standin.objects` (what tests observe), :mod:`~botapi_standin.entities` (the HTML entity
parser), :mod:`~botapi_standin.flood` (flood limits).
"""

from botapi_standin.entities import EntityParseError, parse_html, utf16_len
from botapi_standin.flood import FloodLimits
from botapi_standin.objects import ApiCall, Button, Observed, SentMessage, SimChat, SimUser, Toast
from botapi_standin.server import BotApiStandIn

__all__ = [
    "ApiCall",
    "BotApiStandIn",
    "Button",
    "EntityParseError",
    "FloodLimits",
    "Observed",
    "SentMessage",
    "SimChat",
    "SimUser",
    "Toast",
    "parse_html",
    "utf16_len",
]
