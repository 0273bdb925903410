"""What tests and the console see: simulated people and chats, and immutable snapshots of the bot's output.

:class:`SentMessage` is one version of a message the bot sent (edits are new versions), :class:`Toast`
an ``answerCallbackQuery`` answer, :class:`ApiCall` one request the bot made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSONDict = dict[str, Any]


def _with_given(data: JSONDict, source: object, keys: tuple[str, ...]) -> JSONDict:
    """`data` with each of `source`'s optional fields `keys` that is set (the Bot API omits the rest)."""
    for key in keys:
        value = getattr(source, key)
        if value is not None:
            data[key] = value
    return data


@dataclass(frozen=True)
class SimUser:
    """A simulated Telegram user (a person talking to the bot)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "ru"

    def to_api(self) -> JSONDict:
        """The Bot API ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        return _with_given(data, self, ("last_name", "username", "language_code"))


@dataclass(frozen=True)
class SimChat:
    """A simulated chat: a user's private chat with the bot, a group or a supergroup."""

    id: int
    type: Literal["private", "group", "supergroup", "channel"]
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    def to_api(self) -> JSONDict:
        """The Bot API ``Chat`` object."""
        data: JSONDict = {"id": self.id, "type": self.type}
        return _with_given(data, self, ("title", "username", "first_name", "last_name"))


@dataclass(frozen=True)
class Button:
    """One inline keyboard button as the bot sent it."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class SentMessage:
    """An immutable snapshot of one version of a message the bot sent (or edited, or deleted).

    ``text`` is what the user reads (markup parsed, entities unescaped); ``html`` is the text
    exactly as the bot sent it (whatever the ``parse_mode``; the name says what it usually is).
    ``buttons`` is the inline keyboard.
    ``version`` is 0 for the original and grows with each edit; ``edited`` is ``version > 0``.
    """

    chat_id: int
    message_id: int
    text: str
    html: str
    parse_mode: str | None = None
    entities: tuple[Mapping[str, Any], ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    edited: bool = False
    version: int = 0
    deleted: bool = False
    date: int = 0
    method: str = "sendMessage"

    def render(self) -> str:
        """The message as a person sees it, for logs and the console: text, then button rows
        (``[Найти]``, URL buttons as ``[Сайт ↗]``)."""
        lines = [self.text]
        for row in self.buttons:
            lines.append(" ".join(f"[{b.text}{' ↗' if b.url else ''}]" for b in row))
        return "\n".join(lines)

    def all_buttons(self) -> list[Button]:
        """The inline buttons, row by row."""
        return [button for row in self.buttons for button in row]

    def button_texts(self) -> list[str]:
        """The captions of the inline buttons, row by row."""
        return [button.text for button in self.all_buttons()]

    def button(self, text_or_data: str) -> Button:
        """The inline button whose text (preferred) or ``callback_data`` is ``text_or_data``."""
        buttons = self.all_buttons()
        for button in buttons:
            if button.text == text_or_data:
                return button
        for button in buttons:
            if button.callback_data == text_or_data:
                return button
        raise LookupError(
            f"message {self.message_id} in chat {self.chat_id} has no button {text_or_data!r}; "
            f"buttons: {[(b.text, b.callback_data or b.url) for b in buttons]}"
        )


@dataclass(frozen=True)
class Toast:
    """An ``answerCallbackQuery`` answer (the user sees ``text`` as a toast, or an alert)."""

    chat_id: int
    user_id: int
    message_id: int | None
    callback_query_id: str
    data: str | None
    text: str | None
    show_alert: bool = False
    url: str | None = None


Observed = SentMessage | Toast
"""What listeners (:meth:`BotApiStandIn.add_listener`) are told about."""


@dataclass
class ApiCall:
    """One request the bot made. ``at`` is :func:`time.monotonic` on arrival."""

    method: str
    params: JSONDict
    at: float
    status: int = 0
    description: str | None = None
    result: Any = None

    @property
    def chat_id(self) -> int | str | None:
        """The ``chat_id`` parameter, if the call had one."""
        value = self.params.get("chat_id")
        return value if isinstance(value, int | str) else None

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.status == 200
