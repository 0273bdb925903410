"""Notifications on the Telegram side: what they say, the Bot API sender of the outbox, and their buttons.

The matching pass and the heartbeat queue data (a kind and a JSON payload, bot.services.outbox); what the
person reads is made here at send time, in their current language: `render_match` and
`render_heartbeat` (`RENDERERS`, by kind) turn a payload into HTML text and buttons.

`BotApiSender` (handlers/sending.py) is the outbox's `Sender` (bot.services.outbox): it sends one rendered
message with `sendMessage` (HTML, inline buttons; `copyMessage` for a relayed photo or document) and maps Telegram's answers to the outbox's outcomes:
`Forbidden` (403: the user blocked the bot) → RecipientBlocked, 400 "chat not found" → RecipientUnknown
(final), `RetryAfter` (429) → RateLimited with Telegram's `retry_after`; anything else propagates and is
retried with backoff by the outbox.

`deliver_all_via_bot_api` is what `amanat match` uses after its pass: a `telegram.Bot` built from the
settings (token and base_url, so a local Bot API server or the tests' stand-in works) delivers everything
that is due. The running bot delivers from a JobQueue job with its own bot (bot/jobs.py).

Buttons (their data's codecs are in handlers/buttons.py; a forged id reaches only the presser's own rows):
``NotificationRecord`` the full record of the reading a notification was about, ``Pause`` a saved search
(from a notification or from /my), ``Resume`` it (from /my).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from markupsafe import Markup
from telegram import Bot, InlineKeyboardButton, Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackQueryHandler, ExtBot

from bot.config import Settings
from bot.i18n import Translator, translator
from bot.services import cases
from bot.services.broadcast import FIRST_NOTICE, AppealContent, Soldier
from bot.services.cases import RELAY
from bot.services.outbox import (
    Button,
    DeliveryReport,
    Renderer,
    deliver_pending,
)
from bot.services.saved_searches import reading_of_match, set_search_paused
from bot.services.send_budget import open_send_budget
from handlers import buttons
from handlers.broadcast import appeal_buttons, soldier_line
from handlers.case_views import render_relay
from handlers.groups import HandlerGroup
from handlers.people import my_searches_view
from handlers.rate_limiter import SharedRateLimiter
from handlers.sending import BotApiSender
from handlers.steps import entry
from handlers.stories import story_button
from handlers.turn import AmanatContext, State
from handlers.views import clip, record_text
from models import Database

log = logging.getLogger(__name__)

NOTIFICATIONS_GROUP: Final = HandlerGroup.FEATURES
PATTERN: Final = r"^(nrec|pause|resume):\d{1,9}$"
DELIVERY_BATCH: Final = 50


# ------------------------------------------------------------------------------------- what they say


@dataclass(frozen=True)
class StoredReason:
    """A reason as stored in a payload ([code, args]), in the shape `Translator.reason` takes."""

    code: str
    args: Mapping[str, Any] = field(default_factory=dict)


MAX_REASONS = 8
MAX_VALUE = 300  # a reading's field is cut to this in a notification (the full record is one tap away)


def _clip(value: Any, limit: int = MAX_VALUE) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reason_text(t: Translator, reason: StoredReason) -> str:
    """A reason in words; a code this catalog does not know (a newer engine) reads as a neutral phrase."""
    if t.has(f"reason.{reason.code}"):
        try:
            return str(t.reason(reason))
        except KeyError:
            pass
    return str(t("reason.other"))


def render_match(payload: Mapping[str, Any], lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """The new-match notification: what the reading says, why it may be the man, and buttons."""
    t = translator(lang)
    reading = {key: _clip(value) for key, value in (payload.get("reading") or {}).items()}
    who = " ".join(str(reading[k]) for k in ("surname", "name", "patronymic") if reading.get(k))
    lines = [
        t("notify.new_match.title", request=_clip(payload.get("request", ""))),
        "",
        t("notify.new_match.strong") if payload.get("strong") else t("notify.new_match.possible"),
        t(
            "notify.new_match.who",
            who=who or payload.get("reading_id", ""),
            born=reading.get("birth_year", "?"),
        ),
    ]
    if reading.get("found_place") or reading.get("found_date"):
        lines.append(
            t(
                "notify.new_match.found",
                place=reading.get("found_place") or "?",
                date=reading.get("found_date") or "?",
            )
        )
    if reading.get("search_unit"):
        lines.append(t("notify.new_match.unit", unit=reading["search_unit"]))
    if reading.get("burial_place"):
        lines.append(t("notify.new_match.burial", place=reading["burial_place"]))
    reasons = [StoredReason(code, args) for code, args in payload.get("reasons") or []]
    if reasons:
        lines.append("")
        lines.append(t("notify.new_match.why"))
        lines.extend(Markup("• " + reason_text(t, reason)) for reason in reasons[:MAX_REASONS])
    record = buttons.NotificationRecord(int(payload["match_id"])).encode()
    pause = buttons.Pause(int(payload["request_id"])).encode()
    return "\n".join(lines), (
        (Button(t.plain("notify.button.record"), record),),
        (Button(t.plain("notify.button.pause"), pause),),
    )


def render_heartbeat(payload: Mapping[str, Any], lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """The periodic "we keep looking" message, with plural forms."""
    t = translator(lang)
    searches = payload.get("searches") or []
    lines = [t("notify.heartbeat.title"), ""]
    for summary, checked in searches:
        lines.append(t.plural("notify.heartbeat.search", int(checked), search=summary))
    lines.append("")
    lines.append(t("notify.heartbeat.footer"))
    return "\n".join(lines), ()


def appeal_match_text(payload: Mapping[str, Any], lang: str, title: str = "notify.appeal_match.title") -> str:
    """An appeal whose soldier a relative's search fits (bot.services.appeal_relatives.notice_payload):
    `title`, the verdict, who is sought, the search unit's text, and why (strongest reasons first)."""
    t = translator(lang)
    appeal = AppealContent(
        int(payload.get("appeal_id") or 0),
        Soldier.from_json(payload.get("soldier") or {}),
        str(payload.get("text") or ""),
    )
    lines = [
        t(title, request=_clip(payload.get("request", ""))),
        "",
        t("notify.new_match.strong") if payload.get("strong") else t("notify.new_match.possible"),
        soldier_line(t, appeal),
        "",
        Markup.escape(appeal.text),
    ]
    reasons = [StoredReason(code, args) for code, args in payload.get("reasons") or []]
    if reasons:
        lines.append("")
        lines.append(t("notify.new_match.why"))
        lines.extend(Markup("• " + reason_text(t, reason)) for reason in reasons[:MAX_REASONS])
    return "\n".join(lines)


