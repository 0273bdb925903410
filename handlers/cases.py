"""Cases on the Telegram side: a relative asks a person, volunteers claim, and the bot relays between them.

The use cases live in :mod:`bot.services.cases`; this module parses updates and sends the case in the
reader's language (its texts and buttons are in handlers/case_views.py; the state machine is drawn in
handlers/cases.mmd).

* A relative opens a case with "ask a volunteer" under their results (``Features.ask_volunteer``), from
  a saved search in /my, or with ``/ask`` (``/ask text`` opens at once); the bot asks for their message,
  and that message opens the case.
* The case is posted to the volunteers' group (``roles.volunteer_chat_id``), or privately to each
  volunteer when there is none, with Claim. The first claim wins; every copy of the card is edited to say
  who took it, and the claimer gets the case with the conversation in their private chat.
* The claimer answers by replying to any message of the case, or with Answer and then typing; the
  relative answers the same way. Texts are sent framed in the reader's language; photos and documents
  are copied (a copy shows no sender). Neither side sees the other's username, id or phone; a relative
  sees "a volunteer", volunteers see the relative's first name.

Button data (``cs:<action>:<number>``) is a :class:`handlers.buttons.CaseButton`; anything else under
``cs:`` is forged and refused, as is a button pressed by someone who may not use it (both logged with ids only).
Handlers run in group :data:`CASES_GROUP`, before the dialogue's group 0, so that a reply to a case
message is taken here and not as an answer to the dialogue's current question.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from markupsafe import Markup
from telegram import ChatMemberUpdated, InlineKeyboardButton, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.i18n import Translator, pick_language, translator
from bot.services import cases, review
from bot.services.cases import Author, CaseView, Refusal
from bot.services.dialogue_state import DialogueRecord, clear_dialogue, load_dialogue, save_dialogue
from bot.services.outbox import deliver_pending
from bot.services.saved_searches import get_request, list_requests
from handlers import buttons
from handlers.case_views import (
    TO_RELATIVE,
    TO_VOLUNTEER,
    Act,
    board_button,
    button,
    card_rows,
    card_text,
    case_line,
    clip,
    desk_rows,
    desk_text,
    render_relay,
    soldier_line,
    waited,
)
from handlers.groups import HandlerGroup
from handlers.search import answers
from handlers.sending import BotApiSender
from handlers.steps import entry
from handlers.turn import AmanatContext, ButtonRows, State, Turn, html_lines, keyboard
from models import CaseStatus, OutboxState
from models.base import utcnow
from models.db import database_unavailable

_LOGGER = logging.getLogger(__name__)

CASES_GROUP: Final = HandlerGroup.CASES
COMMANDS: Final = (
    "ask",
)  # added to the private chats' menu (/cases is for volunteers: not in everyone's menu)
PAGE_SIZE: Final = 5
CONVERSATION: Final = "cases"  # the per-user row of what the next message is for (compose, answer, note)
MAX_TEXT: Final = 3500  # a longer message is refused: the framed relay must fit Telegram's 4096
COMPOSE_FOR: Final = timedelta(hours=2)  # an unused "write your message" prompt expires
PRIVATE: Final = filters.ChatType.PRIVATE
PATTERN: Final = r"^cs:"  # handlers.buttons.CaseButton


# ------------------------------------------------------------------------------------- sending


async def language(context: AmanatContext, person_id: int) -> Translator:
    stored = await cases.language_of(context.db, person_id)
    return translator(stored or context.services.settings.i18n.default_language)


async def send(context: AmanatContext, chat_id: int, text: str, rows: ButtonRows = ()) -> int:
    """Send to a chat other than the current turn's; the new message's id (Forbidden propagates)."""
    sent = await context.bot.send_message(chat_id, text, reply_markup=keyboard(rows))
    return sent.message_id


async def edit(
    context: AmanatContext, chat_id: int, message_id: int, text: str, rows: ButtonRows = ()
) -> None:
    """Edit one of the bot's messages; one that is gone or unchanged is left as it is."""
    try:
        await context.bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=keyboard(rows)
        )
    except (BadRequest, Forbidden) as error:
        if "not modified" not in str(error).lower():
            _LOGGER.info(
                "case message %s in chat %s not edited: %s", message_id, chat_id, type(error).__name__
            )


async def refresh_board(context: AmanatContext, case: CaseView) -> None:
    """Every copy of the case's card shows its status now."""
    history = await cases.case_messages(context.db, case.id, last=1_000)
    first = history[0] if history else None
    for post in await cases.posts_of(context.db, case.id, ("board",)):
        t = await board_language(context, post.chat_id)
        await edit(context, post.chat_id, post.message_id, card_text(t, case, first), card_rows(t, case))


async def board_language(context: AmanatContext, chat_id: int) -> Translator:
    if chat_id < 0:
        return translator(context.services.settings.i18n.default_language)
    return await language(context, chat_id)


async def post_to_volunteers(context: AmanatContext, case: CaseView, *, again: bool = False) -> int:
    """Post the card to the volunteers' group, or to each volunteer privately; how many got it.
    ``again``: a reminder that it is still waiting (the earlier copies stay and are kept up to date)."""
    settings = context.services.settings
    group = settings.roles.volunteer_chat_id
    targets = [group] if group else await cases.volunteer_ids(context.db, settings.roles)
    history = await cases.case_messages(context.db, case.id, last=1)
    first = history[0] if history else None
    posted = 0
    for chat_id in targets:
        t = await board_language(context, chat_id)
        text = card_text(t, case, first)
        if again:
            text = html_lines(t("case.still_waiting"), text)
        try:
            message_id = await send(context, chat_id, text, card_rows(t, case))
        except TelegramError as error:  # the case stays; the cases job posts a card that reached nobody
            _LOGGER.warning("case %s not posted to chat %s: %s", case.id, chat_id, type(error).__name__)
            continue
        await cases.record_post(context.db, case.id, chat_id, message_id, "board")
        posted += 1
    if not posted:
        _LOGGER.warning("case %s reached no volunteer (no group and no volunteers configured)", case.id)
    return posted


async def send_desk(context: AmanatContext, case: CaseView, volunteer_id: int) -> bool:
    """The case in full in the volunteer's private chat; False when the bot may not write to them."""
    t = await language(context, volunteer_id)
    history = await cases.case_messages(context.db, case.id)
    try:
        message_id = await send(
            context, volunteer_id, desk_text(t, case, history), desk_rows(t, case, volunteer_id)
        )
    except (Forbidden, BadRequest) as error:
        _LOGGER.info(
            "case %s: volunteer %s not reachable privately (%s)", case.id, volunteer_id, type(error).__name__
        )
        return False
    await cases.record_post(context.db, case.id, volunteer_id, message_id, "desk")
    return True


async def tell_relative(context: AmanatContext, case: CaseView, key: str, rows: ButtonRows = ()) -> bool:
    """A message of the bot's to the relative about their case; False (and marked) when they blocked it."""
    t = await language(context, case.person_id)
    try:
        message_id = await send(context, case.person_id, t(key, id=case.id), rows)
    except Forbidden:
        await relative_gone(context, case)
        return False
    await cases.record_post(context.db, case.id, case.person_id, message_id, "relay")
    return True


async def relative_gone(context: AmanatContext, case: CaseView) -> None:
    """The relative blocked the bot: mark them, and tell the claimer."""
    _LOGGER.info("case %s: the relative blocked the bot", case.id)
    await cases.relative_blocked(context.db, case.person_id)
    if case.volunteer_id is not None:
        t = await language(context, case.volunteer_id)
        with contextlib.suppress(Forbidden, BadRequest):
            await send(context, case.volunteer_id, t("case.relative_blocked", id=case.id))


# ------------------------------------------------------------------------------------- the relative


def volunteers_configured(settings: Settings) -> bool:
    """Whether anyone would see a case: a volunteers' group, or volunteers, in the configuration. Without
    them the bot offers no "ask a volunteer" (it would promise an answer nobody can give)."""
    return bool(settings.roles.volunteer_chat_id or settings.roles.volunteers)


async def results_snapshot(reading_ids: list[Any], context: AmanatContext) -> list[dict[str, Any]]:
    """The top results the relative saw, as volunteers are shown them (name and year as read)."""
    snapshot: list[dict[str, Any]] = []
    for reading_id in reading_ids[:3]:
        reading = await context.services.registry.get(str(reading_id))
        if reading is not None:
            name = " ".join(p for p in (reading.surname, reading.name, reading.patronymic) if p)
            snapshot.append(
                {"reading_id": reading.reading_id, "name": clip(name, 120), "year": reading.birth_year}
            )
    return snapshot


async def begin_compose(
    context: AmanatContext,
    turn: Turn,
    *,
    search: dict[str, Any],
    results: list[dict[str, Any]],
    source: str,
    request_id: int | None = None,
    reading_pk: int | None = None,
) -> None:
    """Ask the relative for their message; the next one they send opens the case."""
    record = DialogueRecord(CONVERSATION, turn.chat_id, turn.user_id)
    record.state = "compose"
    record.data = {
        "search": search,
        "results": results,
        "source": source,
        "request_id": request_id,
        "reading_pk": reading_pk,
        "at": utcnow().isoformat(),
    }
    await save_dialogue(context.db, record)
    about = soldier_line(turn.t, search) if search.get("surname") else turn.t("case.about_nobody")
    turn.say(
        html_lines(turn.t("case.compose", about=about)),
        [[button(turn.t, "case.button.cancel", Act.CANCEL, 0)]],
    )


async def ask_from_results(update: Update, context: AmanatContext) -> State:
    """ "Ask a volunteer" under the results: the search and its top results go with the case."""
    turn = context.turn
    search = dict(answers(turn))
    results = await results_snapshot(list(turn.data.get("results") or []), context)
    await begin_compose(context, turn, search=search, results=results, source="results")
    return turn.state


