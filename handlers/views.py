"""The dialogue's views: message texts, prompts and keyboards, kept apart from the callbacks.

A view reads the turn (its language, answers and step counter) and queues the message it builds; it never
calls a service, so a callback decides what happens and a view only says it. Button data is made by the
codecs in handlers/buttons.py. The callbacks are in handlers/start.py, search.py, results.py and
people.py; which update reaches which callback is handlers/dialogue.py.
"""

from __future__ import annotations

from typing import Any, Final

from markupsafe import Markup, escape

from bot.i18n import LANGUAGES, Translator, translator
from bot.search import Match
from bot.services.import_reader import COLUMNS
from bot.services.query_text import InputError, YearError
from bot.services.registry_search import Found, ReadingView
from bot.services.saved_searches import SavedSearch
from handlers import buttons
from handlers.turn import ButtonRows, State, Turn, html_lines
from models import RequestStatus

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
MAX_RESULTS: Final = buttons.MAX_INDEX + 1
MAX_VALUE: Final = 300  # a raw registry value longer than this is cut in the chat (the record keeps it)
RECORD_FIELDS: Final = tuple(
    column for column in COLUMNS if column != "reading_id"
)  # as the registry orders them

Rows = list[list[tuple[str, str]]]


# ------------------------------------------------------------------------ language, consent, help


def language_rows() -> Rows:
    """One row of language buttons, each named in its own language."""
    return [[(translator(code)(f"language.{code}"), buttons.Language(code).encode()) for code in LANGUAGES]]


def choose_language_text() -> Markup:
    """ "Choose your language" in every language (for someone whose language we do not know)."""
    return html_lines(*(translator(code)("language.choose") for code in LANGUAGES))


def show_languages(turn: Turn) -> None:
    """The choice of the three languages."""
    turn.say(choose_language_text(), language_rows())


def greeting(turn: Turn, lang: str) -> None:
    """The greeting in ``lang``: who we are, what we do, and the consent question with its buttons."""
    t = translator(lang)
    turn.say(
        html_lines(t("start.greeting"), "", t("start.about"), "", t("start.consent")),
        [
            [(t("button.consent_yes"), buttons.Consent(lang, True).encode())],
            [(t("button.consent_no"), buttons.Consent(lang, False).encode())],
            [(t("button.language"), buttons.Language("any").encode())],
        ],
    )


def ask_consent(turn: Turn) -> None:
    """Anything before consent: greet in the Telegram language, or offer the choice of language."""
    if turn.telegram_language is None and turn.person is None and turn.picked_language is None:
        show_languages(turn)
    else:
        greeting(turn, turn.t.lang)


def declined(turn: Turn, t: Translator, lang: str) -> None:
    """ "No, thanks": nothing is stored; the way back is one button."""
    turn.say(t("consent.declined"), [[(t("button.consent_yes"), buttons.Consent(lang, True).encode())]])


def how_to(turn: Turn, first: Markup) -> None:
    """A message followed by how to search (after consent, /start again)."""
    turn.say(html_lines(first, "", turn.t("start.how_to")))


def help_text(turn: Turn) -> Markup:
    """The /help text in the person's language."""
    return turn.t("help.text")


# ------------------------------------------------------------------------ the questions and the summary


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
    """Skip / Back / Cancel (or "back to the summary" while editing), and Clear when there is a value."""
    t, n = turn.t, turn.nonce
    rows: Rows = []
    first_row: list[tuple[str, str]] = []
    if state != State.ASK_SURNAME:
        first_row.append((t.plain("button.skip"), buttons.Skip(n).encode()))
    if turn.data.get("editing"):
        first_row.append((t.plain("button.to_summary"), buttons.Back(n).encode()))
    elif state != State.ASK_SURNAME:
        first_row.append((t.plain("button.back"), buttons.Back(n).encode()))
    rows.append(first_row)
    if state != State.ASK_SURNAME and field_value(answers(turn), FIELD_OF_STATE[state]) is not None:
        rows.append([(t.plain("button.clear"), buttons.Clear(n).encode())])  # Skip keeps the value
    rows.append([(t.plain("button.cancel"), buttons.Stop(n).encode())])
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
        (t.plain("button.edit", field=t.plain(f"field.{field}")), buttons.Edit(n, index).encode())
        for index, (field, _) in enumerate(QUESTIONS)
    ]
    rows: Rows = [[(t.plain("button.search"), buttons.Go(n).encode())]]
    rows += [edit_buttons[i : i + 2] for i in range(0, len(edit_buttons), 2)]
    rows.append([(t.plain("button.cancel"), buttons.Stop(n).encode())])
    turn.say(
        html_lines(prefix, "" if prefix else None, summary_text(turn), "", t("search.summary_hint")), rows
    )
    return State.SUMMARY


