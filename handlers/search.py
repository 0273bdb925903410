"""/search: the questions one at a time (with Skip and Back), the summary to edit, and free text at once.

The answers live in the dialogue state (``data["q"]``), written through to the database after every
step, so a restart continues at the same question. Every state callback returns the next
:class:`~handlers.runtime.State`; the diagram is in handlers/dialogue.mmd.
"""

from __future__ import annotations

from typing import Any, Final

from markupsafe import Markup
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
from handlers.runtime import AmanatContext, ButtonRows, State, Turn, html_lines

# The questions in order: (field, state). birth_year also carries birth_year_to.
QUESTIONS: Final = (
    ("surname", State.ASK_SURNAME),
    ("name", State.ASK_NAME),
    ("patronymic", State.ASK_PATRONYMIC),
    ("birth_year", State.ASK_BIRTH_YEAR),
    ("birthplace", State.ASK_BIRTHPLACE),
    ("draft_office", State.ASK_DRAFT_OFFICE),
)
FIELD_OF_STATE: Final = {state: name for name, state in QUESTIONS}
STATE_OF_FIELD: Final = {name: state for name, state in QUESTIONS}
ASKING: Final = frozenset(FIELD_OF_STATE)
MAX_INPUT: Final = 1000  # longer messages are answered "too long" before any parsing


def answers(turn: Turn) -> dict[str, Any]:
    """The answers given so far (``data["q"]``), created empty if needed."""
    q = turn.data.setdefault("q", {})
    assert isinstance(q, dict)
    return q


def year_text(q: dict[str, Any]) -> str | None:
    """The birth year or range for display: "1904" or "1902–1906"."""
    start, end = q.get("birth_year"), q.get("birth_year_to")
    if start is None:
        return None
    return str(start) if end in (None, start) else f"{start}–{end}"


def field_value(q: dict[str, Any], field: str) -> str | None:
    """A field's answer as text for display (None when not given)."""
    if field == "birth_year":
        return year_text(q)
    value = q.get(field)
    return str(value) if value else None


def input_error_text(turn: Turn, error: InputError | YearError) -> Markup:
    """A localized explanation of why an answer was not accepted."""
    if isinstance(error, YearError):
        return turn.t(f"error.year_{error.code}", low=1860, high=1930)
    return turn.t(f"error.{error.code}", limit=error.limit or 0)


def question_buttons(turn: Turn, state: State) -> ButtonRows:
    """Skip / Back / Cancel (or "back to the summary" while editing) for a question."""
    t, n = turn.t, turn.nonce
    rows: list[list[tuple[str, str]]] = []
    first_row: list[tuple[str, str]] = []
    if state != State.ASK_SURNAME:
        first_row.append((t.plain("button.skip"), buttons.step("skip", n)))
    if turn.data.get("editing"):
        first_row.append((t.plain("button.to_summary"), buttons.step("back", n)))
    elif state != State.ASK_SURNAME:
        first_row.append((t.plain("button.back"), buttons.step("back", n)))
    rows.append(first_row)
    rows.append([(t.plain("button.cancel"), buttons.step("stop", n))])
    return rows


def ask(turn: Turn, state: State, prefix: str | None = None) -> State:
    """Ask the question of ``state`` (a new step), after an optional explanation."""
    turn.new_step()
    field = FIELD_OF_STATE[state]
    position = [name for name, _ in QUESTIONS].index(field) + 1
    current = field_value(answers(turn), field)  # after Back or Edit: what was answered before
    turn.say(
        html_lines(
            prefix,
            "" if prefix else None,
            turn.t("search.step", n=position, total=len(QUESTIONS)),
            turn.t(f"search.ask_{field}"),
            turn.t("search.current_value", value=current) if current else None,
        ),
        question_buttons(turn, state),
    )
    return state


