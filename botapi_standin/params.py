"""Bot API request parameters: decoding them as Telegram does, and Telegram's checks with its error texts.

Parameters arrive form-encoded (nested objects as JSON strings, numbers as text, as PTB sends them) or as
JSON; :func:`coerce` gives each the type a JSON body would have carried. :class:`ApiError` is an error
answer (HTTP status, Telegram's description); :func:`bad_request` makes the usual 400.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from botapi_standin.entities import utf16_len
from botapi_standin.objects import Button

JSONDict = dict[str, Any]

MAX_CALLBACK_DATA_BYTES: Final = 64


class ApiError(Exception):
    """An error answer: the HTTP status, Telegram's description and optional ``parameters`` (``retry_after``)."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    """A 400 answer with Telegram's "Bad Request: …" prefix."""
    return ApiError(400, f"Bad Request: {description}")


_JSON_PARAMS: Final = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "commands",
        "scope",
        "message_ids",
    }
)
_INT_PARAMS: Final = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "user_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
    }
)
_BOOL_PARAMS: Final = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "show_alert",
        "drop_pending_updates",
    }
)
_URL_SCHEMES: Final = ("http://", "https://", "tg://")
_BUTTON_ACTIONS: Final = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def coerce(name: str, value: Any) -> Any:
    """Turn a form-encoded value into what a JSON body would have carried."""
    if not isinstance(value, str):
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise bad_request(f"can't parse {what} JSON object") from None
    if name in _INT_PARAMS and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if name in _BOOL_PARAMS and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def int_param(params: JSONDict, name: str, default: int | None = None) -> int:
    """The integer parameter ``name`` (or ``default``); 400 when it is missing or not a number."""
    value = params.get(name, default)
    if value is None:
        raise bad_request(f"{name} is empty")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f"invalid {name} specified")
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid {name} specified") from None


def parse_buttons(markup: JSONDict | None) -> tuple[tuple[Button, ...], ...]:
    """The inline keyboard of ``markup`` as rows of :class:`Button` (none without one)."""
    if not markup or "inline_keyboard" not in markup:
        return ()
    return tuple(
        tuple(
            Button(
                text=str(b.get("text", "")),
                callback_data=b.get("callback_data"),
                url=b.get("url"),
                raw=dict(b),
            )
            for b in row
        )
        for row in markup["inline_keyboard"]
    )


def _validate_inline_keyboard(markup: JSONDict) -> None:
    """Telegram's checks of an inline keyboard: button texts, one action each, callback data ≤ 64 bytes."""
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'can\'t parse inline keyboard button: field "inline_keyboard" must be an Array of Arrays'
        )
    total = 0
    for row in rows:
        for button in row:
            total += 1
            if not isinstance(button, dict):
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                raise (
                    bad_request("BUTTON_TEXT_EMPTY")
                    if isinstance(text, str)
                    else bad_request(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                )
            if not any(key in button for key in _BUTTON_ACTIONS):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not (
                    1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not url.startswith(_URL_SCHEMES) or len(url) < 9:
                    raise bad_request("BUTTON_URL_INVALID")
    if total > 100:
        raise bad_request("reply markup is too long")


def validate_reply_markup(markup: Any) -> JSONDict | None:
    """An inline keyboard, validated; the bot sends no reply keyboards, so the stand-in refuses them."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        raise bad_request(
            'can\'t find field "inline_keyboard" (the stand-in simulates inline keyboards only)'
        )
    _validate_inline_keyboard(markup)
    return markup


def command_entities(text: str) -> list[JSONDict]:
    """The ``bot_command`` entity a Telegram client adds to a text starting with a command."""
    if not text.startswith("/"):
        return []
    match = re.match(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{3,64})?", text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def split_utf16(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-16 code units, as a client splits a long message."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = utf16_len(char)
        if size + width > limit:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks
