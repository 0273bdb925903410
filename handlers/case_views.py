"""The views of a volunteer case: its card on the volunteers' board, the claimer's working copy (the
"desk"), a line of /cases, and the case buttons' captions with their data. Texts only: sending and the
callbacks are in handlers/cases.py.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from markupsafe import Markup, escape
from telegram import InlineKeyboardButton, WebAppInfo

from bot.i18n import Translator, translator
from bot.services.cases import Author, CaseView, MessageView
from bot.services.outbox import Button
from handlers import buttons
from handlers.turn import ButtonRows, html_lines
from models import CaseStatus
from models.base import utcnow

# ------------------------------------------------------------------------------------- button data


class Act(enum.StrEnum):
    """What a case button does (:class:`handlers.buttons.CaseButton`); the number it carries is a case id
    unless said otherwise."""

    CLAIM = "c"
    ANSWER = "a"  # the claimer: the next message goes to the relative
    REPLY = "p"  # the relative: the next message goes to the volunteer
    RELEASE = "r"
    CLOSE = "x"  # ask for a closing note
    CLOSE_NOW = "z"  # close without a note
    OPEN = "o"  # show the case (from /cases)
    PAGE = "g"  # /cases page (the number is the page)
    ASK_SAVED = "m"  # /my: ask a volunteer about saved search (the number is its id)
    ASK_MATCH = "k"  # under a reviewed match's notification: ask about it (the number is the match id)
    CANCEL = "q"  # forget the "write your message" prompt (number 0)


def button(t: Translator, key: str, act: Act, number: int, **args: object) -> tuple[str, str]:
    return t.plain(key, **args), buttons.CaseButton(act, number).encode()


MAX_CAPTION: Final = 800  # a relayed photo's or document's caption (Telegram's limit is 1024)
TO_VOLUNTEER: Final = "volunteer"
TO_RELATIVE: Final = "relative"


def render_relay(payload: Mapping[str, Any], language: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """A case's relay (bot.services.cases, kind RELAY) in the recipient's language: "the relative
    writes" (to the claimer, with Answer) or "a volunteer writes" (to the relative, with Reply) above the
    text; the caption of a copied photo or document is cut to MAX_CAPTION."""
    t = translator(language)
    case_id = int(payload["case_id"])
    if payload.get("to") == TO_VOLUNTEER:
        key = "case.from_relative_reopened" if payload.get("reopened") else "case.from_relative"
        header = t(key, id=case_id, name=payload.get("name") or t("case.relative"))
        label, data = button(t, "case.button.answer", Act.ANSWER, case_id)
    else:
        header = t("case.from_volunteer", id=case_id)
        label, data = button(t, "case.button.reply", Act.REPLY, case_id)
    text = str(payload.get("text") or "")
    if payload.get("copy_of"):
        body = html_lines(header, escape(clip(text, MAX_CAPTION)) if text else None)
    else:
        body = html_lines(header, escape(text))
    return str(body), ((Button(label, data),),)


# ------------------------------------------------------------------------------------- views


def soldier_line(t: Translator, search: dict[str, Any]) -> Markup:
    """The soldier as the relative described him, in one line."""
    name = " ".join(str(search[f]) for f in ("surname", "name", "patronymic") if search.get(f))
    if not name:
        return t("case.soldier_unknown")
    year = search.get("birth_year")
    if year is not None and search.get("birth_year_to") not in (None, year):
        year = f"{year}–{search['birth_year_to']}"
    return t(
        "case.soldier",
        name=name or t("search.not_given"),
        year=year or t("search.not_given"),
        place=search.get("birthplace") or t("search.not_given"),
    )


def waited(t: Translator, since: datetime | None, now: datetime | None = None) -> Markup:
    """How long a case has waited, in words ("3 h", "2 d")."""
    if since is None:
        return t("case.waited_none")
    seconds = max(((now or utcnow()) - since).total_seconds(), 0)
    hours = int(seconds // 3600)
    if hours >= 48:
        return t.plural("case.waited_days", hours // 24)
    if hours >= 1:
        return t.plural("case.waited_hours", hours)
    return t.plural("case.waited_minutes", max(int(seconds // 60), 1))


def status_text(t: Translator, status: CaseStatus) -> Markup:
    return t(f"case.status.{status.value}")


def results_lines(t: Translator, results: list[Any]) -> list[str]:
    lines: list[str] = []
    for position, item in enumerate(results[:3], start=1):
        if isinstance(item, dict):
            lines.append(
                t("case.result", n=position, name=item.get("name") or "?", year=item.get("year") or "?")
            )
    return [t("case.results_title"), *lines] if lines else []


def message_line(t: Translator, case: CaseView, message: MessageView) -> Markup:
    if message.author == Author.RELATIVE:
        who: str = case.relative_name or t("case.relative")
    else:
        who = t("case.volunteer_said")
    text = message.text
    if message.kind != "text":
        text = f"{t.plain(f'case.file.{message.kind}')} {message.text}".strip()
    return t("case.line", who=who, text=clip(text, 400))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def card_text(t: Translator, case: CaseView, first: MessageView | None) -> Markup:
    """The card on the volunteers' board: the case, its status, the soldier, who asks, the first words."""
    if case.status == CaseStatus.NEW:
        head = t("case.card_new", id=case.id, waited=waited(t, case.waiting_since))
    elif case.status == CaseStatus.CLOSED:
        head = t("case.card_closed", id=case.id)
    else:
        head = t("case.card_taken", id=case.id, volunteer=case.volunteer_name or t("case.a_volunteer"))
    lines: list[str | None] = [head, soldier_line(t, case.search)]
    if case.status == CaseStatus.NEW:
        lines.append(t("case.from", name=case.relative_name or t("case.relative")))
        lines.extend(results_lines(t, case.results))
        if first is not None:
            lines.append(t("case.quote", text=clip(first.text or t.plain(f"case.file.{first.kind}"), 500)))
    return html_lines(*lines)