def summary_text(turn: Turn) -> Markup:
    """The answers so far, one line per field."""
    q = answers(turn)
    lines = [turn.t("search.summary_title")]
    for field, _ in QUESTIONS:
        value = field_value(q, field)
        lines.append(
            turn.t(
                "search.summary_line",
                field=turn.t(f"field.{field}"),
                value=value if value is not None else turn.t("search.not_given"),
            )
        )
    return html_lines(*lines)


def show_summary(turn: Turn, prefix: str | None = None) -> State:
    """The summary with Search, one Edit button per field, and Cancel (a new step)."""
    turn.new_step()
    turn.data.pop("editing", None)
    t, n = turn.t, turn.nonce
    edit_buttons = [
        (t.plain("button.edit", field=t.plain(f"field.{field}")), buttons.step("edit", n, index))
        for index, (field, _) in enumerate(QUESTIONS)
    ]
    rows: list[list[tuple[str, str]]] = [[(t.plain("button.search"), buttons.step("go", n))]]
    rows += [edit_buttons[i : i + 2] for i in range(0, len(edit_buttons), 2)]
    rows.append([(t.plain("button.cancel"), buttons.step("stop", n))])
    turn.say(
        html_lines(prefix, "" if prefix else None, summary_text(turn), "", t("search.summary_hint")), rows
    )
    return State.SUMMARY


def next_question(turn: Turn, state: State) -> State:
    """After an answer (or Skip): the next question, or the summary after the last or after an edit."""
    if turn.data.get("editing"):
        return show_summary(turn)
    order = [s for _, s in QUESTIONS]
    index = order.index(state)
    if index + 1 < len(order):
        return ask(turn, order[index + 1])
    return show_summary(turn)


def repeat_prompt(turn: Turn, prefix: str | None = None) -> None:
    """Show again what the dialogue is waiting for (after bad input, a stale button, a language change)."""
    state = turn.state
    if state in ASKING:
        ask(turn, state, prefix)
    elif state == State.SUMMARY:
        show_summary(turn, prefix)
    elif state == State.RESULTS:
        from handlers.results import results_menu

        results_menu(turn, prefix)
    elif state == State.CONFIRM_FORGET:
        from handlers.people import ask_forget

        ask_forget(turn, prefix)
    elif prefix:
        turn.say(html_lines(prefix, "", turn.t("start.how_to")))


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
    """Skip: leave the field empty and go on (the surname cannot be skipped)."""
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


async def edit(update: Update, context: AmanatContext, index: int) -> State:
    """An Edit button on the summary: ask that one question, then come back to the summary."""
    turn = context.turn
    turn.data["editing"] = True
    return ask(turn, QUESTIONS[index][1])


def begin(turn: Turn) -> State:
    """Start a new step-by-step search (forgetting earlier answers and results)."""
    for key in ("q", "editing", "results", "shown", "saved"):
        turn.data.pop(key, None)
    return ask(turn, State.ASK_SURNAME, turn.t("search.intro"))


async def search_command(update: Update, context: AmanatContext) -> State:
    """/search: step by step, or — with text after the command — parse it and search at once."""
    from handlers.results import run_search

    turn = context.turn
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    free_text = text.split(maxsplit=1)[1].strip() if len(text.split(maxsplit=1)) > 1 else ""
    if not free_text:
        return begin(turn)
    for key in ("q", "editing", "results", "shown", "saved"):
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


async def go(update: Update, context: AmanatContext) -> State:
    """Search from the summary."""
    from handlers.results import run_search

    turn = context.turn
    if not answers(turn).get("surname"):
        return ask(turn, State.ASK_SURNAME, turn.t("error.surname_required"))
    return await run_search(turn, context)


async def cancel(update: Update, context: AmanatContext) -> State:
    """/cancel (or the Cancel button): leave whatever step the dialogue is at."""
    turn = context.turn
    was = turn.state
    for key in ("q", "editing", "results", "shown", "saved"):
        turn.data.pop(key, None)
    turn.new_step()
    turn.say(turn.t("cancel.done" if was != State.IDLE else "cancel.nothing"))
    return State.IDLE