async def latest_search(context: AmanatContext, turn: Turn) -> tuple[dict[str, Any], int | None]:
    """What the relative searched for last: the dialogue's answers, else their newest saved search."""
    q = turn.data.get("q")
    if isinstance(q, dict) and q.get("surname"):
        return dict(q), None
    saved = await list_requests(context.db, turn.user_id)
    if saved:
        newest = max(saved, key=lambda item: item.id)
        return newest.fields.to_dict(), newest.id
    return {}, None


async def ask_command(update: Update, context: AmanatContext) -> State:
    """/ask: ask for the message to the volunteers (``/ask text`` opens the case at once)."""
    turn = context.turn
    if not volunteers_configured(context.services.settings):
        turn.say(turn.t("case.no_volunteers"))
        return turn.state
    search, request_id = await latest_search(context, turn)
    results = await results_snapshot(list(turn.data.get("results") or []), context) if search else []
    text = " ".join(context.args or []).strip()
    if text:
        await open_from(
            context, turn, text, search=search, results=results, source="ask", request_id=request_id
        )
        return turn.state
    await begin_compose(context, turn, search=search, results=results, source="ask", request_id=request_id)
    return turn.state


async def ask_saved(context: AmanatContext, turn: Turn, request_id: int) -> None:
    """/my's "ask a volunteer" about one saved search (only the presser's own)."""
    saved = await get_request(context.db, turn.user_id, request_id)
    if saved is None:
        turn.toast = turn.t.plain("button.stale")
        return
    await begin_compose(
        context, turn, search=saved.fields.to_dict(), results=[], source="my", request_id=saved.id
    )


async def ask_about_match(context: AmanatContext, turn: Turn, match_id: int) -> None:
    """ "Ask a volunteer" under a reviewed match: the search and that reading go with the case."""
    item = await review.request_of_match(context.db, turn.user_id, match_id)
    if item is None:
        turn.toast = turn.t.plain("button.stale")
        return
    reading = item.reading
    name = " ".join(p for p in (reading.surname, reading.name, reading.patronymic) if p)
    await begin_compose(
        context,
        turn,
        search=item.search,
        results=[{"reading_id": reading.reading_id, "name": clip(name, 120), "year": reading.birth_year}],
        source="review",
        request_id=item.request_id,
        reading_pk=item.reading_pk,
    )


def saved_search_button(t: Translator, request_id: int, position: int) -> tuple[str, str]:
    """The button /my shows under saved search number ``position`` (handlers/people.py)."""
    return button(t, "case.button.ask_saved", Act.ASK_SAVED, request_id, n=position)


async def open_from(
    context: AmanatContext,
    turn: Turn,
    text: str,
    *,
    search: dict[str, Any],
    results: list[dict[str, Any]],
    source: str,
    request_id: int | None = None,
    reading_pk: int | None = None,
    kind: str = "text",
    file_id: str | None = None,
) -> CaseView:
    """Open the case, post it to the volunteers and tell the relative its number and what happens next."""
    case = await cases.open_case(
        context.db,
        turn.user_id,
        text=text,
        search=search,
        results=results,
        source=source,
        kind=kind,
        file_id=file_id,
        request_id=request_id,
        reading_pk=reading_pk,
        summary=str(search.get("surname") or ""),
    )
    _LOGGER.info("case %s opened (source %s)", case.id, source)
    await post_to_volunteers(context, case)
    typical = await cases.typical_wait(context.db)
    usually = (
        turn.t.plural("case.usually_hours", max(round(typical.total_seconds() / 3600), 1))
        if typical is not None
        else turn.t("case.usually_unknown")
    )
    # Sent now rather than queued on the turn: its message id is recorded, so a reply to it reaches the case.
    message_id = await send(context, turn.chat_id, turn.t("case.opened", id=case.id, usually=usually))
    await cases.record_post(context.db, case.id, turn.chat_id, message_id, "relay")
    return case


# ------------------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Content:
    """What a private message carries that a case can take."""

    kind: str  # "text", "photo", "document", or "other" (stickers, voice…: not relayed)
    text: str
    file_id: str | None = None


def content_of(message: Message) -> Content:
    if message.text is not None:
        return Content("text", message.text)
    if message.photo:
        return Content("photo", message.caption or "", message.photo[-1].file_id)
    if message.document is not None:
        return Content("document", message.caption or "", message.document.file_id)
    return Content("other", "")


@dataclass(frozen=True)
class Route:
    """Where a private message goes: a case (a reply, or after Answer), a new case, or a closing note."""

    kind: str  # "case", "compose" or "note"
    case_id: int = 0
    data: dict[str, Any] | None = None
    stored: bool = True  # came from the user's row (used up by this message); False: a reply