def card_rows(t: Translator, case: CaseView) -> ButtonRows:
    return [[button(t, "case.button.claim", Act.CLAIM, case.id)]] if case.status == CaseStatus.NEW else []


def desk_text(t: Translator, case: CaseView, history: list[MessageView]) -> Markup:
    """The whole case for the volunteer who has it: status, soldier, results and the conversation."""
    lines: list[str | None] = [
        t("case.desk_title", id=case.id, status=status_text(t, case.status)),
        soldier_line(t, case.search),
        t("case.from", name=case.relative_name or t("case.relative")),
        *results_lines(t, case.results),
        "",
        t("case.conversation"),
        *(message_line(t, case, message) for message in history),
    ]
    if case.open and not case.relative_active:
        lines.append(t("case.relative_blocked_note"))
    if case.status in (CaseStatus.CLAIMED, CaseStatus.ANSWERED):
        lines += ["", t("case.desk_hint")]
    return html_lines(*lines)


def desk_rows(t: Translator, case: CaseView, viewer: int) -> ButtonRows:
    if case.status == CaseStatus.NEW:
        return [
            [button(t, "case.button.claim", Act.CLAIM, case.id)],
            [button(t, "case.button.close", Act.CLOSE, case.id)],
        ]
    if case.status == CaseStatus.CLOSED or case.volunteer_id != viewer:
        return []
    return [
        [button(t, "case.button.answer", Act.ANSWER, case.id)],
        [
            button(t, "case.button.release", Act.RELEASE, case.id),
            button(t, "case.button.close", Act.CLOSE, case.id),
        ],
    ]


def case_line(t: Translator, case: CaseView) -> Markup:
    """One case in /cases: number, status, how long it has waited, the soldier."""
    name = " ".join(str(case.search[f]) for f in ("surname", "name") if case.search.get(f))
    return t(
        "cases.line",
        id=case.id,
        status=status_text(t, case.status),
        waited=waited(t, case.waiting_since),
        soldier=name or t("case.soldier_unknown"),
    )


def board_button(t: Translator, public_url: str, tab: str | None = None) -> InlineKeyboardButton | None:
    """The button that opens the web board (a Mini App) at ``tab``; None when no public URL is configured.
    Telegram allows web_app buttons in private chats only."""
    if not public_url:
        return None
    url = public_url if tab is None else f"{public_url}{'&' if '?' in public_url else '?'}tab={tab}"
    return InlineKeyboardButton(t.plain("board.button.open"), web_app=WebAppInfo(url))
