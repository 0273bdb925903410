"""The stand-in's HTTP server: :class:`BotApiStandIn`, its simulated chats, and the Bot API methods the bot calls.

Every method is accepted as ``POST`` (or ``GET``) to ``/bot{token}/{method}`` with form-encoded,
multipart or JSON parameters; answers are Telegram's ``{"ok": true, "result": …}`` /
``{"ok": false, "error_code": …, "description": …}``. Only the methods the bot (and its tests) use
are implemented; any other answers 404, loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import socket
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Final, Literal

import aiohttp
from aiohttp import web

from botapi_standin.entities import EntityParseError, parse_html, utf16_len
from botapi_standin.flood import FloodLimits, TokenBucket
from botapi_standin.objects import ApiCall, Observed, SentMessage, SimChat, SimUser, Toast
from botapi_standin.params import (
    ApiError,
    bad_request,
    coerce,
    command_entities,
    int_param,
    parse_buttons,
    split_utf16,
    validate_reply_markup,
)

_LOGGER = logging.getLogger(__name__)

JSONDict = dict[str, Any]

MAX_TEXT_LENGTH: Final = 4096
MAX_CAPTION_LENGTH: Final = 1024


@dataclass
class _Failure:
    code: int
    remaining: int
    description: str
    parameters: JSONDict | None
    methods: frozenset[str] | None


@dataclass
class _Msg:
    """A stored message (the bot's or a user's), mutable; snapshots are taken for the bot's."""

    chat_id: int
    message_id: int
    date: int
    sender: JSONDict
    from_bot: bool
    content: JSONDict  # text/entities, or a user's photo/sticker/… as in the Bot API
    raw_text: str = ""
    parse_mode: str | None = None
    reply_markup: JSONDict | None = None
    edit_date: int | None = None
    version: int = 0
    deleted: bool = False
    method: str = "sendMessage"


@dataclass
class _ChatState:
    chat: SimChat
    next_message_id: int = 1
    messages: dict[int, _Msg] = field(default_factory=dict)
    log: list[SentMessage] = field(default_factory=list)
    toasts: list[Toast] = field(default_factory=list)
    members: set[int] = field(default_factory=set)
    admins: set[int] = field(default_factory=set)
    started: bool = True
    blocked: bool = False
    deactivated: bool = False  # the user deleted their account: 403 "user is deactivated"
    gone: bool = False  # the chat no longer exists for the bot: 400 "chat not found"
    transcript: Transcript | None = None


_DEFAULT_UPDATE_TYPES: Final = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)

# Methods that send or change something in a chat: failure injection and blocking apply to them.
_CHAT_WRITE_METHODS: Final = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "copyMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
        "deleteMessages",
    )
)
# Methods that flood control counts (Telegram limits sending, not editing).
_FLOOD_METHODS: Final = frozenset({"sendmessage", "copymessage", "sendphoto", "senddocument"})

_ADMIN_RIGHTS: Final[Mapping[str, bool]] = {
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": True,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": True,
    "can_edit_stories": True,
    "can_delete_stories": True,
    "can_pin_messages": True,
}
_NOT_MODIFIED: Final = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)
_COMMAND_RE: Final = re.compile(r"[a-z0-9_]{1,32}")


_Handler = Callable[[JSONDict], Awaitable[Any]]


class Transcript:
    """A cursor over the bot's messages in one chat: each message and each edit, in order.

    :meth:`next` waits for versions after the cursor and moves it; :meth:`pending` takes what
    is there without waiting. Edits of earlier messages appear as new versions (``edited`` set,
    ``version`` counting up), so "the bot edited the menu" is observable. Deletions are not
    transcript entries (see :meth:`BotApiStandIn.messages` and listeners).
    """

    def __init__(self, standin: BotApiStandIn, chat_id: int, start: int = 0) -> None:
        self._standin = standin
        self.chat_id = chat_id
        self.position = start

    def _log(self) -> list[SentMessage]:
        return self._standin._chat_log(self.chat_id)

    def pending(self) -> list[SentMessage]:
        """All versions after the cursor, without waiting; moves the cursor to the end."""
        log = self._log()
        items = log[self.position :]
        self.position = len(log)
        return items

    async def next(self, count: int = 1, timeout: float = 5.0) -> list[SentMessage]:
        """Wait for ``count`` more versions and return exactly those; raise TimeoutError if they
        do not come within ``timeout`` seconds (the cursor then stays where it was)."""
        target = self.position + count
        arrived = await self._standin._wait_until(lambda: len(self._log()) >= target, timeout)
        log = self._log()
        if not arrived:
            got = log[self.position :]
            raise TimeoutError(
                f"chat {self.chat_id}: expected {count} new bot message(s) within {timeout}s, got "
                f"{len(got)}: {[m.text[:80] for m in got]}"
            )
        items = log[self.position : target]
        self.position = target
        return items

    async def expect_silence(self, within: float = 0.3) -> None:
        """Raise AssertionError if the bot sends or edits anything in the chat within ``within`` s."""
        start = self.position
        if await self._standin._wait_until(lambda: len(self._log()) > start, within):
            raise AssertionError(
                f"chat {self.chat_id}: expected no bot messages, got "
                f"{[m.text[:80] for m in self._log()[start:]]}"
            )