async def route_of(context: AmanatContext, message: Message, user_id: int) -> Route | None:
    """The route of a private message, or None when it is the dialogue's (no case is concerned)."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == context.bot.id:
        case_id = await cases.case_of_post(context.db, message.chat_id, replied.message_id)
        if case_id is not None:
            return Route("case", case_id, stored=False)
    record = await load_dialogue(context.db, CONVERSATION, message.chat_id, user_id)
    if not record.stored or not record.state:
        return None
    if record.state == "compose":
        started = datetime.fromisoformat(str(record.data.get("at")))
        if utcnow() - started > COMPOSE_FOR:
            await clear_dialogue(context.db, CONVERSATION, message.chat_id, user_id)
            return None
        return Route("compose", data=record.data)
    if record.state in ("case", "note"):  # after Answer / Reply, or Close (a note)
        return Route(record.state, int(record.data.get("case", 0)))
    return None  # another feature's row (a family's pending offer): the message is the dialogue's


async def on_private_message(update: Update, context: AmanatContext) -> None:
    """A private message: a case's if it replies to a case message or follows Answer / ask, else not ours."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    try:
        route = await route_of(context, message, user.id)
    except Exception as error:
        if not database_unavailable(error):
            raise
        return  # the database is away: the dialogue's step answers "try again later" in their language
    if route is None:
        return  # the dialogue (group 0) handles it

    async def act(update: Update, context: AmanatContext) -> State:
        await take_message(context, message, route)
        return context.turn.state

    await entry(act, needs_consent=False, final=True)(update, context)


async def take_message(context: AmanatContext, message: Message, route: Route) -> None:
    turn = context.turn
    content = content_of(message)
    if content.kind == "other":
        turn.say(turn.t("case.not_relayed"))
        return
    if len(content.text) > MAX_TEXT:
        turn.say(turn.t("case.too_long", limit=MAX_TEXT))
        return
    if route.kind == "compose":
        await clear_dialogue(context.db, CONVERSATION, turn.chat_id, turn.user_id)
        if not turn.consented:
            return
        data = route.data or {}
        await open_from(
            context,
            turn,
            content.text,
            search=dict(data.get("search") or {}),
            results=list(data.get("results") or []),
            source=str(data.get("source") or "ask"),
            request_id=data.get("request_id"),
            reading_pk=data.get("reading_pk"),
            kind=content.kind,
            file_id=content.file_id,
        )
        return
    if route.stored:  # a reply leaves the row alone (a pending offer, a prompt for something else)
        await clear_dialogue(context.db, CONVERSATION, turn.chat_id, turn.user_id)
    if route.kind == "note":
        if content.kind != "text":
            turn.say(turn.t("case.note_text_only"))
            return
        await close_case(context, route.case_id, note=clip(content.text, 1000))
        return
    await relay(context, message, route.case_id, content)


async def relay(context: AmanatContext, message: Message, case_id: int, content: Content) -> None:
    """A message in a case, from its relative or from a volunteer, to the other side."""
    turn = context.turn
    case = await cases.get_case(context.db, case_id)
    if case is None:
        turn.say(turn.t("case.gone"))
        return
    if case.person_id == turn.user_id:
        await relay_from_relative(context, message, case, content)
    elif await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        await relay_from_volunteer(context, message, case, content)
    else:
        _LOGGER.warning(
            "case %s: message from user %s refused (neither its relative nor a volunteer)",
            case.id,
            turn.user_id,
        )
        turn.say(turn.t("case.not_allowed"))


async def send_relay(
    context: AmanatContext, case: CaseView, chat_id: int, payload: dict[str, Any], key: str
) -> OutboxState:
    """A relay through the outbox (bot.services.cases: durable, in the case's order), tried at once.

    Where it is afterwards: SENT; PENDING when Telegram refused it for now (5xx, a network error, a 429:
    the outbox job retries it, in order, with its back-off) or an earlier relay of the case is still
    waiting; DROPPED (and the recipient marked) when they blocked the bot; FAILED for good."""
    outbox_id, _ = await cases.queue_relay(context.db, case.id, chat_id, payload, key)
    await deliver_pending(
        context.db,
        BotApiSender(context.bot, background=False),
        renderers={cases.RELAY: render_relay},
        limit=20,
        default_language=context.services.settings.i18n.default_language,
        max_inline_wait=0.0,  # a 429 is not waited out in the handler: the outbox job sends it later
        thread=cases.relay_thread(case.id),
        on_sent=functools.partial(cases.relay_sent, context.db),
    )
    state = await cases.relay_state(context.db, outbox_id)
    if state != OutboxState.SENT:
        _LOGGER.info("case %s: relay %s to chat %s is %s", case.id, outbox_id, chat_id, state.value)
    return state


def relay_payload(content: Content, message: Message | None, to: str, **extra: Any) -> dict[str, Any]:
    """What a relay carries: the text, and the author's photo or document to copy (never their name)."""
    payload: dict[str, Any] = {"to": to, "text": content.text, "kind": content.kind, **extra}
    if content.kind != "text" and message is not None:
        payload["copy_of"] = [message.chat_id, message.message_id]
    return payload


