"""Appeals on the Telegram side of sending: what a recipient reads, the Bot API sender, the progress message.

The broadcaster (bot.services.broadcast) decides who gets what and when; here an appeal is rendered in the
recipient's language (:func:`appeal_text`) and sent (:func:`send_appeal_message`: the text, or the photo
with the text as its caption, or the photo and then the text when the text is longer than a caption may
be; :class:`BotApiAppealSender` maps Telegram's answers by handlers.sending.bot_api_errors), and the administrator's progress message is
drawn and edited (:func:`progress_view`, :class:`ProgressMessage`) with Pause, Resume and Cancel
(:class:`handlers.buttons.AppealControl`). :func:`broadcast_due` is one tick of the running bot's
broadcast job (bot/jobs.py): every appeal marked to be sent gets a run of the broadcaster.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from markupsafe import Markup
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ExtBot

from bot.config import Settings
from bot.i18n import LANGUAGES, Translator, translator
from bot.services.broadcast import (
    AppealContent,
    AppealProgress,
    Broadcaster,
    BroadcastReport,
    appeals_to_send,
    content_of,
    get_appeal,
    set_channel_post,
    set_progress_message,
)
from handlers import buttons
from handlers.rate_limiter import BACKGROUND
from handlers.sending import bot_api_errors, caption_fits
from handlers.turn import ButtonRows, html_lines, keyboard
from models import AppealStatus, Database

log = logging.getLogger(__name__)

# One run of the broadcaster per appeal and tick: long enough that the pace hardly notices the gaps.
RUN_SECONDS: Final = 60.0


def soldier_line(t: Translator, appeal: AppealContent) -> Markup:
    """ "Лехкодымов Емельян, b. 1904, Южно-Казахстанская обл." in the reader's language."""
    soldier = appeal.soldier
    who = " ".join(part for part in (soldier.surname, soldier.name) if part)
    line = t("appeal.who", who=who)
    if soldier.born:
        line += t("appeal.born", born=soldier.born)
    if soldier.place:
        line += t("appeal.place", place=soldier.place)
    return line


def appeal_text(appeal: AppealContent, lang: str) -> Markup:
    """The appeal as a recipient reads it: the title, the soldier, the administrator's text (escaped)."""
    t = translator(lang)
    return html_lines(t("appeal.title"), "", soldier_line(t, appeal), "", Markup.escape(appeal.text))


def appeal_buttons(appeal: AppealContent, lang: str) -> list[list[tuple[str, str]]]:
    """The button under every appeal message: "This may be my relative" (handlers/appeal_reply.py)."""
    t = translator(lang)
    return [[(t.plain("appeal.button.mine"), buttons.AppealMine(appeal.id).encode())]]


def appeal_messages(appeal: AppealContent, lang: str) -> int:
    """How many messages the appeal takes in one chat: two when it has a photo whose caption cannot hold
    the text."""
    return 2 if appeal.photo_file_id and not caption_fits(appeal_text(appeal, lang)) else 1


async def send_appeal_message(
    bot: Bot,
    chat_id: int | str,
    appeal: AppealContent,
    lang: str,
    reply_markup: InlineKeyboardMarkup | None,
    *,
    heading: Markup | None = None,
    **extra: Any,
) -> Message:
    """The appeal in one chat, as every reader gets it (recipients, the channel, the preview): its text,
    or with a photo the photo with the text as its caption, or the photo and then the text when the text
    is longer than a caption may be (handlers.sending.MAX_CAPTION). The buttons go under the text. The last
    message sent."""
    text = appeal_text(appeal, lang)
    if heading is not None:
        text = Markup(heading + "\n\n") + text
    if appeal.photo_file_id:
        if caption_fits(text):
            return await bot.send_photo(
                chat_id,
                appeal.photo_file_id,
                caption=text,
                parse_mode=ParseMode.HTML,
                reply_markup=reply_markup,
                **extra,
            )
        await bot.send_photo(chat_id, appeal.photo_file_id, **extra)
    return await bot.send_message(
        chat_id, text, parse_mode=ParseMode.HTML, reply_markup=reply_markup, **extra
    )