class BotApiStandIn:
    """A Telegram Bot API server on ``127.0.0.1``, with simulated users, for the real bot to use.

    Start it with ``await api.start()`` (or ``async with BotApiStandIn() as api``), point the bot
    at :attr:`base_url` / :attr:`base_file_url` with :attr:`token`, then act as users
    (:meth:`user`, :meth:`send_text`, :meth:`press` …) and observe the bot
    (:meth:`wait_for_messages`, :meth:`messages`, :meth:`toasts`, :attr:`calls`).
    Everything runs on the event loop that called :meth:`start`; the methods are not thread-safe.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "amanat_test_bot",
        *,
        bot_first_name: str = "Amanat",
        flood_limits: FloodLimits | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        prefix = token.partition(":")[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_first_name = bot_first_name
        self._flood_limits = flood_limits
        self.host = host
        self.port = port
        self.calls: list[ApiCall] = []
        """Every request received, in arrival order (including failed and rejected ones)."""

        self._users: dict[int, SimUser] = {}
        self._chats: dict[int, _ChatState] = {}
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = _DEFAULT_UPDATE_TYPES
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._failures: dict[int | None, list[_Failure]] = {}
        self._callback_queries: dict[str, Toast] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._webhook: JSONDict = {}
        self.webhook_target: str | None = None
        """Where webhook deliveries go on this machine (what a reverse proxy behind the public HTTPS
        URL would forward to, e.g. ``http://127.0.0.1:8443/hook``); None: updates wait for getUpdates."""
        self._webhook_lock = asyncio.Lock()
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self._listeners: list[Callable[[Observed], None]] = []
        self._file_ids = itertools.count(1)
        self._files: dict[str, bytes] = {}
        """The bytes of every file a user or the bot sent, by file id (served by getFile and /file/)."""
        self._buckets: dict[int | None, TokenBucket] = {}
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._methods: dict[str, _Handler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._ok,
                "close": self._ok,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "copyMessage": self._copy_message,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "getFile": self._get_file,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "deleteMessages": self._delete_messages,
                "answerCallbackQuery": self._answer_callback_query,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
            }.items()
        }

    # ----------------------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """The ``base_url`` for PTB (the token is appended by PTB)."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """The ``base_file_url`` for PTB: ``getFile``'s ``file_path`` is downloaded from under it."""
        return f"http://{self.host}:{self.port}/file/bot"

    @property
    def flood_limits(self) -> FloodLimits | None:
        """Flood control (``None``: off). Assigning it, even the same value, resets the counters."""
        return self._flood_limits

    @flood_limits.setter
    def flood_limits(self, limits: FloodLimits | None) -> None:
        self._flood_limits = limits
        self._buckets.clear()

    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    async def start(self) -> None:
        """Start listening on :attr:`host`; with ``port=0`` a free port is chosen (see :attr:`port`)."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self.port = sock.getsockname()[1]
        self._runner = runner

    async def stop(self) -> None:
        """Release pending long polls (they return no updates) and stop the server."""
        if self._runner is None:
            return
        self._closing = True
        self._bump()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiStandIn:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------- simulated people

    @property
    def bot_user(self) -> JSONDict:
        """The bot's own ``User`` object (``getMe``)."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def user(
        self,
        user_id: int,
        first_name: str = "Тест",
        language_code: str | None = "ru",
        username: str | None = None,
        last_name: str | None = None,
        *,
        started: bool = True,
    ) -> SimUser:
        """Register (or update) a user and their private chat with the bot.

        ``started=False`` models someone who never opened the bot: sending to them fails with 403
        "bot can't initiate conversation with a user" until they write. A chat id the stand-in
        never heard of gets 400 "chat not found".
        """
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = SimUser(user_id, first_name, last_name, username, language_code)
        self._users[user_id] = user
        chat = SimChat(user_id, "private", username=username, first_name=first_name, last_name=last_name)
        state = self._chats.get(user_id)
        if state is None:
            self._chats[user_id] = _ChatState(chat=chat, started=started)
        else:
            state.chat = chat
        return user

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        type: Literal["group", "supergroup"] = "supergroup",
        username: str | None = None,
        members: Iterable[SimUser] = (),
        admins: Iterable[SimUser] = (),
    ) -> SimChat:
        """Register a group (negative id) that the bot is a member of, with optional members/admins.

        Any user who writes in the group becomes a member. Privacy mode is not simulated: the bot
        receives every message in the group.
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        chat = SimChat(chat_id, type, title=title, username=username)
        state = self._chats.setdefault(chat_id, _ChatState(chat=chat))
        state.chat = chat
        state.admins.update(u.id for u in admins)
        state.members.update(u.id for u in members)
        state.members.update(state.admins)
        return chat

    def _state(self, chat_id: int) -> _ChatState:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(f"chat {chat_id} is not registered; call user() or group() first") from None

    def _queue_update(self, kind: str, payload: JSONDict) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        if self._webhook.get("url") and self.webhook_target:
            task = asyncio.get_running_loop().create_task(self._deliver_webhook(update))
            self._webhook_tasks.add(task)
            task.add_done_callback(self._webhook_tasks.discard)
            return update_id
        self._updates.append(update)
        self._bump()
        return update_id

    async def _deliver_webhook(self, update: JSONDict) -> None:
        """POST one update to the webhook target, in order, with Telegram's secret-token header."""
        headers = {}
        if self._webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(self._webhook["secret_token"])
        async with self._webhook_lock:
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(str(self.webhook_target), json=update, headers=headers) as response,
                ):
                    delivered = response.status < 300
            except aiohttp.ClientError:
                delivered = False
            if not delivered:  # kept, as Telegram keeps an update its webhook refused
                self._updates.append(update)
                self._bump()

    def _user_chat(self, user: SimUser, chat: SimChat | None) -> _ChatState:
        if user.id not in self._users:
            self.user(user.id, user.first_name, user.language_code, user.username, user.last_name)
        state = self._state(chat.id if chat is not None else user.id)
        if state.chat.type == "private":
            state.started = True
        else:
            state.members.add(user.id)
        return state

    async def send_message_content(
        self,
        user: SimUser,
        content: Mapping[str, Any],
        chat: SimChat | None = None,
    ) -> int:
        """Queue a message from ``user`` with arbitrary Bot API content (``{"location": …}`` …).

        Returns the update id. The other ``send_*`` helpers are built on this one.
        """
        state = self._user_chat(user, chat)
        message = self._new_message(state, user.to_api(), from_bot=False, content=dict(content))
        return self._queue_update("message", self._message_api(message))

    def reply_content(self, content: Mapping[str, Any], reply_to: SentMessage | int | None) -> JSONDict:
        """``content`` as a reply to one of the bot's messages (``reply_to_message``), as a client sends it."""
        data = dict(content)
        if reply_to is not None:
            chat_id, message_id = (
                (reply_to.chat_id, reply_to.message_id)
                if isinstance(reply_to, SentMessage)
                else (None, reply_to)
            )
            states = [self._chats[chat_id]] if chat_id is not None else list(self._chats.values())
            for state in states:
                stored = state.messages.get(message_id)
                if stored is not None and not stored.deleted:
                    data["reply_to_message"] = self._message_api(stored)
                    break
            else:
                raise LookupError(f"no message {message_id} to reply to")
        return data

    async def send_text(
        self,
        user: SimUser,
        text: str,
        chat: SimChat | None = None,
        *,
        reply_to: SentMessage | int | None = None,
    ) -> int:
        """Queue a text message from ``user`` (to their private chat, or to ``chat``; ``reply_to``: as a
        reply to that message of the bot's).

        A text starting with a command (``/start``, ``/search@bot Легкодымов``) gets a
        ``bot_command`` entity at offset 0. A text longer than 4096 UTF-16 units is split into
        several messages, as Telegram clients do; the id of the last update is returned.
        """
        if not text:
            raise ValueError("Telegram clients cannot send an empty message")
        update_id = 0
        for chunk in split_utf16(text, MAX_TEXT_LENGTH):
            content: JSONDict = {"text": chunk}
            entities = command_entities(chunk)
            if entities:
                content["entities"] = entities
            update_id = await self.send_message_content(user, self.reply_content(content, reply_to), chat)
        return update_id

    def _fake_file(self, kind: str, content: bytes) -> JSONDict:
        """The Bot API file fields of an attachment; its bytes are kept for ``getFile`` and the download."""
        file_id = f"{kind}-{next(self._file_ids):06d}"
        self._files[file_id] = bytes(content)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content)}

    def upload(self, content: bytes, kind: str = "photo") -> str:
        """A file id for ``content``, as if a user had sent it to the bot earlier (an appeal's photo made
        outside the dialogue)."""
        return str(self._fake_file(kind, content)["file_id"])

    def file_content(self, file_id: str) -> bytes:
        """The bytes of a file a user or the bot sent (KeyError when there is none)."""
        return self._files[file_id]

    async def send_sticker(self, user: SimUser, emoji: str = "👍", chat: SimChat | None = None) -> int:
        """Queue a sticker message."""
        sticker = self._fake_file("sticker", b"RIFF")
        sticker.update(type="regular", width=512, height=512, is_animated=False, is_video=False, emoji=emoji)
        return await self.send_message_content(user, {"sticker": sticker}, chat)

    async def send_photo(
        self,
        user: SimUser,
        caption: str | None = None,
        chat: SimChat | None = None,
        *,
        content: bytes = b"\xff\xd8\xff\xe0fake-jpeg",
        reply_to: SentMessage | int | None = None,
        media_group_id: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """Queue a photo message (with an optional caption; ``media_group_id``: one of an album).
        ``content`` is served to the bot by ``getFile``; ``file_size`` overrides the size Telegram reports."""
        photo = self._fake_file("photo", content)
        photo.update(width=800, height=600)
        if file_size is not None:
            photo["file_size"] = file_size
        data: JSONDict = {"photo": [photo]}
        if caption:
            data["caption"] = caption
        if media_group_id:
            data["media_group_id"] = media_group_id
        return await self.send_message_content(user, self.reply_content(data, reply_to), chat)

    async def send_voice(self, user: SimUser, duration: int = 3, chat: SimChat | None = None) -> int:
        """Queue a voice message."""
        voice = self._fake_file("voice", b"OggS")
        voice.update(duration=duration, mime_type="audio/ogg")
        return await self.send_message_content(user, {"voice": voice}, chat)

    async def send_document(
        self,
        user: SimUser,
        file_name: str,
        content: bytes,
        caption: str | None = None,
        chat: SimChat | None = None,
        *,
        mime_type: str = "text/csv",
        reply_to: SentMessage | int | None = None,
        media_group_id: str | None = None,
        file_size: int | None = None,
    ) -> int:
        """Queue a document (``content`` is served to the bot by ``getFile``; ``media_group_id``: one of
        an album; ``file_size`` overrides the size Telegram reports)."""
        document = self._fake_file("document", content)
        document.update(file_name=file_name, mime_type=mime_type)
        if file_size is not None:
            document["file_size"] = file_size
        data: JSONDict = {"document": document}
        if caption:
            data["caption"] = caption
        if media_group_id:
            data["media_group_id"] = media_group_id
        return await self.send_message_content(user, self.reply_content(data, reply_to), chat)

    async def press(
        self,
        user: SimUser,
        message: SentMessage | int,
        button_text_or_data: str,
        chat: SimChat | None = None,
    ) -> int:
        """Queue a ``callback_query``: ``user`` presses a button of a message the bot sent.

        The button is looked up in the message's *current* keyboard by text (then by
        ``callback_data``). Raises LookupError if there is no such message or button, ValueError
        if the button is a URL button (pressing it opens a link and sends nothing to the bot).
        """
        if isinstance(message, SentMessage):
            chat_id, message_id = message.chat_id, message.message_id
        else:
            chat_id, message_id = (chat.id if chat is not None else user.id), message
        state = self._state(chat_id)
        stored = state.messages.get(message_id)
        if stored is None or stored.deleted or not stored.from_bot:
            raise LookupError(f"no bot message {message_id} in chat {chat_id} to press a button on")
        button = self._snapshot(stored).button(button_text_or_data)
        if button.callback_data is None:
            raise ValueError(f"button {button.text!r} has no callback_data (a URL or other button)")
        return await self._queue_callback(user, state, message_id, button.callback_data)

    async def press_data(self, user: SimUser, message_id: int, data: str, chat: SimChat | None = None) -> int:
        """Queue a ``callback_query`` with arbitrary (forged or stale) ``data`` for ``message_id``.

        If the message is unknown or deleted, the query carries an ``InaccessibleMessage``
        (``date`` 0), as Telegram does for old messages.
        """
        state = self._user_chat(user, chat) if chat is not None else self._state(user.id)
        return await self._queue_callback(user, state, message_id, data)

    async def _queue_callback(self, user: SimUser, state: _ChatState, message_id: int, data: str) -> int:
        query_id = f"{self.bot_id}{next(self._query_ids):010d}"
        stored = state.messages.get(message_id)
        if stored is not None and not stored.deleted:
            message = self._message_api(stored)
        else:
            message = {"chat": state.chat.to_api(), "message_id": message_id, "date": 0}
        self._callback_queries[query_id] = Toast(
            chat_id=state.chat.id,
            user_id=user.id,
            message_id=message_id,
            callback_query_id=query_id,
            data=data,
            text=None,
        )
        payload = {
            "id": query_id,
            "from": user.to_api(),
            "message": message,
            "chat_instance": str(abs(hash((state.chat.id, self.bot_id)))),
            "data": data,
        }
        return self._queue_update("callback_query", payload)

    async def block(self, user: SimUser, *, notify: bool = True) -> int | None:
        """``user`` blocks the bot: every later send to them fails with 403 "bot was blocked by the
        user". With ``notify`` a ``my_chat_member`` update (member → kicked) is queued; its id is
        returned."""
        state = self._state(user.id)
        state.blocked = True
        return self._member_update(user, state, "member", "kicked") if notify else None

    def deactivate(self, user: SimUser) -> None:
        """``user`` deleted their Telegram account: every later send to them fails with 403 "user is
        deactivated" (Telegram sends no ``my_chat_member`` update for it)."""
        self._state(user.id).deactivated = True

    def lose_chat(self, chat_id: int) -> None:
        """The chat no longer exists for the bot (a group deleted, a user the bot may no longer see):
        every later call naming it fails with 400 "chat not found". Its history stays readable."""
        self._state(chat_id).gone = True

    def _member_update(self, user: SimUser, state: _ChatState, old: str, new: str) -> int:
        def member(status: str) -> JSONDict:
            data: JSONDict = {"status": status, "user": self.bot_user}
            if status == "kicked":
                data["until_date"] = 0
            return data

        payload = {
            "chat": state.chat.to_api(),
            "from": user.to_api(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return self._queue_update("my_chat_member", payload)

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        chat_id: int | None,
        code: int,
        times: int = 1,
        retry_after: int = 1,
        *,
        description: str | None = None,
        methods: Collection[str] | None = None,
    ) -> None:
        """Make the next ``times`` matching calls fail with HTTP ``code``.

        Matching calls are those to ``chat_id`` (``None``: to any chat, or any call at all when
        ``methods`` is given) of ``methods`` (default: every method that writes to a chat —
        ``sendMessage``, ``editMessageText``, ``editMessageReplyMarkup``, ``deleteMessage(s)``).
        Descriptions default to Telegram's: 403 "Forbidden: bot was blocked by the user",
        429 "Too Many Requests: retry after N" with ``parameters.retry_after`` (PTB raises
        ``RetryAfter``), 500 "Internal Server Error", 400 "Bad Request: …". To break polling, use
        ``fail_next(None, 500, methods={"getUpdates"})``.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        parameters: JSONDict | None = None
        if description is None:
            description = {
                400: "Bad Request: injected failure",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                409: "Conflict: terminated by other getUpdates request",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(code, f"Error {code}")
        if code == 429:
            parameters = {"retry_after": retry_after}
        self._failures.setdefault(chat_id, []).append(
            _Failure(
                code=code,
                remaining=times,
                description=description,
                parameters=parameters,
                methods=frozenset(m.lower() for m in methods) if methods is not None else None,
            )
        )

    def _check_failures(self, method: str, params: JSONDict) -> None:
        chat_id = params.get("chat_id")
        keys: list[int | None] = [chat_id] if isinstance(chat_id, int) else []
        keys.append(None)
        for key in keys:
            for failure in self._failures.get(key, []):
                if failure.methods is None:
                    if method not in _CHAT_WRITE_METHODS or (key is None and chat_id is None):
                        continue
                elif method not in failure.methods:
                    continue
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures[key].remove(failure)
                raise ApiError(failure.code, failure.description, failure.parameters)

    def _flood_buckets(self, method: str, params: JSONDict) -> list[TokenBucket]:
        """The token buckets a call draws from (none when flood control is off or exempt)."""
        limits = self.flood_limits
        if limits is None or method not in _FLOOD_METHODS:
            return []
        buckets: list[TokenBucket] = []
        if limits.global_per_second is not None:
            buckets.append(self._bucket(None, limits.global_per_second, limits.global_per_second))
        chat_id = params.get("chat_id")
        state = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if state is not None and state.chat.type != "private" and limits.group_per_minute is not None:
            rate = limits.group_per_minute / 60
            buckets.append(self._bucket(state.chat.id, limits.group_per_minute, rate))
        if state is not None and state.chat.type == "private" and limits.private_per_second is not None:
            buckets.append(self._bucket(state.chat.id, limits.private_burst, limits.private_per_second))
        return buckets

    def _bucket(self, key: int | None, capacity: float, rate: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.capacity != capacity or bucket.rate != rate:
            bucket = self._buckets[key] = TokenBucket(capacity, rate, capacity, time.monotonic())
        return bucket

    def _check_flood(self, method: str, params: JSONDict) -> None:
        now = time.monotonic()
        wait = max((bucket.wait(now) for bucket in self._flood_buckets(method, params)), default=0.0)
        if wait > 0:
            assert self.flood_limits is not None
            if wait <= self.flood_limits.tolerance:
                return
            retry_after = max(self.flood_limits.retry_after, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})

    def _record_flood(self, method: str, params: JSONDict) -> None:
        now = time.monotonic()
        for bucket in self._flood_buckets(method, params):
            bucket.take(now)

    # --------------------------------------------------------------------------- observing

    def add_listener(self, callback: Callable[[Observed], None]) -> None:
        """Call ``callback`` for every new message version, deletion, toast and chat action."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Observed], None]) -> None:
        """Stop calling ``callback``."""
        self._listeners.remove(callback)

    def _emit(self, item: Observed) -> None:
        for callback in list(self._listeners):
            try:
                callback(item)
            except Exception:
                _LOGGER.exception("stand-in listener failed")

    def _chat_log(self, chat_id: int) -> list[SentMessage]:
        state = self._chats.get(chat_id)
        return state.log if state is not None else []

    def transcript(self, chat_id: int, *, from_start: bool = False) -> Transcript:
        """A new cursor over the bot's messages in ``chat_id``, starting now (or at the start)."""
        return Transcript(self, chat_id, 0 if from_start else len(self._chat_log(chat_id)))

    def _default_transcript(self, chat_id: int) -> Transcript:
        state = self._state(chat_id)
        if state.transcript is None:
            state.transcript = Transcript(self, chat_id, 0)
        return state.transcript

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait for the next ``count`` bot message versions (new messages *and* edits) in the chat.

        Each chat has a default cursor, starting at the chat's first message; every call moves
        it past what it returns. Raises TimeoutError when fewer arrive within ``timeout``.
        """
        return await self._default_transcript(chat_id).next(count, timeout)

    def new_messages(self, chat_id: int) -> list[SentMessage]:
        """What :meth:`wait_for_messages` would return now, without waiting (moves the cursor)."""
        return self._default_transcript(chat_id).pending()

    async def expect_no_messages(self, chat_id: int, within: float = 0.3) -> None:
        """Raise AssertionError if the bot sends or edits anything past the default cursor."""
        await self._default_transcript(chat_id).expect_silence(within)

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in the chat as they are now (latest versions), oldest first."""
        state = self._chats.get(chat_id)
        if state is None:
            return []
        return [
            self._snapshot(m)
            for m in state.messages.values()
            if m.from_bot and (include_deleted or not m.deleted)
        ]

    def last_message(self, chat_id: int) -> SentMessage:
        """The newest (not deleted) message the bot sent to the chat."""
        current = self.messages(chat_id)
        if not current:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return current[-1]

    def history(self, chat_id: int) -> list[SentMessage]:
        """Every version of every bot message in the chat, in the order they happened."""
        return list(self._chat_log(chat_id))

    def toasts(self, chat_id: int, *, include_empty: bool = False) -> list[Toast]:
        """``answerCallbackQuery`` answers for presses in the chat (by default only those with text)."""
        state = self._chats.get(chat_id)
        if state is None:
            return []
        return [t for t in state.toasts if include_empty or t.text]

    def unanswered_callbacks(self) -> list[Toast]:
        """Button presses the bot has not answered yet (the user would see a spinner)."""
        return list(self._callback_queries.values())

    def commands(self, scope: Mapping[str, Any] | None = None, language_code: str = "") -> list[JSONDict]:
        """The command list set by ``setMyCommands`` for a scope and language."""
        return list(self._commands.get((self._scope_key(scope), language_code), []))

    def calls_of(self, *methods: str) -> list[ApiCall]:
        """The calls of the given methods (case-insensitive), in order."""
        wanted = {m.lower() for m in methods}
        return [c for c in self.calls if c.method.lower() in wanted]

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by the bot."""
        return len(self._updates)

    async def wait_for_toasts(self, chat_id: int, count: int, timeout: float = 5.0) -> list[Toast]:
        """Wait until the chat has ``count`` toasts with text (answers to its presses); returns them all.
        Raises TimeoutError when fewer arrive within ``timeout``."""
        if not await self._wait_until(lambda: len(self.toasts(chat_id)) >= count, timeout):
            raise TimeoutError(f"{len(self.toasts(chat_id))} of {count} toasts in chat {chat_id}")
        return self.toasts(chat_id)

    async def wait_idle(self, quiet: float = 0.05, timeout: float = 5.0) -> None:
        """Wait until every queued update is confirmed, no request is being handled and the bot made
        no request (other than ``getUpdates``) for ``quiet`` seconds. Raises TimeoutError.

        A handler that works silently for longer than ``quiet`` (no API calls) looks idle;
        prefer :meth:`wait_for_messages` when a reply is expected.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            settled = await self._wait_until(lambda: not self._updates and self._inflight == 0, remaining)
            if not settled:
                raise TimeoutError(
                    f"bot not idle after {timeout}s: {len(self._updates)} update(s) unconfirmed, "
                    f"{self._inflight} request(s) in flight"
                )
            idle_for = time.monotonic() - self._last_activity
            if idle_for >= quiet:
                return
            if loop.time() + (quiet - idle_for) > deadline:
                raise TimeoutError(f"bot kept calling the API for {timeout}s")
            await asyncio.sleep(quiet - idle_for)

    def _bump(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        return True

    # ------------------------------------------------------------------------------- HTTP

    async def _read_params(self, request: web.Request) -> JSONDict:
        params: JSONDict = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad_request("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise bad_request("JSON object expected")
                params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = {
                            "filename": value.filename,
                            "content_type": value.content_type,
                            "content": value.file.read(),
                        }
                    else:
                        params[key] = value
        return {key: coerce(key, value) for key, value in params.items()}

    @staticmethod
    def _error_payload(error: ApiError) -> JSONDict:
        payload: JSONDict = {"ok": False, "error_code": error.code, "description": error.description}
        if error.parameters:
            payload["parameters"] = error.parameters
        return payload

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = ApiCall(method=method, params={}, at=time.monotonic())
        self.calls.append(call)
        tracked = method.lower() != "getupdates"
        if tracked:
            self._inflight += 1
        try:
            status, payload = await self._answer(request, call)
        finally:
            if tracked:
                self._inflight -= 1
                self._last_activity = time.monotonic()
            self._bump()
        call.status = status
        call.description = payload.get("description")
        return web.json_response(payload, status=status)

    async def _answer(self, request: web.Request, call: ApiCall) -> tuple[int, JSONDict]:
        lowered = call.method.lower()
        try:
            call.params = await self._read_params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(lowered)
            if handler is None:
                raise ApiError(404, "Not Found")
            self._check_failures(lowered, call.params)
            self._check_flood(lowered, call.params)
            call.result = await handler(call.params)
            self._record_flood(lowered, call.params)
            return 200, {"ok": True, "result": call.result}
        except ApiError as error:
            return error.code, self._error_payload(error)
        except ConnectionError:  # the client went away mid-request (PTB cancels its poll on stop)
            return 499, {"ok": False, "error_code": 499, "description": "Client closed the connection"}
        except Exception as error:  # a bug in the stand-in: make it loud, never hang the bot
            _LOGGER.exception("stand-in failed on %s", call.method)
            return 500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: {error!r}"}

    # ------------------------------------------------------------------------ messages

    def _new_message(self, state: _ChatState, sender: JSONDict, *, from_bot: bool, content: JSONDict) -> _Msg:
        message = _Msg(
            chat_id=state.chat.id,
            message_id=state.next_message_id,
            date=int(time.time()),
            sender=sender,
            from_bot=from_bot,
            content=content,
        )
        state.next_message_id += 1
        state.messages[message.message_id] = message
        return message

    def _message_api(self, message: _Msg) -> JSONDict:
        state = self._chats[message.chat_id]
        data: JSONDict = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": state.chat.to_api(),
            "from": message.sender,
            **message.content,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _snapshot(self, message: _Msg) -> SentMessage:
        content = message.content
        text = str(content.get("text") or content.get("caption") or "")
        entities = content.get("entities") or content.get("caption_entities") or []
        return SentMessage(
            chat_id=message.chat_id,
            message_id=message.message_id,
            text=text,
            html=message.raw_text,
            parse_mode=message.parse_mode,
            entities=tuple(entities),
            buttons=parse_buttons(message.reply_markup),
            edited=message.version > 0,
            version=message.version,
            deleted=message.deleted,
            date=message.date,
            method=message.method,
        )

    def _publish(self, state: _ChatState, message: _Msg) -> None:
        snapshot = self._snapshot(message)
        if not message.deleted:
            state.log.append(snapshot)
        self._bump()
        self._emit(snapshot)

    def _resolve_chat(self, params: JSONDict, name: str = "chat_id") -> _ChatState:
        value = params.get(name)
        if value is None or value == "":
            raise bad_request(f"{name} is empty")
        if isinstance(value, str):
            wanted = value.removeprefix("@").lower()
            for candidate in self._chats.values():
                if candidate.chat.username and candidate.chat.username.lower() == wanted:
                    return candidate
            raise bad_request("chat not found")
        state = self._chats.get(value) if isinstance(value, int) else None
        if state is None or state.gone:
            raise bad_request("chat not found")
        return state

    @staticmethod
    def _check_writable(state: _ChatState) -> None:
        if state.chat.type != "private":
            return
        if state.deactivated:
            raise ApiError(403, "Forbidden: user is deactivated")
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not state.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    @staticmethod
    def _parse_text(
        params: JSONDict, *, caption: bool = False
    ) -> tuple[str, list[JSONDict], str, str | None]:
        """Validate the ``text`` parameter; return (plain text, entities, raw text, parse mode).

        The bot sends HTML, so ``parse_mode`` HTML is parsed; another parse mode is refused (Telegram
        would accept Markdown, but nothing here sends it). Without a parse mode, ``entities`` are checked.
        A ``caption`` (``params["text"]`` holds it) may be empty and is at most 1,024 characters.
        """
        raw_value = params.get("text")
        raw = "" if raw_value is None else str(raw_value)
        parse_mode = params.get("parse_mode") or None
        if parse_mode is not None and not isinstance(parse_mode, str):
            raise bad_request("unsupported parse_mode")
        entities: list[JSONDict]
        if parse_mode is not None:
            if parse_mode.lower() != "html":
                raise bad_request(f"unsupported parse_mode {parse_mode!r} (the stand-in parses HTML only)")
            try:
                plain, entities = parse_html(raw)
            except EntityParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        else:
            plain = raw
            given = params.get("entities") or []
            if not isinstance(given, list) or not all(isinstance(e, dict) for e in given):
                raise bad_request("can't parse entities JSON object")
            size = utf16_len(plain)
            for entity in given:
                offset, length = entity.get("offset"), entity.get("length")
                if (
                    not isinstance(entity.get("type"), str)
                    or not isinstance(offset, int)
                    or not isinstance(length, int)
                    or offset < 0
                    or length < 0
                    or offset + length > size
                ):
                    raise bad_request(f"can't parse entities: invalid entity {entity!r}")
            entities = [dict(e) for e in given]
        if caption:
            if utf16_len(plain) > MAX_CAPTION_LENGTH:
                raise bad_request("message caption is too long")
        elif not plain.strip():
            raise bad_request("message text is empty")
        elif utf16_len(plain) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        return plain, entities, raw, parse_mode

    def _store_bot_message(
        self,
        state: _ChatState,
        content: JSONDict,
        params: JSONDict,
        raw: str,
        parse_mode: str | None,
        method: str,
    ) -> JSONDict:
        markup = validate_reply_markup(params.get("reply_markup"))
        message = self._new_message(state, self.bot_user, from_bot=True, content=content)
        message.raw_text, message.parse_mode, message.method = raw, parse_mode, method
        message.reply_markup = markup
        self._publish(state, message)
        return self._message_api(message)

    def _find_message(self, state: _ChatState, params: JSONDict, missing: str) -> _Msg:
        if "chat_id" not in params and "inline_message_id" in params:
            raise bad_request("MESSAGE_ID_INVALID")
        message_id = params.get("message_id")
        message = state.messages.get(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    @staticmethod
    def _inline_rows(markup: JSONDict | None) -> Any:
        return (markup or {}).get("inline_keyboard") or None

    def _apply_edit(self, state: _ChatState, message: _Msg) -> JSONDict:
        message.version += 1
        message.edit_date = int(time.time())
        self._publish(state, message)
        return self._message_api(message)

    # ------------------------------------------------------------------------- methods

    async def _ok(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self._webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                "delete the webhook first",
            )
        offset = int_param(params, "offset", 0)
        limit = max(1, min(100, int_param(params, "limit", 100)))
        timeout = max(0, int_param(params, "timeout", 0))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_UPDATE_TYPES
        before = len(self._updates)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if len(self._updates) != before:
            self._bump()  # confirmed: wake wait_idle()
        self._poll_generation += 1
        generation = self._poll_generation

        def deliverable() -> list[JSONDict]:
            kept = [u for u in self._updates if self._allowed_updates.intersection(u.keys())]
            if len(kept) != len(self._updates):
                self._updates = kept
            return kept[:limit]

        if not deliverable() and timeout > 0 and not self._closing:
            await self._wait_until(
                lambda: bool(deliverable()) or self._closing or self._poll_generation != generation,
                float(timeout),
            )
            if self._poll_generation != generation and not self._closing:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot "
                    "instance is running",
                )
        return [] if self._closing else deliverable()

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = params.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self._webhook = {"url": str(url), "secret_token": params.get("secret_token") or ""}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    @staticmethod
    def _scope_key(scope: Any) -> str:
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not (1 <= len(description.strip()) <= 256):
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = [dict(c) for c in commands]
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self._commands.get(key, [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        key = (self._scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    async def _send_message(self, params: JSONDict) -> JSONDict:
        state = self._resolve_chat(params)
        self._check_writable(state)
        plain, entities, raw, parse_mode = self._parse_text(params)
        content: JSONDict = {"text": plain}
        if entities:
            content["entities"] = entities
        if isinstance(params.get("link_preview_options"), dict):
            content["link_preview_options"] = params["link_preview_options"]
        return self._store_bot_message(state, content, params, raw, parse_mode, "sendMessage")

    def _upload(self, params: JSONDict, name: str, kind: str) -> JSONDict:
        """The file fields of ``params[name]``: an uploaded file (multipart) or a known file id."""
        value = params.get(name)
        if isinstance(value, dict) and isinstance(value.get("content"), bytes | bytearray):
            if not value["content"]:
                raise bad_request("file must be non-empty")
            fields = self._fake_file(kind, bytes(value["content"]))
            if value.get("filename"):
                fields["file_name"] = str(value["filename"])
            if value.get("content_type"):
                fields["mime_type"] = str(value["content_type"])
            return fields
        if isinstance(value, str) and value in self._files:
            return {"file_id": value, "file_unique_id": f"u{value}", "file_size": len(self._files[value])}
        if not value:
            raise bad_request(f"there is no {name} in the request")
        raise bad_request(f"wrong file identifier/HTTP URL specified ({name})")

    def _media_message(self, params: JSONDict, content: JSONDict, method: str) -> JSONDict:
        state = self._resolve_chat(params)
        self._check_writable(state)
        raw, parse_mode = "", None
        if params.get("caption"):
            caption_params = {"text": params["caption"], "parse_mode": params.get("parse_mode")}
            plain, entities, raw, parse_mode = self._parse_text(caption_params, caption=True)
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        return self._store_bot_message(state, content, params, raw, parse_mode, method)

    def photo_of(self, message: SentMessage) -> bytes | None:
        """The content of the photo a message of the bot's carries (None: it carries none)."""
        stored = self._chats[message.chat_id].messages.get(message.message_id)
        sizes = (stored.content.get("photo") or []) if stored is not None else []
        return self._files.get(sizes[-1]["file_id"]) if sizes else None

    async def _send_photo(self, params: JSONDict) -> JSONDict:
        """A photo from the bot (uploaded, or by file id), with an optional caption."""
        photo = self._upload(params, "photo", "photo")
        photo.pop("file_name", None)
        photo.pop("mime_type", None)
        photo.update(width=800, height=600)
        return self._media_message(params, {"photo": [photo]}, "sendPhoto")

    async def _send_document(self, params: JSONDict) -> JSONDict:
        """A document from the bot (uploaded, or by file id), with an optional caption."""
        return self._media_message(
            params, {"document": self._upload(params, "document", "document")}, "sendDocument"
        )

    async def _get_file(self, params: JSONDict) -> JSONDict:
        """``getFile``: the ``file_path`` to download a file from under :attr:`base_file_url`."""
        file_id = params.get("file_id")
        if not isinstance(file_id, str) or file_id not in self._files:
            raise bad_request("invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self._files[file_id]),
            "file_path": f"files/{file_id}",
        }

    async def _download(self, request: web.Request) -> web.Response:
        """A file's bytes at ``/file/bot<token>/<file_path>``, as Telegram serves them."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        file_id = request.match_info["path"].removeprefix("files/")
        content = self._files.get(file_id)
        if content is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=content, content_type="application/octet-stream")

    async def _copy_message(self, params: JSONDict) -> JSONDict:
        """A copy of a message (a photo, a document…) without a link to the original; ``caption``
        replaces the caption (HTML parsed as for texts). Answers ``{"message_id": …}`` as Telegram does."""
        state = self._resolve_chat(params)
        source = self._resolve_chat(params, "from_chat_id")
        original = self._find_message(source, params, "message to copy not found")
        self._check_writable(state)
        content = {
            key: value for key, value in original.content.items() if key not in ("caption", "entities")
        }
        raw, parse_mode = "", None
        if params.get("caption"):
            caption_params = {"text": params["caption"], "parse_mode": params.get("parse_mode")}
            plain, entities, raw, parse_mode = self._parse_text(caption_params, caption=True)
            content["caption"] = plain
            if entities:
                content["caption_entities"] = entities
        elif "text" not in content and original.content.get("caption"):
            content["caption"] = original.content["caption"]
        message = self._store_bot_message(state, content, params, raw, parse_mode, "copyMessage")
        return {"message_id": message["message_id"]}

    async def _edit_message_text(self, params: JSONDict) -> JSONDict:
        state = self._resolve_chat(params)
        message = self._find_message(state, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        plain, entities, raw, parse_mode = self._parse_text(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        content: JSONDict = {"text": plain}
        if entities:
            content["entities"] = entities
        if isinstance(params.get("link_preview_options"), dict):
            content["link_preview_options"] = params["link_preview_options"]
        same_text = plain == message.content.get("text") and entities == message.content.get("entities", [])
        if same_text and self._inline_rows(markup) == self._inline_rows(message.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        message.content, message.raw_text, message.parse_mode = content, raw, parse_mode
        message.reply_markup = markup
        return self._apply_edit(state, message)

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        state = self._resolve_chat(params)
        message = self._find_message(state, params, "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        markup = validate_reply_markup(params.get("reply_markup"))
        if self._inline_rows(markup) == self._inline_rows(message.reply_markup):
            raise bad_request(_NOT_MODIFIED)
        message.reply_markup = markup
        return self._apply_edit(state, message)

    def _delete(self, state: _ChatState, message_id: Any) -> bool:
        message = state.messages.get(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            return False
        message.deleted = True
        if message.from_bot:
            self._publish(state, message)
        return True

    async def _delete_message(self, params: JSONDict) -> bool:
        state = self._resolve_chat(params)
        if not self._delete(state, params.get("message_id")):
            raise bad_request("message to delete not found")
        return True

    async def _delete_messages(self, params: JSONDict) -> bool:
        state = self._resolve_chat(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must be a non-empty list of at most 100 ids")
        for message_id in ids:
            self._delete(state, message_id)
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        pending = self._callback_queries.pop(query_id, None)
        if pending is None:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > 200:
            self._callback_queries[query_id] = pending
            raise bad_request("MESSAGE_TOO_LONG")
        url = params.get("url")
        toast = replace(
            pending,
            text=str(text) if text else None,
            show_alert=bool(params.get("show_alert")),
            url=str(url) if url else None,
        )
        state = self._chats.get(pending.chat_id)
        if state is not None:
            state.toasts.append(toast)
        self._emit(toast)
        return True

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        state = self._resolve_chat(params)
        return {
            **state.chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member(self, state: _ChatState, user: JSONDict) -> JSONDict:
        user_id = user["id"]
        if state.chat.type == "private":
            status = "member" if user_id in (state.chat.id, self.bot_id) else "left"
        elif user_id == self.bot_id or user_id in state.admins:
            status = "administrator"
        elif user_id in state.members:
            status = "member"
        else:
            status = "left"
        if status != "administrator":
            return {"status": status, "user": user}
        return {"status": "administrator", "user": user, "can_be_edited": False, **_ADMIN_RIGHTS}

    def _user_api(self, user_id: int) -> JSONDict:
        if user_id == self.bot_id:
            return self.bot_user
        user = self._users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        return user.to_api()

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        state = self._resolve_chat(params)
        return self._member(state, self._user_api(int_param(params, "user_id")))
