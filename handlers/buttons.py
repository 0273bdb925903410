"""Callback data of the dialogue's inline buttons: small (well under Telegram's 64 bytes) and never trusted.

Buttons of a dialogue step carry the step counter (``Turn.nonce``) so a button from an older message is
recognised as stale; buttons that name something (a saved search) are checked against its owner by the
service that acts on them. :func:`parse` returns None for anything that is not exactly one of these forms.

=========================  =====================================================
``lang:<ru|kk|en|any>``    choose the language (``any``: show the choice)
``ok:<lang>:<y|n>``        consent (or not) to storing personal data, in ``lang``
``skip:<n>`` ``back:<n>``  skip the current question / go back one
``edit:<n>:<field>``       from the summary, change one field (0–5)
``go:<n>``                 search with the summary as it is
``stop:<n>``               leave the dialogue (as /cancel)
``more:<n>``               the next page of results
``rec:<n>:<i>``            the full record of result ``i``
``none:<n>``               none of the results fits
``save:<n>``               save this search
``new:<n>``                start a new search
``forget:<n>:<y|n>``       confirm /forget
``del:<id>``               delete saved search ``id`` (checked to be the person's own)
=========================  =====================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from bot.i18n import LANGUAGES

PATTERN: Final = r"^(lang|ok|skip|back|edit|go|stop|more|rec|none|save|new|forget|del|help)(:|$)"
"""What the dialogue's CallbackQueryHandler takes; other features use other prefixes."""
_FORM: Final = re.compile(r"^([a-z]{2,6})(?::([a-z0-9]{1,9}))?(?::([a-z0-9]{1,9}))?$")
_NONCE_ONLY: Final = frozenset({"skip", "back", "go", "stop", "more", "none", "save", "new", "help"})
MAX_INDEX: Final = 49
FIELD_COUNT: Final = 6


@dataclass(frozen=True)
class Press:
    """A parsed button press; ``nonce`` is None for buttons not tied to a dialogue step."""

    action: str
    nonce: int | None = None
    arg: str | None = None

    @property
    def index(self) -> int:
        """``arg`` as a number (only call for actions whose argument was checked to be one)."""
        assert self.arg is not None
        return int(self.arg)


def _number(text: str | None, maximum: int) -> bool:
    return text is not None and text.isdigit() and len(text) <= 9 and int(text) <= maximum


def parse(data: str | None) -> Press | None:
    """The press the data describes, or None when it is malformed or forged."""
    if not data or len(data.encode()) > 64:
        return None
    match = _FORM.match(data)
    if match is None:
        return None
    action, first, second = match.groups()
    if action == "lang":
        if first in (*LANGUAGES, "any") and second is None:
            return Press(action, arg=first)
        return None
    if action == "ok":
        if first in LANGUAGES and second in ("y", "n"):
            return Press(action, arg=f"{first}{second}")
        return None
    if action == "del":
        if _number(first, 10**9) and second is None:
            return Press(action, arg=first)
        return None
    if not _number(first, 99_999):
        return None
    assert first is not None
    nonce = int(first)
    if action in _NONCE_ONLY and second is None:
        return Press(action, nonce)
    if action == "edit" and _number(second, FIELD_COUNT - 1):
        return Press(action, nonce, second)
    if action == "rec" and _number(second, MAX_INDEX):
        return Press(action, nonce, second)
    if action == "forget" and second in ("y", "n"):
        return Press(action, nonce, second)
    return None


def lang(code: str) -> str:
    return f"lang:{code}"


def consent(lang_code: str, yes: bool) -> str:
    return f"ok:{lang_code}:{'y' if yes else 'n'}"


def step(action: str, nonce: int, arg: int | str | None = None) -> str:
    return f"{action}:{nonce}" if arg is None else f"{action}:{nonce}:{arg}"


def delete(request_id: int) -> str:
    return f"del:{request_id}"