def render_appeal_match(payload: Mapping[str, Any], lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """An appeal's first notice to a relative whose saved search fits its soldier: who is sought, the
    search unit's text, and why he may be the man they look for (strongest reasons first), with the
    "This may be my relative" button."""
    appeal = AppealContent(int(payload.get("appeal_id") or 0), Soldier(""), "")
    return appeal_match_text(payload, lang), tuple(
        tuple(Button(text, data) for text, data in row) for row in appeal_buttons(appeal, lang)
    )


RENDERERS: Final[Mapping[str, Renderer]] = {
    "match": render_match,
    "heartbeat": render_heartbeat,
    FIRST_NOTICE: render_appeal_match,
    RELAY: render_relay,
}


async def deliver_due(
    db: Database,
    bot: Bot,
    settings: Settings,
    *,
    rounds: int = 1000,
    chat_id: int | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Deliver everything due now (to `chat_id` only, when given), in batches, until nothing due is left
    (or `rounds` batches). A case's relays sent are recorded as the case's posts (bot.services.cases).
    `now`: the clock (a test's later tick)."""
    sender = BotApiSender(bot)
    on_sent = functools.partial(cases.relay_sent, db)
    total = DeliveryReport()
    for _ in range(rounds):
        report = await deliver_pending(
            db,
            sender,
            renderers=RENDERERS,
            limit=DELIVERY_BATCH,
            default_language=settings.i18n.default_language,
            chat_id=chat_id,
            now=now,
            on_sent=on_sent,
        )
        total.claimed += report.claimed
        total.sent += report.sent
        total.dropped += report.dropped
        total.retried += report.retried
        total.failed += report.failed
        total.waited += report.waited
        total.errors.extend(report.errors)
        if report.claimed == 0:
            break
    return total


async def deliver_all_via_bot_api(db: Database, settings: Settings) -> DeliveryReport:
    """`amanat match`: deliver what is due through the Bot API named by the settings."""
    bot = ExtBot(
        settings.telegram.token.get_secret_value(),
        base_url=settings.telegram.base_url,
        base_file_url=settings.telegram.base_file_url,
        # Telegram's limits, shared with the running bots; a 429 still reaches the outbox, which waits it out.
        rate_limiter=SharedRateLimiter(
            open_send_budget(settings, db), group_per_minute=settings.limits.group_per_minute, max_retries=0
        ),
    )
    async with bot:
        return await deliver_due(db, bot, settings)


# ------------------------------------------------------------------------------------- the buttons


def _press(update: Update) -> buttons.ButtonData | None:
    query = update.callback_query
    return buttons.decode(query.data) if query is not None else None


async def on_button(update: Update, context: AmanatContext) -> State:
    """A button under a notification, or pause/resume in /my."""
    turn = context.turn
    press = _press(update)
    if isinstance(press, buttons.NotificationRecord):
        await show_record(update, context, press.match_id)
    elif isinstance(press, buttons.Pause | buttons.Resume):
        await pause_or_resume(update, context, press.request_id, paused=isinstance(press, buttons.Pause))
    else:  # the pattern let it through, so this cannot happen; answer like a stale button
        turn.toast = turn.t.plain("button.stale")
    return turn.state


async def show_record(update: Update, context: AmanatContext, match_id: int) -> None:
    """The full record of a notified reading, if the match belongs to one of the presser's searches."""
    turn, t = context.turn, context.turn.t
    reading_id = await reading_of_match(context.db, turn.user_id, match_id)
    reading = await context.services.registry.get(reading_id) if reading_id is not None else None
    if reading is None:
        turn.toast = t.plain("notify.gone")
        return
    turn.say(
        record_text(t, t("notify.record_title", id=clip(reading.reading_id, 100) or ""), reading),
        [[story_button(t, match_id)]],  # the memory book: "Tell his story" (handlers/stories.py)
    )


async def pause_or_resume(update: Update, context: AmanatContext, request_id: int, *, paused: bool) -> None:
    """Pause or resume one of the presser's searches; /my is redrawn in place, a notification answered."""
    turn, t = context.turn, context.turn.t
    changed = await set_search_paused(context.db, turn.user_id, request_id, paused)
    if not changed:
        turn.toast = t.plain("notify.gone")
        return
    message = update.effective_message
    from_my = message is not None and any(
        isinstance(buttons.decode(str(button.callback_data or "")), buttons.Delete)
        for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
        for button in row
        if isinstance(button, InlineKeyboardButton)
    )
    if from_my and message is not None:
        turn.toast = t.plain("notify.paused" if paused else "notify.resumed")
        text, rows = await my_searches_view(turn, context)
        turn.edit(message.message_id, text, rows)
    else:
        turn.say(Markup(t("notify.paused" if paused else "notify.resumed")))


async def _stop_after(update: Update, context: AmanatContext) -> None:
    await _handle(update, context)
    raise ApplicationHandlerStop


_handle = entry(on_button)


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the notification buttons (group NOTIFICATIONS_GROUP; a handled press stops there)."""
    application.add_handler(CallbackQueryHandler(_stop_after, pattern=PATTERN), NOTIFICATIONS_GROUP)
