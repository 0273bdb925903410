"""Tests of the Bot API stand-in, driving a real python-telegram-bot Application over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from botapi_standin import (
    BotApiStandIn,
    EntityParseError,
    FloodLimits,
    SentMessage,
    parse_html,
    utf16_len,
)

pytestmark = [
    pytest.mark.timeout(30),
    # PTB 22 warns from inside RetryAfter() itself about the future timedelta type
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


class Recorder:
    """What the test bot's handlers saw."""

    def __init__(self) -> None:
        self.updates: list[Update] = []
        self.callbacks: list[str] = []
        self.errors: list[BaseException] = []
        self.got_update = asyncio.Event()


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Найти", callback_data="search:1")],
            [InlineKeyboardButton("Сайт", url="https://example.org/")],
        ]
    )
    await update.effective_message.reply_text(
        f"Здравствуйте, <b>{update.effective_user.first_name if update.effective_user else ''}</b>!",
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard,
    )


async def _on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    recorder: Recorder = context.bot_data["recorder"]
    recorder.callbacks.append(query.data or "")
    await query.answer(f"нажато: {query.data}")
    if query.data == "search:1":
        await query.edit_message_text("Ищем…")


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    recorder: Recorder = context.bot_data["recorder"]
    recorder.updates.append(update)
    recorder.got_update.set()
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(f"эхо: {message.text}")


async def _record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    recorder: Recorder = context.bot_data["recorder"]
    recorder.updates.append(update)


async def _error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    recorder: Recorder = context.bot_data["recorder"]
    if context.error is not None:
        recorder.errors.append(context.error)


def build_app(api: BotApiStandIn, token: str | None = None) -> Application[Any, Any, Any, Any, Any, Any]:
    return (
        ApplicationBuilder()
        .token(token or api.token)
        .base_url(api.base_url)
        .base_file_url(api.base_file_url)
        .build()
    )