class BotApiAppealSender:
    """bot.services.broadcast's AppealSender over the Bot API: the appeal as text, or with its photo
    (send_appeal_message); Telegram's answers mapped by handlers/sending.py."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # The bot's shared rate limiter (handlers/rate_limiter.py): a broadcast sends in the background,
        # so replies to people chatting at that moment go first.
        limited = isinstance(bot, ExtBot) and bot.rate_limiter is not None
        self.extra: dict[str, Any] = {"rate_limit_args": BACKGROUND} if limited else {}

    async def send_appeal(self, appeal: AppealContent, chat_id: int, language: str) -> int:
        markup = keyboard(appeal_buttons(appeal, language))
        with bot_api_errors():
            await send_appeal_message(self.bot, chat_id, appeal, language, markup, **self.extra)
        return appeal_messages(appeal, language)


def _duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_view(t: Translator, progress: AppealProgress) -> tuple[Markup, ButtonRows]:
    """The administrator's progress message: counts, rate, time left, and the buttons that apply."""
    lines = [
        t("appeal.progress.title", id=progress.appeal_id, status=t.plain(f"appeal.status.{progress.status}")),
        t(
            "appeal.progress.counts",
            sent=progress.sent,
            blocked=progress.blocked,
            failed=progress.failed,
            left=progress.left,
            total=progress.total,
        ),
    ]
    if progress.status in (AppealStatus.SENDING, AppealStatus.PAUSED):
        lines.append(
            t(
                "appeal.progress.rate",
                rate=f"{progress.rate:.1f}",
                left=_duration(progress.seconds_left),
            )
        )
    else:
        lines.append(t("appeal.progress.rate_done", rate=f"{progress.rate:.1f}"))
    rows: list[tuple[str, str]] = []
    appeal_id = progress.appeal_id
    if progress.status == AppealStatus.SENDING:
        rows.append((t.plain("appeal.button.pause"), buttons.AppealControl(appeal_id, "pause").encode()))
    if progress.status == AppealStatus.PAUSED:
        rows.append((t.plain("appeal.button.resume"), buttons.AppealControl(appeal_id, "resume").encode()))
    if progress.status in (AppealStatus.SENDING, AppealStatus.PAUSED):
        rows.append((t.plain("appeal.button.cancel"), buttons.AppealControl(appeal_id, "cancel").encode()))
    return html_lines(*lines), ([*rows],) if rows else ()


class ProgressMessage:
    """The administrator's progress message: sent when the broadcast starts, then edited (the
    broadcaster calls this at most every few seconds and at the end of each run)."""

    def __init__(self, db: Database, bot: Bot, lang: str) -> None:
        self.db = db
        self.bot = bot
        self.lang = lang

    async def __call__(self, progress: AppealProgress) -> None:
        chat_id = progress.progress_chat_id
        if chat_id is None:
            return
        lang = progress.author_language if progress.author_language in LANGUAGES else self.lang
        text, rows = progress_view(translator(lang or self.lang), progress)
        if progress.progress_message_id is None:
            try:
                message = await self.bot.send_message(
                    chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard(rows)
                )
            except (Forbidden, BadRequest) as error:  # the author never opened a chat with the bot
                log.info("appeal %s: no progress message (%s)", progress.appeal_id, type(error).__name__)
                await set_progress_message(self.db, progress.appeal_id, None, None)
                return
            await set_progress_message(self.db, progress.appeal_id, chat_id, message.message_id)
            return
        try:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=progress.progress_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(rows),
            )
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise


def deep_link(bot_username: str, appeal_id: int) -> str:
    """The link under a channel post: it opens the appeal's "this may be my relative" in a private chat."""
    return f"https://t.me/{bot_username}?start=appeal-{appeal_id}"


async def post_to_channel(db: Database, bot: Bot, settings: Settings, appeal_id: int) -> None:
    """Post the appeal in the public channel (`broadcast.channel_id`) once, with the deep link button."""
    channel = settings.broadcast.channel_id
    appeal = await get_appeal(db, appeal_id) if channel else None
    if appeal is None or appeal.channel_message_id is not None:
        return
    lang = settings.i18n.default_language
    t = translator(lang)
    button = InlineKeyboardButton(t.plain("appeal.button.mine"), url=deep_link(bot.username, appeal_id))
    try:
        message = await send_appeal_message(
            bot, channel, content_of(appeal), lang, InlineKeyboardMarkup([[button]])
        )
    except TelegramError as error:  # a channel the bot cannot post in: the broadcast goes on
        log.warning("appeal %s: not posted in the channel: %s", appeal_id, type(error).__name__)
        return
    await set_channel_post(db, appeal_id, message.message_id)


async def broadcast_due(
    db: Database, bot: Bot, settings: Settings, *, run_seconds: float = RUN_SECONDS
) -> list[BroadcastReport]:
    """One tick of the broadcast job: a run of the broadcaster for each appeal marked to be sent."""
    broadcaster = Broadcaster(
        db,
        BotApiAppealSender(bot),
        rate=settings.broadcast.rate_per_second,
        default_language=settings.i18n.default_language,
        progress=ProgressMessage(db, bot, settings.i18n.default_language),
    )
    reports = []
    for appeal_id in await appeals_to_send(db):
        await post_to_channel(db, bot, settings, appeal_id)
        while True:  # runs back to back while the appeal makes progress (no gap of a job tick between)
            try:
                report = await broadcaster.run(appeal_id, max_seconds=run_seconds)
            except TelegramError as error:
                log.warning("appeal %s: the run stopped: %s", appeal_id, type(error).__name__)
                break
            reports.append(report)
            if not report.acquired:
                break
            log.info(
                "appeal %s: %s sent, %s blocked, %s failed, %s to retry%s",
                appeal_id,
                report.sent,
                report.blocked,
                report.failed,
                report.retried,
                ", done" if report.finished else "",
            )
            if report.finished or not (report.sent or report.blocked or report.failed or report.retried):
                break
    return reports
