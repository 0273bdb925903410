"""/search, the callbacks: the questions one at a time (with Skip and Back), the summary to edit, and free
text at once.

The answers live in the dialogue state (``data["q"]``), written through to the database after every
step, so a restart continues at the same question. Every state callback returns the next
:class:`~handlers.turn.State`; the diagram is in handlers/dialogue.mmd, the prompts in handlers/views.py.
"""

from __future__ import annotations

from typing import Final

from telegram import Update

from bot.services.query_text import (
    InputError,
    YearError,
    check_name,
    check_place,
    parse_birth_year,
    parse_query_text,
)
from handlers import buttons
from handlers.results import run_search
from handlers.turn import AmanatContext, State, Turn, html_lines
from handlers.views import (
    FIELD_OF_STATE,
    QUESTIONS,
    answers,
    ask,
    ask_consent,
    ask_search_typed,
    input_error_text,
    show_summary,
)

MAX_INPUT: Final = 1000  # longer messages are answered "too long" before any parsing
DIALOGUE_KEYS: Final = ("q", "editing", "results", "shown", "saved", "typed")  # what a new search forgets


def next_question(turn: Turn, state: State) -> State:
    """After an answer (or Skip): the next question, or the summary after the last or after an edit."""
    if turn.data.get("editing"):
        return show_summary(turn)
    order = [s for _, s in QUESTIONS]
    index = order.index(state)
    if index + 1 < len(order):
        return ask(turn, order[index + 1])
    return show_summary(turn)


def store_answer(turn: Turn, state: State, text: str) -> None:
    """Validate ``text`` as the answer to ``state`` and store it; raises InputError / YearError."""
    q = answers(turn)
    field = FIELD_OF_STATE[state]
    if len(text) > MAX_INPUT:
        raise InputError("too_long", MAX_INPUT)
    if field in ("surname", "name", "patronymic"):
        q[field] = check_name(text)
    elif field == "birth_year":
        years = parse_birth_year(text)
        q["birth_year"], q["birth_year_to"] = years.start, years.end
    else:
        q[field] = check_place(text)


async def answer(update: Update, context: AmanatContext) -> State:
    """Text during a question: store a valid answer and move on, or explain and ask again."""
    turn = context.turn
    state = turn.state
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    try:
        store_answer(turn, state, text)
    except (InputError, YearError) as error:
        return ask(turn, state, input_error_text(turn, error))
    return next_question(turn, state)


async def skip(update: Update, context: AmanatContext) -> State:
    """Skip: go on, keeping whatever the field holds (the surname cannot be skipped)."""
    turn = context.turn
    state = turn.state
    if state == State.ASK_SURNAME and not answers(turn).get("surname"):
        return ask(turn, state, turn.t("error.surname_required"))
    return next_question(turn, state)


async def clear(update: Update, context: AmanatContext) -> State:
    """Clear: empty the field and go on (the surname cannot be cleared)."""
    turn = context.turn
    state = turn.state
    if state == State.ASK_SURNAME:
        return ask(turn, state, turn.t("error.surname_required"))
    q = answers(turn)
    field = FIELD_OF_STATE[state]
    q.pop(field, None)
    if field == "birth_year":
        q.pop("birth_year_to", None)
    return next_question(turn, state)


async def back(update: Update, context: AmanatContext) -> State:
    """Back: the previous question (or the summary while editing)."""
    turn = context.turn
    if turn.data.get("editing"):
        return show_summary(turn)
    order = [s for _, s in QUESTIONS]
    index = order.index(turn.state)
    return ask(turn, order[max(index - 1, 0)])


async def edit(update: Update, context: AmanatContext) -> State:
    """An Edit button on the summary: ask that one question, then come back to the summary."""
    turn = context.turn
    turn.data["editing"] = True
    return ask(turn, QUESTIONS[context.pressed(buttons.Edit).field][1])


def begin(turn: Turn) -> State:
    """Start a new step-by-step search (forgetting earlier answers and results)."""
    for key in DIALOGUE_KEYS:
        turn.data.pop(key, None)
    return ask(turn, State.ASK_SURNAME, turn.t("search.intro"))


async def new_search(update: Update, context: AmanatContext) -> State:
    """ "New search" under the results: the questions from the start."""
    return begin(context.turn)