def ask_search_typed(turn: Turn, text: str) -> None:
    """ "Search for «…»?" after a plain message that may be a description (a new step)."""
    turn.new_step()
    n = turn.nonce
    turn.say(
        turn.t("typed.ask", text=text),
        [
            [(turn.t.plain("button.typed_yes"), buttons.SearchTyped(n, True).encode())],
            [(turn.t.plain("button.typed_no"), buttons.SearchTyped(n, False).encode())],
        ],
    )


def repeat_prompt(turn: Turn, prefix: str | None = None) -> None:
    """Show again what the dialogue is waiting for (after bad input, a stale button, a language change)."""
    state = turn.state
    if state in ASKING:
        ask(turn, state, prefix)
    elif state == State.SUMMARY:
        show_summary(turn, prefix)
    elif state == State.RESULTS:
        results_menu(turn, prefix)
    elif state == State.CONFIRM_FORGET:
        ask_forget(turn, prefix)
    elif prefix:
        turn.say(html_lines(prefix, "", turn.t("start.how_to")))


# ------------------------------------------------------------------------ results and records


def likelihood_key(match: Match) -> str:
    """The catalog key of the score in words."""
    if match.strong:
        return "likelihood.very_likely"
    if match.score >= 50:
        return "likelihood.likely"
    if match.score >= 20:
        return "likelihood.possible"
    return "likelihood.unlikely"


def clip(value: str | None, limit: int = MAX_VALUE) -> str | None:
    """A raw value cut to ``limit`` characters (with an ellipsis) for display."""
    if value is None or not value.strip():
        return None
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def full_name(reading: ReadingView) -> str:
    return " ".join(
        part for part in (reading.surname, reading.name, reading.patronymic) if part and part.strip()
    )