async def relay_from_relative(
    context: AmanatContext, message: Message, case: CaseView, content: Content
) -> None:
    turn = context.turn
    result = await cases.add_message(
        context.db,
        case.id,
        Author.RELATIVE,
        turn.user_id,
        content.text,
        kind=content.kind,
        file_id=content.file_id,
    )
    if isinstance(result, Refusal):
        turn.say(turn.t("case.gone"))
        return
    case = result.case
    _LOGGER.info("case %s: relative's message (%s → %s)", case.id, result.before, case.status.value)
    if case.status == CaseStatus.NEW:
        if result.moved:  # a closed case nobody had claimed: back on the board
            await post_to_volunteers(context, case)
        turn.say(turn.t("case.added_new", id=case.id))
        return
    assert case.volunteer_id is not None
    if result.before == CaseStatus.CLOSED:  # reopened: the claimer's working copy gets its buttons back
        await refresh_desks(context, case)
    payload = relay_payload(
        content,
        message,
        TO_VOLUNTEER,
        name=case.relative_name,
        reopened=result.before == CaseStatus.CLOSED,
    )
    state = await send_relay(
        context, case, case.volunteer_id, payload, f"{message.chat_id}:{message.message_id}"
    )
    if state == OutboxState.SENT:
        turn.say(turn.t("case.sent_to_volunteer", id=case.id))
    elif state == OutboxState.PENDING:
        turn.say(turn.t("case.relay_queued", id=case.id))
    else:
        _LOGGER.warning("case %s: the claimer %s is not reachable", case.id, case.volunteer_id)
        turn.say(turn.t("case.added_new", id=case.id))


async def relay_from_volunteer(
    context: AmanatContext, message: Message, case: CaseView, content: Content
) -> None:
    turn = context.turn
    result = await cases.add_message(
        context.db,
        case.id,
        Author.VOLUNTEER,
        turn.user_id,
        content.text,
        kind=content.kind,
        file_id=content.file_id,
    )
    if isinstance(result, Refusal):
        key = {Refusal.NOT_YOURS: "case.claim_first", Refusal.CLOSED: "case.closed_already"}.get(
            result, "case.gone"
        )
        rows = (
            [[button(turn.t, "case.button.claim", Act.CLAIM, case.id)]]
            if case.status == CaseStatus.NEW
            else []
        )
        turn.say(turn.t(key, id=case.id), rows)
        return
    case = result.case
    payload = relay_payload(content, message, TO_RELATIVE)
    state = await relay_to_relative(context, case, payload, f"{message.chat_id}:{message.message_id}")
    if state in (OutboxState.DROPPED, OutboxState.FAILED):
        turn.say(turn.t("case.relative_blocked", id=case.id))
        return
    key = "case.sent_to_relative" if state == OutboxState.SENT else "case.relay_queued"
    turn.say(turn.t(key, id=case.id), [[button(turn.t, "case.button.answer", Act.ANSWER, case.id)]])


async def relay_to_relative(
    context: AmanatContext, case: CaseView, payload: dict[str, Any], key: str
) -> OutboxState:
    """A volunteer's answer to the relative, under "a volunteer writes" in the relative's language with
    Reply; DROPPED (and the relative marked: bot.services.outbox) when they blocked the bot."""
    state = await send_relay(context, case, case.person_id, payload, key)
    if state in (OutboxState.DROPPED, OutboxState.FAILED):
        await cases.relative_blocked(context.db, case.person_id)
        _LOGGER.info("case %s: the relative blocked the bot", case.id)
    return state


async def answer_relative(context: AmanatContext, case: CaseView, text: str) -> bool:
    """A volunteer's text answer from the web board to the relative (as a relay); False when the relative
    blocked the bot (True when it is sent, or queued for a retry)."""
    payload = relay_payload(Content("text", text), None, TO_RELATIVE)
    state = await relay_to_relative(context, case, payload, f"board:{uuid.uuid4().hex}")
    return state not in (OutboxState.DROPPED, OutboxState.FAILED)


# ------------------------------------------------------------------------------------- buttons


async def on_button(update: Update, context: AmanatContext) -> None:
    """A case button anywhere (the volunteers' group or a private chat)."""
    await entry(press, needs_consent=False, final=True)(update, context)


async def press(update: Update, context: AmanatContext) -> State:
    turn = context.turn
    query = update.callback_query
    pressed = buttons.CaseButton.decode(query.data if query is not None else None)
    if pressed is None:
        _LOGGER.warning("forged case button from user %s refused", turn.user_id)
        turn.toast = turn.t.plain("button.unknown")
        return turn.state
    if pressed.act in (Act.REPLY, Act.ASK_SAVED, Act.ASK_MATCH, Act.CANCEL):
        await relative_press(update, context, pressed)
        return turn.state
    if not await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        _LOGGER.warning(
            "case button %s from user %s refused: not a volunteer", Act(pressed.act).name, turn.user_id
        )
        turn.toast = turn.t.plain("case.volunteers_only")
        return turn.state
    await remember_volunteer(update, context)
    await volunteer_press(update, context, pressed)
    return turn.state