@pytest.fixture
async def app(api: BotApiStandIn) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    application = build_app(api)
    application.bot_data["recorder"] = Recorder()
    application.add_handler(CommandHandler("start", _start))
    application.add_handler(CallbackQueryHandler(_on_button))
    application.add_handler(MessageHandler(filters.ALL & ~filters.COMMAND, _echo))
    application.add_handler(ChatMemberHandler(_record, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_error_handler(_error)
    async with application:
        await application.start()
        assert application.updater is not None
        # The fast settings: no pause between polls; an idle poll lasts at most 1 s, and
        # updater.stop() cancels it at once anyway.
        await application.updater.start_polling(poll_interval=0, timeout=1)
        yield application
        await application.updater.stop()
        await application.stop()


def recorder_of(app: Application[Any, Any, Any, Any, Any, Any]) -> Recorder:
    recorder: Recorder = app.bot_data["recorder"]
    return recorder


# ------------------------------------------------------------------ the dialogue, end to end


async def test_start_gets_a_reply_with_a_keyboard(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001, "Алия", username="aliya")
    await api.send_text(alice, "/start")
    [reply] = await api.wait_for_messages(alice.id)
    assert reply.text == "Здравствуйте, Алия!"
    assert reply.html == "Здравствуйте, <b>Алия</b>!"
    assert reply.entities == ({"type": "bold", "offset": 14, "length": 4},)
    assert reply.button_texts() == ["Найти", "Сайт"]
    assert reply.button("Сайт").url == "https://example.org/"
    assert reply.message_id == 2  # the user's /start was message 1 of this chat
    assert reply.date > 0
    assert not reply.edited
    with pytest.raises(ValueError, match="no callback_data"):
        await api.press(alice, reply.message_id, "Сайт")  # a URL button sends nothing to the bot


async def test_button_press_reaches_the_handler_and_edits(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001, "Алия")
    await api.send_text(alice, "/start")
    [menu] = await api.wait_for_messages(alice.id)
    await api.press(alice, menu, "Найти")
    [edited] = await api.wait_for_messages(alice.id)
    assert recorder_of(app).callbacks == ["search:1"]
    assert edited.message_id == menu.message_id
    assert edited.edited and edited.version == 1
    assert edited.text == "Ищем…"
    assert edited.buttons == ()  # editMessageText without reply_markup drops the keyboard
    await api.wait_idle()
    assert [t.text for t in api.toasts(alice.id)] == ["нажато: search:1"]
    assert api.unanswered_callbacks() == []
    assert api.messages(alice.id)[-1].text == "Ищем…"
    with pytest.raises(LookupError):
        await api.press(alice, edited, "Найти")  # the keyboard is gone


async def test_forged_callback_data_and_stale_message(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    await api.send_text(alice, "/start")
    [menu] = await api.wait_for_messages(alice.id)
    await api.press_data(alice, menu.message_id, "admin:grant:1")
    await api.press_data(alice, 999, "search:1")  # a message the stand-in never saw
    await api.wait_idle()
    assert recorder_of(app).callbacks == ["admin:grant:1", "search:1"]
    assert len(api.toasts(alice.id)) == 2


async def test_plain_text_and_non_text_updates(api: BotApiStandIn, app: Application) -> None:
    bob = api.user(1002, "Bob", language_code="en")
    await api.send_text(bob, "Легкодымов <b>&amp;")
    [reply] = await api.wait_for_messages(bob.id)
    assert reply.text == "эхо: Легкодымов <b>&amp;"
    await api.send_sticker(bob)
    await api.send_photo(bob, caption="фото")
    await api.send_voice(bob)
    await api.send_document(bob, "registry.csv", b"reading_id,surname\n1,X\n")
    await api.wait_idle()
    recorder = recorder_of(app)
    kinds = [u.effective_message.effective_attachment.__class__.__name__ for u in recorder.updates[1:]]
    assert kinds == ["Sticker", "tuple", "Voice", "Document"]


async def test_long_user_text_is_split_like_a_client(api: BotApiStandIn, app: Application) -> None:
    bob = api.user(1002)
    await api.send_text(bob, "я" * 5000)
    [reply] = await api.wait_for_messages(bob.id)
    await api.wait_idle()
    recorder = recorder_of(app)
    assert [len(u.message.text) for u in recorder.updates if u.message] == [4096, 904]
    # echoing the first part ("эхо: " + 4096 characters) is too long for Telegram:
    assert [str(e) for e in recorder.errors] == ["Message is too long"]
    assert utf16_len(reply.text) == 904 + 5
    assert api.history(bob.id) == [reply]


async def test_group_chat(api: BotApiStandIn, app: Application) -> None:
    vol = api.user(2001, "Волонтёр")
    group = api.group(-100500, "Поисковики", admins=[vol])
    await api.send_text(vol, "/start@amanat_test_bot", chat=group)
    [reply] = await api.wait_for_messages(group.id)
    assert reply.chat_id == group.id
    chat = await app.bot.get_chat(group.id)
    assert chat.type == "supergroup" and chat.title == "Поисковики"
    member = await app.bot.get_chat_member(group.id, vol.id)
    assert member.status == "administrator"


# ---------------------------------------------------------------------- Telegram's rejections


async def test_bad_html_is_rejected(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    bot = app.bot
    for bad in ("<b>x", "<b>x</i>", "<script>x</script>", "1 < 2", "Tom & Jerry", "<span>x</span>"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(alice.id, bad, parse_mode=ParseMode.HTML)
    message = await bot.send_message(
        alice.id, '<a href="https://x.org/?a=1&amp;b=2">ссылка</a> 1 &lt; 2 &#128512;', parse_mode="HTML"
    )
    assert message.text == "ссылка 1 < 2 😀"
    assert message.entities[0].url == "https://x.org/?a=1&b=2"
    assert api.messages(alice.id)[-1].text == "ссылка 1 < 2 😀"


async def test_only_html_is_parsed(api: BotApiStandIn, app: Application) -> None:
    """The bot sends HTML only; another parse mode is refused loudly, never passed through unparsed."""
    alice = api.user(1001)
    with pytest.raises(BadRequest, match=r"(?i)the stand-in parses HTML only"):
        await app.bot.send_message(alice.id, r"*Найдено* 3 записи\.", parse_mode=ParseMode.MARKDOWN_V2)


async def test_text_length_limits(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    bot = app.bot
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(alice.id, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(alice.id, "😀" * 2049)  # 4098 UTF-16 code units
    await bot.send_message(alice.id, "😀" * 2048)
    # markup does not count: 4096 visible characters inside <b> are fine
    await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(alice.id, "<b> </b>", parse_mode="HTML")


async def test_inline_keyboard_validation(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    bot = app.bot

    def markup(**button: Any) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(**button)]])

    await bot.send_message(alice.id, "ok", reply_markup=markup(text="x", callback_data="я" * 32))  # 64 bytes
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(alice.id, "x", reply_markup=markup(text="x", callback_data="я" * 32 + "a"))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(alice.id, "x", reply_markup=markup(text="x", callback_data=""))
    with pytest.raises(BadRequest, match="Button_text_empty"):
        await bot.send_message(alice.id, "x", reply_markup=markup(text="", callback_data="a"))
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot.send_message(alice.id, "x", reply_markup={"inline_keyboard": [[{"text": "x"}]]})


async def test_edit_rules(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    bot = app.bot
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await bot.send_message(alice.id, "раз", reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("раз", alice.id, sent.message_id, reply_markup=keyboard)
    await bot.edit_message_text("раз", alice.id, sent.message_id)  # dropping the keyboard is a change
    await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("два", alice.id, 12345)
    assert await bot.delete_message(alice.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(alice.id, sent.message_id)
    versions = [(m.text, m.version, len(m.buttons)) for m in api.history(alice.id)]
    assert versions == [("раз", 0, 1), ("раз", 1, 0), ("раз", 2, 1)]
    assert api.messages(alice.id) == []
    assert api.messages(alice.id, include_deleted=True)[0].deleted


async def test_unknown_chat_and_not_started_user(api: BotApiStandIn, app: Application) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(424242, "hi")
    stranger = api.user(1003, started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation"):
        await app.bot.send_message(stranger.id, "hi")
    await api.send_text(stranger, "привет")
    await api.wait_for_messages(stranger.id)  # once they wrote, the bot can answer


async def test_reply_keyboards_are_refused_and_commands(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    with pytest.raises(BadRequest, match="inline keyboards only"):
        await app.bot.send_message(
            alice.id, "Язык?", reply_markup=ReplyKeyboardMarkup([["Русский", "Қазақша"]])
        )
    await app.bot.set_my_commands([("start", "Начать"), ("search", "Поиск")], language_code="ru")
    assert [c.command for c in await app.bot.get_my_commands(language_code="ru")] == ["start", "search"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await app.bot.set_my_commands([("Bad Command", "x")])


async def test_values_keep_their_types(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    for text in ("true", "123", "null", "[1]"):
        message = await app.bot.send_message(alice.id, text, disable_notification=True)
        assert message.text == text
    assert api.calls_of("sendMessage")[0].params["disable_notification"] is True


async def test_render_and_link_with_raw_ampersand(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("Найти", callback_data="s"), InlineKeyboardButton("Сайт", url="https://a.b/")]]
    )
    await app.bot.send_message(
        alice.id, '<a href="https://a.b/?x=1&y=2">ОБД</a>', parse_mode="HTML", reply_markup=keyboard
    )
    [shown] = await api.wait_for_messages(alice.id)
    assert shown.entities[0]["url"] == "https://a.b/?x=1&y=2"
    assert shown.render() == "ОБД\n[Найти] [Сайт ↗]"


# -------------------------------------------------------------------------- failure injection


async def test_injected_403_429_500(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    bot = app.bot
    api.fail_next(alice.id, 403)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "x")
    api.fail_next(alice.id, 429, retry_after=3)
    with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
        await bot.send_message(alice.id, "x")
    api.fail_next(alice.id, 500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(alice.id, "x")
    await bot.send_message(alice.id, "наконец")
    statuses = [c.status for c in api.calls_of("sendMessage")]
    assert statuses == [403, 429, 500, 500, 200]


async def test_blocked_user(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    await api.block(alice)
    await api.wait_idle()
    assert recorder_of(app).updates[-1].my_chat_member is not None
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(alice.id, "x")


async def test_a_deactivated_account_and_a_lost_chat(api: BotApiStandIn, app: Application) -> None:
    alice, bob = api.user(1001), api.user(1002)
    await app.bot.send_message(bob.id, "до")
    api.deactivate(alice)
    api.lose_chat(bob.id)
    with pytest.raises(Forbidden, match="user is deactivated"):
        await app.bot.send_message(alice.id, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(bob.id, "x")
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_photo(bob.id, b"\xff\xd8jpeg")
    assert [m.text for m in api.history(bob.id)] == ["до"]  # what was sent before stays readable


async def test_send_photo_by_upload_and_by_file_id(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    sent = await app.bot.send_photo(
        alice.id, b"\xff\xd8medallion", caption="<b>Жетон</b> 1941", parse_mode="HTML"
    )
    assert sent.photo and sent.caption == "Жетон 1941"
    again = await app.bot.send_photo(alice.id, sent.photo[-1].file_id)
    first, second = api.messages(alice.id)
    assert (first.method, first.text, first.html) == ("sendPhoto", "Жетон 1941", "<b>Жетон</b> 1941")
    assert api.photo_of(first) == api.photo_of(second) == b"\xff\xd8medallion"
    assert again.caption is None and second.text == ""
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await app.bot.send_photo(alice.id, "AgACAgIAAxkBAAI-not-issued")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await app.bot.send_photo(alice.id, sent.photo[-1].file_id, caption="я" * 1025)
    await app.bot.send_photo(alice.id, sent.photo[-1].file_id, caption="я" * 1024)


async def test_send_photo_counts_against_the_flood_limits(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    api.flood_limits = FloodLimits(global_per_second=2, private_per_second=None, tolerance=0.0)
    upload = await app.bot.send_photo(alice.id, b"\xff\xd8a")
    await app.bot.send_message(alice.id, "x")
    with pytest.raises(RetryAfter):
        await app.bot.send_photo(alice.id, upload.photo[-1].file_id)


async def test_flood_limits(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    api.flood_limits = FloodLimits(private_burst=2)
    await app.bot.send_message(alice.id, "1")
    await app.bot.send_message(alice.id, "2")
    with pytest.raises(RetryAfter):
        await app.bot.send_message(alice.id, "3")


async def test_flood_limits_match_ptb_rate_limiter(api: BotApiStandIn) -> None:
    """A broadcast through AIORateLimiter at its defaults gets no 429 from the default limits;
    the same broadcast without a limiter does."""
    # A strict global limit for the unlimited burst, so the 429 does not depend on how fast this machine is.
    api.flood_limits = FloodLimits(global_per_second=2)
    users = [api.user(5000 + i) for i in range(45)]
    plain = build_app(api)
    async with plain:
        results = await asyncio.gather(
            *(plain.bot.send_message(u.id, "appeal") for u in users), return_exceptions=True
        )
    assert any(isinstance(r, RetryAfter) for r in results)
    api.flood_limits = FloodLimits()  # reassigning resets the counters
    limited = (
        ApplicationBuilder().token(api.token).base_url(api.base_url).rate_limiter(AIORateLimiter()).build()
    )
    async with limited:
        results = await asyncio.gather(
            *(limited.bot.send_message(u.id, "appeal") for u in users), return_exceptions=True
        )
    assert not [r for r in results if isinstance(r, Exception)]


async def test_polling_survives_injected_getupdates_failure(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    api.fail_next(None, 502, methods={"getUpdates"})
    await api.send_text(alice, "/start")
    await api.wait_for_messages(alice.id, timeout=5)  # PTB retries after ~1 s


# -------------------------------------------------------------------------- the transport


async def test_long_poll_returns_promptly(api: BotApiStandIn) -> None:
    alice = api.user(1001)
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/") as client:
        poll = asyncio.create_task(client.post("getUpdates", data={"timeout": "30"}))
        await asyncio.sleep(0.1)
        assert not poll.done()
        update_id = await api.send_text(alice, "hi")
        # The poll wakes for the update instead of running out its 30 s (the guard only avoids a hang).
        response = await asyncio.wait_for(poll, timeout=20)
        body = response.json()
        assert body["ok"] and [u["update_id"] for u in body["result"]] == [update_id]
        # not confirmed yet: delivered again; confirmed by offset: gone
        again = (await client.post("getUpdates", data={"timeout": "0"})).json()["result"]
        assert [u["update_id"] for u in again] == [update_id]
        gone = (await client.post("getUpdates", json={"offset": update_id + 1, "timeout": 0})).json()
        assert gone == {"ok": True, "result": []}
        # an idle poll waits for its timeout
        started = time.monotonic()
        assert (await client.post("getUpdates", data={"timeout": "1"})).json()["result"] == []
        assert time.monotonic() - started >= 0.9
        # allowed_updates filters
        await api.send_text(alice, "skip me")
        only_callbacks = await client.post("getUpdates", data={"allowed_updates": '["callback_query"]'})
        assert only_callbacks.json()["result"] == []


async def test_second_poll_terminates_the_first(api: BotApiStandIn) -> None:
    async with httpx.AsyncClient(base_url=f"{api.base_url}{api.token}/") as client:
        first = asyncio.create_task(client.post("getUpdates", data={"timeout": "5"}))
        await asyncio.sleep(0.1)
        second = await client.post("getUpdates", data={"timeout": "0"})
        assert second.json()["result"] == []
        response = await first
        assert response.status_code == 409
        assert "terminated by other getUpdates request" in response.json()["description"]


async def test_stop_releases_a_pending_long_poll() -> None:
    api = BotApiStandIn()
    await api.start()
    async with httpx.AsyncClient() as client:
        poll = asyncio.create_task(
            client.post(f"{api.base_url}{api.token}/getUpdates", data={"timeout": "30"})
        )
        await asyncio.sleep(0.1)
        await api.stop()
        # Released at once rather than after its 30 s (the guard only avoids a hang).
        response = await asyncio.wait_for(poll, timeout=20)
        assert response.json() == {"ok": True, "result": []}


async def test_wrong_token_unknown_method_and_webhook(api: BotApiStandIn) -> None:
    async with httpx.AsyncClient() as client:
        wrong = await client.post(f"{api.base_url}999:WRONG/getMe")
        assert wrong.status_code == 401
        assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        unknown = await client.post(f"{api.base_url}{api.token}/sendTelepathy")
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        me = (await client.get(f"{api.base_url}{api.token}/getme")).json()["result"]
        assert me["username"] == "amanat_test_bot" and me["is_bot"]
    app = build_app(api, token="999:WRONG")
    with pytest.raises(InvalidToken):
        await app.initialize()
    bot = build_app(api).bot
    async with bot:
        await bot.set_webhook("https://example.org/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert (await bot.get_webhook_info()).url == "https://example.org/hook"
        await bot.delete_webhook()
        assert await bot.get_updates() == ()


async def test_bot_starts_polling_and_stops_cleanly(api: BotApiStandIn) -> None:
    application = build_app(api)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        await asyncio.sleep(0.2)
        await application.updater.stop()
        await application.stop()
    assert not application.running


async def test_listener_and_transcripts(api: BotApiStandIn, app: Application) -> None:
    alice = api.user(1001)
    seen: list[Any] = []
    api.add_listener(seen.append)
    transcript = api.transcript(alice.id)
    await api.send_text(alice, "/start")
    [menu] = await transcript.next()
    await api.press(alice, menu, "search:1")  # by callback_data
    [edit] = await transcript.next()
    await api.wait_idle()
    assert [type(item).__name__ for item in seen] == ["SentMessage", "Toast", "SentMessage"]
    assert isinstance(edit, SentMessage) and edit.edited
    await transcript.expect_silence(0.05)
    with pytest.raises(TimeoutError, match="expected 1 new bot message"):
        await transcript.next(timeout=0.05)


# ---------------------------------------------------------------------- the parsers, directly


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("<b>a</b><i>b</i>", "ab"),
        ("<tg-spoiler>s</tg-spoiler><span class='tg-spoiler'>t</span>", "st"),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1"),
        ("<blockquote expandable>q</blockquote> a > b", "q a > b"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ("&quot;&#x41;&#66;&quot;", '"AB"'),
    ],
)
def test_parse_html_accepts(source: str, text: str) -> None:
    assert parse_html(source)[0] == text


def test_parse_html_entities_are_utf16() -> None:
    text, entities = parse_html("😀<b>жир</b>")
    assert text == "😀жир"
    assert entities == [{"offset": 2, "length": 3, "type": "bold"}]
    assert parse_html('<pre><code class="language-py">x</code></pre>')[1] == [
        {"offset": 0, "length": 1, "type": "pre", "language": "py"},
        {"offset": 0, "length": 1, "type": "code"},
    ]


@pytest.mark.parametrize(
    "source", ["<b", "</b>", "<b><i>x</b></i>", "&nbsp;", "a &b", "<a href=x>y", "<br/>"]
)
def test_parse_html_rejects(source: str) -> None:
    with pytest.raises(EntityParseError):
        parse_html(source)


async def test_unconfirmed_updates_are_redelivered_after_a_crash(api: BotApiStandIn) -> None:
    """A bot that dies after fetching an update (no confirming getUpdates) gets it again."""
    alice = api.user(1001)
    update_id = await api.send_text(alice, "/start")
    crashed = build_app(api).bot
    async with crashed:
        [update] = await crashed.get_updates(timeout=0)
        assert update.update_id == update_id
    # a new process: the same update comes again until an offset confirms it
    restarted = build_app(api).bot
    async with restarted:
        [again] = await restarted.get_updates(timeout=0)
        assert again.update_id == update_id and again.message.text == "/start"
        assert await restarted.get_updates(offset=update_id + 1, timeout=0) == ()
    assert api.pending_updates == 0