def _folded(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def render_reason(turn: Turn, reason: Any, typed: dict[str, Any] | None = None) -> Markup:
    """A reason in words, saying what the person typed (``typed``: their answers) next to what the
    medallion says; an unknown code (a newer engine) falls back to a neutral phrase."""
    typed = typed or {}
    found = str(reason.args.get("found") or "")
    if reason.code == "name_exact" and typed.get("name"):
        name = str(typed["name"])
        if _folded(name) != _folded(found):  # "Emelyan" typed, "Емельян" read
            return turn.t("reason.name_typed", query=name, found=found)
        return turn.t("reason.name_exact", found=name)
    if reason.code == "surname_exact" and typed.get("surname"):  # one of the reading's spellings
        return turn.t("reason.surname_exact", found=typed["surname"])
    if turn.t.has(f"reason.{reason.code}"):
        try:
            return turn.t.reason(reason)
        except KeyError:
            pass
    return turn.t("reason.other")


# How registries write the search unit's own kind before its name; the chat's label already says it.
UNIT_LABELS: Final = ("поисковый отряд", "поисковое объединение", "по", "search unit", "іздеу отряды")


def search_unit(value: str) -> str:
    """The search unit without a leading "поисковый отряд" (the label of the line says so already)."""
    lowered = value.lower()
    for label in UNIT_LABELS:
        rest = value[len(label) :]
        if lowered.startswith(label) and rest[:1] and not rest[0].isalnum() and rest.strip():
            return rest.strip()
    return value


def render_found(turn: Turn, position: int, found: Found) -> Markup:
    """One result: who, how likely, why, where and when found, by whom, where buried."""
    t, reading = turn.t, found.reading
    name, year, likelihood = (
        clip(full_name(reading), 150),
        clip(reading.birth_year, 20),
        t(likelihood_key(found.match)),
    )
    lines: list[str | None] = [
        t("results.item_title", n=position, name=name, year=year, likelihood=likelihood)
        if year
        else t("results.item_title_no_year", n=position, name=name, likelihood=likelihood)
    ]
    for reason in found.match.reasons[:6]:
        lines.append(t("results.reason", reason=render_reason(turn, reason, answers(turn))))
    if reading.found_place or reading.found_date:
        lines.append(
            t(
                "results.found_at",
                place=clip(reading.found_place) or t("search.not_given"),
                date=clip(reading.found_date, 40) or t("search.not_given"),
            )
        )
    if reading.search_unit:
        lines.append(t("results.search_unit", unit=clip(search_unit(reading.search_unit))))
    if reading.burial_place:
        lines.append(t("results.burial", place=clip(reading.burial_place)))
    return html_lines(*lines)


def save_rows(turn: Turn, *, volunteers: bool) -> Rows:
    """ "Save this search" (unless saved) and "ask a volunteer" (only when that feature exists)."""
    t, n = turn.t, turn.nonce
    rows: Rows = []
    if not turn.data.get("saved"):
        rows.append([(t.plain("button.save"), buttons.Save(n).encode())])
    if volunteers:  # hook for the volunteers' issue
        rows.append([(t.plain("button.ask_volunteer"), buttons.AskVolunteer(n).encode())])
    return rows


def new_search_row(turn: Turn) -> list[tuple[str, str]]:
    return [(turn.t.plain("button.new_search"), buttons.NewSearch(turn.nonce).encode())]


def after_results_rows(turn: Turn, *, page_size: int, more: bool, found: int, volunteers: bool) -> Rows:
    """Buttons under the results: records, more, nothing fits, save, (ask a volunteer), new search."""
    t, n = turn.t, turn.nonce
    rows: Rows = []
    shown = int(turn.data.get("shown", 0))
    start = max(shown - page_size, 0)
    record_buttons = [
        (t.plain("button.record", n=index + 1), buttons.Record(n, index).encode())
        for index in range(start, shown)
    ]
    if record_buttons:
        rows.append(record_buttons)
    if more:
        rows.append([(t.plain("button.more"), buttons.More(n).encode())])
    if found:
        rows.append([(t.plain("button.nothing_fits"), buttons.NothingFits(n).encode())])
    rows.extend(save_rows(turn, volunteers=volunteers))
    rows.append(new_search_row(turn))
    return rows


def no_results(turn: Turn, *, volunteers: bool) -> None:
    """Nothing found: the summary, the advice, and Save / New search."""
    turn.say(
        html_lines(turn.t("results.none"), "", summary_text(turn), "", turn.t("results.none_hint")),
        [*save_rows(turn, volunteers=volunteers), new_search_row(turn)],
    )


def results_page(
    turn: Turn,
    found: list[Found],
    shown: int,
    page: list[Found],
    *,
    wanted: int,
    page_size: int,
    volunteers: bool,
) -> None:
    """A page of results (``page`` starts after ``shown`` of ``found``) with the buttons under it; when the
    search gave fewer than the ``wanted`` it was asked for, the list ends with "these are all"."""
    more = len(found) > turn.data["shown"] and turn.data["shown"] < MAX_RESULTS
    header = turn.t.plural("results.count", len(found)) if shown == 0 else turn.t("results.more_header")
    blocks = [render_found(turn, shown + i + 1, item) for i, item in enumerate(page)]
    end = (
        all_shown(turn, volunteers=volunteers) if not more and len(found) < min(wanted, MAX_RESULTS) else None
    )
    turn.say(
        html_lines(header, "", "\n\n".join(blocks), "\n" + end if end else None),
        after_results_rows(turn, page_size=page_size, more=more, found=len(found), volunteers=volunteers),
    )


def all_shown(turn: Turn, *, volunteers: bool) -> Markup:
    """The end of the list: these are all the readings that may be him, and what to do next."""
    t = turn.t
    return html_lines(
        t("results.all_shown"),
        None if turn.data.get("saved") else t("results.all_shown_save"),
        t("results.all_shown_volunteer") if volunteers else None,
    )


def results_menu(turn: Turn, prefix: str | None = None) -> None:
    """Remind where we are after the results (the buttons of the results message still work)."""
    turn.say(html_lines(prefix, "" if prefix else None, turn.t("results.waiting")))


def nothing_fits(turn: Turn, *, volunteers: bool) -> None:
    """ "Nothing fits": what can be done next."""
    turn.say(turn.t("results.nothing_fits"), [*save_rows(turn, volunteers=volunteers), new_search_row(turn)])


def record_text(t: Translator, title: str, reading: ReadingView) -> Markup:
    """A reading in full under ``title``: every field as read, then the extra columns of its import."""
    lines: list[str | None] = [title]
    for field in RECORD_FIELDS:
        value = clip(getattr(reading, field), 600)
        if value:
            lines.append(t("record.line", field=t(f"field.{field}"), value=value))
    for key, value in list(reading.extra.items())[:20]:
        if clip(str(value)):
            lines.append(t("record.line", field=clip(str(key), 60) or "", value=clip(str(value), 600) or ""))
    return html_lines(*lines)


def result_record(turn: Turn, index: int, reading: ReadingView) -> None:
    """The full record of result ``index``."""
    title = turn.t("record.title", n=index + 1, id=clip(reading.reading_id, 100))
    turn.say(record_text(turn.t, title, reading))


# ------------------------------------------------------------------------ /my and /forget


def describe(turn: Turn, saved: SavedSearch) -> Markup:
    """One saved search in a line: the name, then the birth year and birthplace when they are known."""
    f = saved.fields
    parts: list[Markup] = [escape(" ".join(part for part in (f.surname, f.name, f.patronymic) if part))]
    if f.birth_year is not None:
        year = (
            str(f.birth_year)
            if f.birth_year_to in (None, f.birth_year)
            else f"{f.birth_year}–{f.birth_year_to}"
        )
        parts.append(turn.t("my.born", year=year))
    if f.birthplace:
        parts.append(escape(f.birthplace))
    return Markup(", ".join(parts))


def my_searches(turn: Turn, saved: list[SavedSearch]) -> tuple[Markup, Rows]:
    """The /my message: the list, and per saved search a pause/resume and (last) a delete button."""
    if not saved:
        return turn.t("my.empty"), []
    lines = [turn.t.plural("my.title", len(saved))]
    rows: Rows = []
    for position, item in enumerate(saved, start=1):
        line = turn.t("my.line", n=position, text=describe(turn, item))
        paused = item.status == RequestStatus.PAUSED
        lines.append(Markup(f"{line} {turn.t('notify.status.paused')}") if paused else line)
        toggle = (  # pause/resume: handlers/notifications.py
            (turn.t.plain("notify.button.resume", n=position), buttons.Resume(item.id).encode())
            if paused
            else (turn.t.plain("notify.button.pause_n", n=position), buttons.Pause(item.id).encode())
        )
        rows.append([toggle, (turn.t.plain("button.delete", n=position), buttons.Delete(item.id).encode())])
    return html_lines(*lines, "", turn.t("my.hint")), rows


def confirm_delete(turn: Turn, position: int, saved: SavedSearch) -> tuple[Markup, Rows]:
    """ "Delete this saved search?" with Yes (delete) and No (back to the list)."""
    text = turn.t("my.confirm_delete", text=turn.t("my.line", n=position, text=describe(turn, saved)))
    return text, [
        [(turn.t.plain("button.delete_yes"), buttons.ConfirmDelete(saved.id, True).encode())],
        [(turn.t.plain("button.delete_no"), buttons.ConfirmDelete(saved.id, False).encode())],
    ]


def ask_forget(turn: Turn, prefix: str | None = None) -> State:
    """Ask to confirm erasing everything (a new step)."""
    turn.new_step()
    n = turn.nonce
    turn.say(
        html_lines(prefix, "" if prefix else None, turn.t("forget.confirm")),
        [
            [(turn.t.plain("button.forget_yes"), buttons.Forget(n, True).encode())],
            [(turn.t.plain("button.forget_no"), buttons.Forget(n, False).encode())],
        ],
    )
    return State.CONFIRM_FORGET