async def remember_volunteer(update: Update, context: AmanatContext) -> None:
    """Keep the acting volunteer's first name (other volunteers see who took a case) and language."""
    user = update.effective_user
    if user is not None:
        await cases.note_volunteer(context.db, user.id, user.first_name, pick_language(user.language_code))


async def relative_press(update: Update, context: AmanatContext, pressed: buttons.CaseButton) -> None:
    turn = context.turn
    if not turn.consented:
        turn.toast = turn.t.plain("button.stale")
        return
    if pressed.act == Act.ASK_SAVED:
        await ask_saved(context, turn, pressed.number)
        return
    if pressed.act == Act.ASK_MATCH:
        await ask_about_match(context, turn, pressed.number)
        return
    if pressed.act == Act.CANCEL:
        await clear_dialogue(context.db, CONVERSATION, turn.chat_id, turn.user_id)
        turn.say(turn.t("case.compose_cancelled"))
        return
    case = await cases.get_case(context.db, pressed.number)
    if case is None or case.person_id != turn.user_id:
        _LOGGER.warning(
            "case button REPLY for case %s from user %s refused: not theirs", pressed.number, turn.user_id
        )
        turn.toast = turn.t.plain("button.stale")
        return
    await wait_for(context, turn, "case", case.id)
    turn.say(turn.t("case.write_to_volunteer", id=case.id))


async def wait_for(context: AmanatContext, turn: Turn, state: str, case_id: int) -> None:
    """The presser's next private message is for this case (an answer) or closes it (a note)."""
    record = DialogueRecord(CONVERSATION, turn.user_id, turn.user_id, state=state, data={"case": case_id})
    await save_dialogue(context.db, record)


async def volunteer_press(update: Update, context: AmanatContext, pressed: buttons.CaseButton) -> None:
    turn = context.turn
    if pressed.act == Act.PAGE:
        text, rows = await cases_page(context, turn, pressed.number)
        message = update.effective_message
        if message is not None and message.message_id and turn.chat_id == turn.user_id:
            turn.edit(message.message_id, text, rows)
        else:
            await private_say(context, turn, text, rows)
        return
    case = await cases.get_case(context.db, pressed.number)
    if case is None:
        _LOGGER.warning(
            "case button %s for unknown case %s from user %s",
            Act(pressed.act).name,
            pressed.number,
            turn.user_id,
        )
        turn.toast = turn.t.plain("case.gone_toast")
        return
    if pressed.act == Act.CLAIM:
        await claim(context, case)
    elif pressed.act == Act.ANSWER:
        if case.volunteer_id != turn.user_id or not case.open or case.status == CaseStatus.NEW:
            turn.toast = turn.t.plain("case.not_yours")
            return
        await wait_for(context, turn, "case", case.id)
        await private_say(
            context,
            turn,
            turn.t("case.write_to_relative", id=case.id, name=case.relative_name or turn.t("case.relative")),
        )
    elif pressed.act == Act.RELEASE:
        await release(context, case)
    elif pressed.act == Act.CLOSE:
        if case.status != CaseStatus.NEW and case.volunteer_id != turn.user_id:
            turn.toast = turn.t.plain("case.not_yours")
            return
        if not case.open:
            turn.toast = turn.t.plain("case.closed_toast")
            return
        await wait_for(context, turn, "note", case.id)
        await private_say(
            context,
            turn,
            turn.t("case.ask_note", id=case.id),
            [[button(turn.t, "case.button.close_now", Act.CLOSE_NOW, case.id)]],
        )
    elif pressed.act == Act.CLOSE_NOW:
        await clear_dialogue(context.db, CONVERSATION, turn.user_id, turn.user_id)
        await close_case(context, case.id, note=None)
    elif pressed.act == Act.OPEN:
        history = await cases.case_messages(context.db, case.id)
        await private_say(
            context, turn, desk_text(turn.t, case, history), desk_rows(turn.t, case, turn.user_id)
        )


async def private_say(context: AmanatContext, turn: Turn, text: str, rows: ButtonRows = ()) -> None:
    """A message to the presser in their private chat (a press in the group answers there too)."""
    if turn.chat_id == turn.user_id:
        turn.say(text, rows)
        return
    try:
        await send(context, turn.user_id, text, rows)
    except (Forbidden, BadRequest):
        turn.toast = turn.t.plain("case.start_private")


