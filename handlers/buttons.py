"""Callback data of every inline button the bot sends: one typed codec per kind, a dataclass ⇄ a short string.

A button's data is ``<prefix>:<field>:<field>`` (well under Telegram's 64 bytes) and never trusted:
:func:`decode` returns the typed value only for data that is exactly one of the kinds below, with every
field in range, and None for anything else (forged, truncated, from another version of the bot).
Nothing outside this module builds or splits callback data.

Buttons of a dialogue step (:class:`StepButton`) carry the step counter (``Turn.nonce``) so a button from
an older message is recognised as stale; buttons that name something (a saved search, a match) are
checked against their owner by the service that acts on them.

=============================  ==========================================================
``lang:<ru|kk|en|any>``        :class:`Language`: choose the language (``any``: show the choice)
``ok:<lang>:<y|n>``            :class:`Consent` (or not) to storing personal data, in ``lang``
``skip:<n>`` ``back:<n>``      :class:`Skip` the current question (keeping its value) / go :class:`Back` one
``clear:<n>``                  :class:`Clear` the current question's value
``edit:<n>:<field>``           :class:`Edit` one field (0–5) from the summary
``go:<n>``                     :class:`Go`: search with the summary as it is
``stop:<n>``                   :class:`Stop`: leave the dialogue (as /cancel)
``more:<n>``                   :class:`More`: the next page of results
``rec:<n>:<i>``                :class:`Record`: the full record of result ``i``
``none:<n>``                   :class:`NothingFits`
``save:<n>``                   :class:`Save` this search
``new:<n>``                    :class:`NewSearch`
``help:<n>``                   :class:`AskVolunteer` (only when that feature is on)
``forget:<n>:<y|n>``           :class:`Forget`: confirm /forget
``typed:<n>:<y|n>``            :class:`SearchTyped`: search for a plain message that may be a description
``del:<id>``                   :class:`Delete` saved search ``id``: asks first
``delok:<id>:<y|n>``           :class:`ConfirmDelete`: delete it (checked to be the person's own) or not
``nrec:<match id>``            :class:`NotificationRecord`: the record a notification was about
``pause:<search id>``          :class:`Pause` a saved search (from a notification or /my)
``resume:<search id>``         :class:`Resume` it (from /my)
``apc:<appeal id>:<action>``   :class:`AppealControl`: pause, resume or cancel a broadcast (admins)
``apf:<choice>``               :class:`AppealForm`: skip the photo, pick the audience, cancel (admins)
``aps:<appeal id>:<y|n>``      :class:`AppealSend`: send the previewed appeal, or cancel it (admins)
``cs:<act>:<number>``          :class:`CaseButton`: claim, answer, reply, release, close… (handlers/cases.py)
``rv:<l|n|s>:<match id>``      :class:`ReviewDecision`: likely him / not him / skip (/review)
``fm:<match id>``              :class:`ContactFamily`: ask a found man's possible family (/family)
``fa:<y|n>:<match id>``        :class:`FamilyAnswer`: the relative's answer to that
``apm:<appeal id>``            :class:`AppealMine`: "this may be my relative" under an appeal
``st:<act>:<story id>``        :class:`StoryButton`: the memory book (/story, /my, /moderate)
=============================  ==========================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Final, TypeVar

from bot.i18n import LANGUAGES

MAX_BYTES: Final = 64  # Telegram's limit for callback data
MAX_NONCE: Final = 99_999
MAX_ID: Final = 10**9
MAX_INDEX: Final = 49
FIELD_COUNT: Final = 6
_PART: Final = re.compile(r"^[a-z0-9]{1,9}$")

B = TypeVar("B", bound="ButtonData")
_KINDS: dict[str, type[ButtonData]] = {}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "y" if value else "n"
    return str(value)


def _value(kind: Any, text: str) -> object:
    """One field from its text (raises ValueError when it is not exactly one of that type's forms)."""
    if not _PART.match(text):
        raise ValueError(text)
    if kind == "bool":
        if text not in ("y", "n"):
            raise ValueError(text)
        return text == "y"
    if kind == "int":
        if not text.isdigit():
            raise ValueError(text)
        return int(text)
    return text


@dataclass(frozen=True)
class ButtonData:
    """A kind of button data: ``prefix`` names it; the dataclass fields follow in order (int, bool, str).

    Subclasses check their ranges in ``__post_init__`` (raising ValueError), so a value that decodes is
    always one the bot could have sent.
    """

    prefix: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.prefix:
            assert cls.prefix not in _KINDS, cls.prefix
            _KINDS[cls.prefix] = cls

    def encode(self) -> str:
        """The callback data string."""
        data = ":".join([self.prefix, *(_text(getattr(self, f.name)) for f in fields(self))])
        assert len(data.encode()) <= MAX_BYTES
        return data

    @classmethod
    def decode(cls: type[B], data: str | None) -> B | None:
        """The value ``data`` encodes if it is of this kind, else None."""
        value = decode(data)
        return value if isinstance(value, cls) else None


def decode(data: str | None) -> ButtonData | None:
    """The typed value of any button's data, or None when it is malformed or forged."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    prefix, *parts = data.split(":")
    kind = _KINDS.get(prefix)
    if kind is None:
        return None
    kind_fields = fields(kind)
    if len(parts) != len(kind_fields):
        return None
    try:
        return kind(*(_value(f.type, text) for f, text in zip(kind_fields, parts, strict=True)))
    except (ValueError, TypeError):
        return None


def _check(condition: bool) -> None:
    if not condition:
        raise ValueError("out of range")


# --------------------------------------------------------------------------- before a dialogue step


@dataclass(frozen=True)
class Language(ButtonData):
    prefix: ClassVar[str] = "lang"
    code: str

    def __post_init__(self) -> None:
        _check(self.code in (*LANGUAGES, "any"))


@dataclass(frozen=True)
class Consent(ButtonData):
    prefix: ClassVar[str] = "ok"
    lang: str
    yes: bool

    def __post_init__(self) -> None:
        _check(self.lang in LANGUAGES)


@dataclass(frozen=True)
class Delete(ButtonData):
    """Delete a saved search from /my: asks to confirm first."""

    prefix: ClassVar[str] = "del"
    request_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.request_id <= MAX_ID)


@dataclass(frozen=True)
class ConfirmDelete(ButtonData):
    """The answer to "Delete this saved search?" (not tied to a step: /my works in every state)."""

    prefix: ClassVar[str] = "delok"
    request_id: int
    yes: bool

    def __post_init__(self) -> None:
        _check(0 <= self.request_id <= MAX_ID)


# --------------------------------------------------------------------------- a dialogue step's buttons


@dataclass(frozen=True)
class StepButton(ButtonData):
    """A button of one dialogue step: stale once the step counter moved on."""

    nonce: int

    def __post_init__(self) -> None:
        _check(0 <= self.nonce <= MAX_NONCE)


@dataclass(frozen=True)
class Skip(StepButton):
    prefix: ClassVar[str] = "skip"


@dataclass(frozen=True)
class Back(StepButton):
    prefix: ClassVar[str] = "back"


@dataclass(frozen=True)
class Clear(StepButton):
    prefix: ClassVar[str] = "clear"


@dataclass(frozen=True)
class Go(StepButton):
    prefix: ClassVar[str] = "go"


@dataclass(frozen=True)
class Stop(StepButton):
    prefix: ClassVar[str] = "stop"


@dataclass(frozen=True)
class More(StepButton):
    prefix: ClassVar[str] = "more"


@dataclass(frozen=True)
class NothingFits(StepButton):
    prefix: ClassVar[str] = "none"


@dataclass(frozen=True)
class Save(StepButton):
    prefix: ClassVar[str] = "save"


@dataclass(frozen=True)
class NewSearch(StepButton):
    prefix: ClassVar[str] = "new"


@dataclass(frozen=True)
class AskVolunteer(StepButton):
    prefix: ClassVar[str] = "help"


@dataclass(frozen=True)
class Edit(StepButton):
    prefix: ClassVar[str] = "edit"
    field: int

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(0 <= self.field < FIELD_COUNT)


@dataclass(frozen=True)
class Record(StepButton):
    prefix: ClassVar[str] = "rec"
    index: int

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(0 <= self.index <= MAX_INDEX)


@dataclass(frozen=True)
class Forget(StepButton):
    prefix: ClassVar[str] = "forget"
    yes: bool


@dataclass(frozen=True)
class SearchTyped(StepButton):
    """The answer to "Search for …?" after a plain message that may be a description."""

    prefix: ClassVar[str] = "typed"
    yes: bool


# --------------------------------------------------------------------------- under a notification


@dataclass(frozen=True)
class NotificationRecord(ButtonData):
    prefix: ClassVar[str] = "nrec"
    match_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.match_id <= MAX_ID)


@dataclass(frozen=True)
class Pause(ButtonData):
    prefix: ClassVar[str] = "pause"
    request_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.request_id <= MAX_ID)


@dataclass(frozen=True)
class Resume(ButtonData):
    prefix: ClassVar[str] = "resume"
    request_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.request_id <= MAX_ID)


# --------------------------------------------------------------------------- appeals (administrators)

APPEAL_ACTIONS: Final = ("pause", "resume", "cancel")


@dataclass(frozen=True)
class AppealControl(ButtonData):
    """Pause, resume or cancel a broadcast, under its progress message (administrators only)."""

    prefix: ClassVar[str] = "apc"
    appeal_id: int
    action: str

    def __post_init__(self) -> None:
        _check(0 <= self.appeal_id <= MAX_ID and self.action in APPEAL_ACTIONS)


APPEAL_FORM_CHOICES: Final = ("skip", "all", "ru", "kk", "en", "region", "cancel")


@dataclass(frozen=True)
class AppealForm(ButtonData):
    """A choice in the /appeal form: skip the photo, the audience, or cancel the form (administrators)."""

    prefix: ClassVar[str] = "apf"
    choice: str

    def __post_init__(self) -> None:
        _check(self.choice in APPEAL_FORM_CHOICES)


@dataclass(frozen=True)
class AppealSend(ButtonData):
    """Send the previewed appeal (or not), under the /appeal form's last message (administrators)."""

    prefix: ClassVar[str] = "aps"
    appeal_id: int
    yes: bool

    def __post_init__(self) -> None:
        _check(0 <= self.appeal_id <= MAX_ID)


# --------------------------------------------------------------------------- volunteers' cases


CASE_ACTIONS: Final = frozenset("acgkmopqrxz")  # handlers.cases.Act


@dataclass(frozen=True)
class CaseButton(ButtonData):
    """A button of a case (handlers/cases.py): ``act`` is a ``handlers.cases.Act``; ``number`` a case id,
    or what the action names (a /cases page, a saved search, a match)."""

    prefix: ClassVar[str] = "cs"
    act: str
    number: int

    def __post_init__(self) -> None:
        _check(self.act in CASE_ACTIONS and 0 <= self.number <= MAX_ID)


@dataclass(frozen=True)
class ReviewDecision(ButtonData):
    """/review: "likely him" (``l``), "not him" (``n``) or "skip" (``s``) for one match."""

    prefix: ClassVar[str] = "rv"
    decision: str
    match_id: int

    def __post_init__(self) -> None:
        _check(self.decision in ("l", "n", "s") and 0 <= self.match_id <= MAX_ID)


@dataclass(frozen=True)
class ContactFamily(ButtonData):
    """/family: ask the relative of this match whether they want to talk to the search unit."""

    prefix: ClassVar[str] = "fm"
    match_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.match_id <= MAX_ID)


@dataclass(frozen=True)
class FamilyAnswer(ButtonData):
    """The relative's yes or no to talking with the search unit about a match."""

    prefix: ClassVar[str] = "fa"
    agree: bool
    match_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.match_id <= MAX_ID)


@dataclass(frozen=True)
class AppealMine(ButtonData):
    """ "This may be my relative" under an appeal: opens a volunteer case linked to it."""

    prefix: ClassVar[str] = "apm"
    appeal_id: int

    def __post_init__(self) -> None:
        _check(0 <= self.appeal_id <= MAX_ID)


STORY_ACTIONS: Final = frozenset("abcdknopqrsuwxy")  # handlers.stories.Act


@dataclass(frozen=True)
class StoryButton(ButtonData):
    """A button of the memory book (handlers/stories.py, handlers/moderation.py): ``act`` is a
    ``handlers.stories.Act``; ``number`` the story id (checked against its owner or the volunteer role)."""

    prefix: ClassVar[str] = "st"
    act: str
    number: int

    def __post_init__(self) -> None:
        _check(self.act in STORY_ACTIONS and 0 <= self.number <= MAX_ID)