def command_text(update: Update) -> str:
    """What follows the command in the message ("/search Иванов 1904" → "Иванов 1904")."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def search_command(update: Update, context: AmanatContext) -> State:
    """/search: step by step, or — with text after the command — parse it and search at once.

    Before consent the request is kept in memory (never stored) and continued once they agree."""
    turn = context.turn
    free_text = command_text(update)
    if not turn.consented:
        context.before_consent["search"] = free_text
        ask_consent(turn)
        return State.IDLE
    return await search_for(turn, context, free_text)


async def search_for(turn: Turn, context: AmanatContext, free_text: str) -> State:
    """Search for a description typed in one message (or the questions, when there is none)."""
    if not free_text:
        return begin(turn)
    for key in DIALOGUE_KEYS:
        turn.data.pop(key, None)
    if len(free_text) > MAX_INPUT:
        turn.say(turn.t("error.too_long", limit=MAX_INPUT))
        return begin(turn)
    parsed = parse_query_text(free_text)
    q = answers(turn)
    problems: list[str] = []
    for field in ("surname", "name", "patronymic"):
        value = getattr(parsed, field)
        if value:
            try:
                q[field] = check_name(value)
            except InputError as error:
                problems.append(input_error_text(turn, error))
    if parsed.birthplace:
        try:
            q["birthplace"] = check_place(parsed.birthplace)
        except InputError as error:
            problems.append(input_error_text(turn, error))
    if parsed.birth_year is not None:
        q["birth_year"], q["birth_year_to"] = parsed.birth_year, parsed.birth_year_to
    if parsed.year_error:
        try:
            parse_birth_year(parsed.year_error)
        except YearError as error:
            problems.append(input_error_text(turn, error))
    if "surname" not in q:
        return ask(turn, State.ASK_SURNAME, html_lines(*problems, turn.t("search.free_text_no_surname")))
    if problems:
        return show_summary(turn, html_lines(*problems))
    return await run_search(turn, context)


MAX_ASKED_WORDS: Final = 4  # a longer message without a year is not taken for a description


def reads_as_description(text: str) -> bool | None:
    """True: a plain message is a description to search for (a surname and a year); None: it may be one
    (a few words that are all possible names) — ask; False: it is not."""
    if len(text) > MAX_INPUT:
        return False
    parsed = parse_query_text(text)
    if not parsed.surname:
        return False
    try:
        for value in (parsed.surname, parsed.name, parsed.patronymic):
            if value:
                check_name(value)
    except InputError:
        return False
    if parsed.birth_year is not None or parsed.year_error:
        return True
    return None if len(text.split()) <= MAX_ASKED_WORDS else False


async def idle_text(update: Update, context: AmanatContext) -> State:
    """A plain message when no search is going on: search for it if it reads as a description, ask when
    it may be one, otherwise say how to search."""
    turn = context.turn
    message = update.effective_message
    text = " ".join((message.text if message is not None and message.text else "").split())
    verdict = reads_as_description(text)
    if verdict is True:
        return await search_for(turn, context, text)
    if verdict is None:
        turn.data["typed"] = text
        ask_search_typed(turn, text)
        return State.IDLE
    turn.say(turn.t("idle.hint"))
    return State.IDLE


async def search_typed(update: Update, context: AmanatContext) -> State:
    """The answer to "Search for …?": search for the message, or say how to search."""
    turn = context.turn
    text = str(turn.data.pop("typed", "") or "")
    if context.pressed(buttons.SearchTyped).yes and text:
        return await search_for(turn, context, text)
    turn.new_step()
    turn.say(turn.t("idle.hint"))
    return State.IDLE


async def go(update: Update, context: AmanatContext) -> State:
    """Search from the summary."""
    turn = context.turn
    if not answers(turn).get("surname"):
        return ask(turn, State.ASK_SURNAME, turn.t("error.surname_required"))
    return await run_search(turn, context)


async def cancel(update: Update, context: AmanatContext) -> State:
    """/cancel (or the Cancel button): leave whatever step the dialogue is at."""
    turn = context.turn
    was = turn.state
    for key in DIALOGUE_KEYS:
        turn.data.pop(key, None)
    turn.new_step()
    turn.say(turn.t("cancel.done" if was != State.IDLE else "cancel.nothing"))
    return State.IDLE