async def claim(context: AmanatContext, case: CaseView) -> None:
    turn = context.turn
    result = await cases.claim(context.db, case.id, turn.user_id)
    if isinstance(result, Refusal):
        _LOGGER.info("case %s: claim by %s lost (%s)", case.id, turn.user_id, result.value)
        now = await lost_claim(context, case.id)
        taken_by = (
            now.volunteer_name if now is not None and now.volunteer_name else turn.t.plain("case.a_volunteer")
        )
        turn.toast = turn.t.plain("case.taken_toast", name=taken_by)
        return
    _LOGGER.info("case %s claimed by %s", case.id, turn.user_id)
    turn.toast = turn.t.plain("case.claimed_toast", id=case.id)
    if not await announce_claim(context, result.case, turn.user_id):
        turn.toast = turn.t.plain("case.start_private")


async def announce_claim(context: AmanatContext, case: CaseView, volunteer_id: int) -> bool:
    """The chat side of a won claim (from a button or the web board): every card says who took it, the
    claimer gets the case privately, the relative is told. False when the claimer cannot be written to."""
    await refresh_board(context, case)
    reached = await send_desk(context, case, volunteer_id)
    await tell_relative(context, case, "case.relative_claimed")
    return reached


async def lost_claim(context: AmanatContext, case_id: int) -> CaseView | None:
    """After a lost claim: the cards show the case as it is now (who has it)."""
    now = await cases.get_case(context.db, case_id)
    if now is not None:
        await refresh_board(context, now)
    return now


async def release(context: AmanatContext, case: CaseView) -> None:
    turn = context.turn
    result = await cases.release(context.db, case.id, turn.user_id)
    if isinstance(result, Refusal):
        turn.toast = turn.t.plain("case.not_yours")
        return
    _LOGGER.info("case %s released by %s", case.id, turn.user_id)
    await announce_release(context, result.case)
    turn.toast = turn.t.plain("case.released_toast", id=case.id)


async def announce_release(context: AmanatContext, case: CaseView) -> None:
    """The chat side of a release: the working copies lose their buttons, the card offers Claim again."""
    await refresh_desks(context, case)
    if await cases.posts_of(context.db, case.id, ("board",)):
        await refresh_board(context, case)
    else:
        await post_to_volunteers(context, case)


async def refresh_desks(context: AmanatContext, case: CaseView) -> None:
    """The case's private working copies show it as it is now (with buttons only for its claimer)."""
    for post in await cases.posts_of(context.db, case.id, ("desk",)):
        t = await language(context, post.chat_id)
        history = await cases.case_messages(context.db, case.id)
        await edit(
            context,
            post.chat_id,
            post.message_id,
            desk_text(t, case, history),
            desk_rows(t, case, post.chat_id),
        )


async def close_case(context: AmanatContext, case_id: int, note: str | None) -> None:
    turn = context.turn
    result = await cases.close(context.db, case_id, turn.user_id, note)
    if isinstance(result, Refusal):
        await private_say(
            context,
            turn,
            turn.t("case.closed_already" if result == Refusal.CLOSED else "case.not_yours_text", id=case_id),
        )
        return
    _LOGGER.info("case %s closed by %s", case_id, turn.user_id)
    await announce_close(context, result.case)
    await private_say(context, turn, turn.t("case.closed_done", id=case_id))


async def announce_close(context: AmanatContext, case: CaseView) -> None:
    """The chat side of a close: the card and the working copies say so, the relative is told."""
    await refresh_board(context, case)
    await refresh_desks(context, case)
    if case.relative_active:  # with "Tell his story" (the memory book, handlers/stories.py)
        t = await language(context, case.person_id)
        await tell_relative(
            context,
            case,
            "case.relative_closed",
            [[(t.plain("story.button.tell"), buttons.StoryButton("c", case.id).encode())]],
        )


# ------------------------------------------------------------------------------------- /cases


async def cases_page(context: AmanatContext, turn: Turn, page: int) -> tuple[Markup, ButtonRows]:
    """Page ``page`` (from 0) of the volunteer's own cases, then the unclaimed, longest waiting first."""
    found, total = await cases.list_cases(context.db, turn.user_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    if total == 0:
        return turn.t("cases.empty"), []
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if page >= pages:  # a page that no longer exists (cases were closed meanwhile): the last one
        return await cases_page(context, turn, pages - 1)
    t = turn.t
    lines: list[str | None] = [t.plural("cases.title", total), ""]
    rows: list[Sequence[tuple[str, str] | InlineKeyboardButton]] = []
    for case in found:
        lines.append(case_line(t, case))
        row = [button(t, "cases.button.open", Act.OPEN, case.id, id=case.id)]
        if case.status == CaseStatus.NEW:
            row.append(button(t, "cases.button.claim", Act.CLAIM, case.id, id=case.id))
        else:
            row.append(button(t, "cases.button.release", Act.RELEASE, case.id, id=case.id))
            row.append(button(t, "cases.button.close", Act.CLOSE, case.id, id=case.id))
        rows.append(row)
    if pages > 1:
        lines += ["", t("cases.page", page=page + 1, pages=pages)]
        nav = []
        if page > 0:
            nav.append(button(t, "cases.button.previous", Act.PAGE, page - 1))
        if page + 1 < pages:
            nav.append(button(t, "cases.button.next", Act.PAGE, page + 1))
        rows.append(nav)
    board = (
        board_button(t, context.services.settings.web.public_url) if turn.chat_id == turn.user_id else None
    )
    if board is not None:
        rows.append([board])
    return html_lines(*lines), rows


async def cases_command(update: Update, context: AmanatContext) -> State:
    """/cases: for volunteers, the open cases and their own, with buttons, paged."""
    turn = context.turn
    if not await cases.is_volunteer(context.db, context.services.settings.roles, turn.user_id):
        _LOGGER.warning("/cases from user %s refused: not a volunteer", turn.user_id)
        turn.say(turn.t("case.volunteers_only"))
        return turn.state
    await remember_volunteer(update, context)
    text, rows = await cases_page(context, turn, 0)
    turn.say(text, rows)
    return turn.state


# ------------------------------------------------------------------------------------- privacy


async def withdraw_cases(context: AmanatContext, person_id: int) -> None:
    """/forget: the relative's open cases are closed, their claimers told "the relative withdrew", and
    the relative's messages erased (in the database, and the copies in the volunteers' chats)."""
    for case in await cases.withdraw(context.db, person_id):
        anonymous = replace(case, relative_name=None, status=CaseStatus.CLOSED)
        _LOGGER.info("case %s: the relative withdrew", case.id)
        for post in await cases.posts_of(context.db, case.id, ("relay",)):
            if post.chat_id != person_id:  # a relative's message copied to a volunteer
                try:
                    await context.bot.delete_message(post.chat_id, post.message_id)
                except (BadRequest, Forbidden) as error:
                    _LOGGER.info("case %s: a relayed message not deleted (%s)", case.id, type(error).__name__)
        await refresh_board(context, anonymous)
        await refresh_desks(context, anonymous)
        if case.volunteer_id is not None:
            t = await language(context, case.volunteer_id)
            try:
                await send(context, case.volunteer_id, t("case.withdrawn", id=case.id))
            except (BadRequest, Forbidden) as error:
                _LOGGER.info(
                    "case %s: claimer not told of the withdrawal (%s)", case.id, type(error).__name__
                )


async def on_member_update(update: Update, context: AmanatContext) -> None:
    """A relative blocked the bot (my_chat_member → kicked): mark them and tell their claimers."""
    changed: ChatMemberUpdated | None = update.my_chat_member
    if changed is None or changed.chat.type != "private" or changed.new_chat_member.status != "kicked":
        return
    for case in await cases.open_cases_of(context.db, changed.from_user.id):
        await relative_gone(context, case)


# ------------------------------------------------------------------------------------- reminders


async def send_reminders(context: AmanatContext) -> int:
    """The cases job: post the cards that failed to reach the volunteers when their case opened; re-post
    cases unclaimed for ``cases.remind_after_hours`` and remind claimers whose case waited that long for
    their answer, each case once per period (0 hours: no reminders). How many messages were sent."""
    sent = 0
    for case in await cases.unposted_cases(context.db):
        _LOGGER.info("case %s: its card had reached no volunteer, posted now", case.id)
        sent += await post_to_volunteers(context, case)
    hours = context.services.settings.cases.remind_after_hours
    if hours <= 0:
        return sent
    for reminder in await cases.due_reminders(context.db, timedelta(hours=hours)):
        case = reminder.case
        if reminder.kind == "unclaimed":
            _LOGGER.info("case %s: still unclaimed, posted again", case.id)
            sent += await post_to_volunteers(context, case, again=True)
        elif case.volunteer_id is not None:
            t = await language(context, case.volunteer_id)
            try:
                await send(
                    context,
                    case.volunteer_id,
                    t("case.remind_claimer", id=case.id, waited=waited(t, case.waiting_since)),
                    [[button(t, "cases.button.open", Act.OPEN, case.id, id=case.id)]],
                )
                sent += 1
            except (BadRequest, Forbidden) as error:
                _LOGGER.info("case %s: claimer not reminded (%s)", case.id, type(error).__name__)
    return sent


# ------------------------------------------------------------------------------------- wiring


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the case handlers in group CASES_GROUP (-1): before the dialogue (group 0), so a reply to a
    case message, or the message after Answer / "ask a volunteer", is taken here; anything else falls
    through to the dialogue untouched. A handled update stops there."""
    application.add_handler(CallbackQueryHandler(on_button, pattern=PATTERN), CASES_GROUP)
    application.add_handler(
        CommandHandler("ask", entry(ask_command, final=True), filters=PRIVATE), CASES_GROUP
    )
    application.add_handler(
        CommandHandler("cases", entry(cases_command, needs_consent=False, final=True), filters=PRIVATE),
        CASES_GROUP,
    )
    application.add_handler(
        ChatMemberHandler(on_member_update, ChatMemberHandler.MY_CHAT_MEMBER), CASES_GROUP
    )
    application.add_handler(
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_private_message),
        CASES_GROUP,
    )
