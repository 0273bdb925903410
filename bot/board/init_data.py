"""Telegram Mini App ``initData``: the check of its signature and age, as Telegram documents it.

The page opened from a Web App button receives ``initData``, a URL-encoded query string of fields
(``user`` as JSON, ``auth_date``, ``query_id``, ``hash``, …). It is genuine when

    secret = HMAC_SHA256(key="WebAppData", message=bot_token)
    hash   = hex(HMAC_SHA256(key=secret, message=data_check_string))

where ``data_check_string`` is every received field but ``hash``, as ``key=value``, sorted by key and
joined by line feeds. Anything else — no ``hash``, a field given twice, another bot's signature, an
``auth_date`` older than the allowed age (or in the future) — is rejected with :class:`InitDataRejected`,
whose ``reason`` is a short code for the log (never the data itself).

Pure Python: no Telegram library, no database, nothing else of ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "DEFAULT_MAX_AGE_SECONDS",
    "InitData",
    "InitDataRejected",
    "WebAppUser",
    "check_init_data",
    "sign_init_data",
]

DEFAULT_MAX_AGE_SECONDS: Final = 24 * 3600
FUTURE_SKEW_SECONDS: Final = 300  # clocks differ a little; a date further ahead is forged
MAX_LENGTH: Final = 8192


class InitDataRejected(Exception):
    """``initData`` that proves nothing; ``reason`` is a code for the log (missing, malformed, hash, stale…)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WebAppUser:
    """The Telegram user the page was opened by."""

    id: int
    first_name: str | None
    language_code: str | None


@dataclass(frozen=True)
class InitData:
    user: WebAppUser
    auth_date: int  # Unix time Telegram signed it at
    fields: Mapping[str, str]


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def _signature(fields: Mapping[str, str], bot_token: str) -> str:
    return hmac.new(_secret(bot_token), _data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def sign_init_data(fields: Mapping[str, Any], bot_token: str) -> str:
    """``initData`` as Telegram would make it for ``fields`` (a ``user`` dict is written as JSON).

    The bot never needs this; the tests and the benchmark open the board with it."""
    plain = {
        key: json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if isinstance(value, dict)
        else str(value)
        for key, value in fields.items()
    }
    plain["hash"] = _signature(plain, bot_token)
    return urlencode(plain)


def _parse(raw: str) -> dict[str, str]:
    if not raw or len(raw) > MAX_LENGTH:
        raise InitDataRejected("missing" if not raw else "too_long")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataRejected("malformed") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InitDataRejected("duplicate")
        fields[key] = value
    return fields


def _user(fields: Mapping[str, str]) -> WebAppUser:
    try:
        data = json.loads(fields["user"])
        user_id = data["id"]
    except (KeyError, ValueError, TypeError):
        raise InitDataRejected("no_user") from None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
        raise InitDataRejected("no_user")
    first_name = data.get("first_name")
    language = data.get("language_code")
    return WebAppUser(
        id=user_id,
        first_name=first_name if isinstance(first_name, str) else None,
        language_code=language if isinstance(language, str) else None,
    )


def check_init_data(
    raw: str, bot_token: str, *, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS, now: float | None = None
) -> InitData:
    """The verified ``initData``, or :class:`InitDataRejected`."""
    fields = _parse(raw)
    given = fields.get("hash", "")
    if not given or not bot_token:
        raise InitDataRejected("no_hash" if not given else "no_token")
    if not hmac.compare_digest(given.lower(), _signature(fields, bot_token)):
        raise InitDataRejected("hash")
    try:
        auth_date = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise InitDataRejected("no_auth_date") from None
    current = time.time() if now is None else now
    if current - auth_date > max_age_seconds:
        raise InitDataRejected("stale")
    if auth_date - current > FUTURE_SKEW_SECONDS:
        raise InitDataRejected("future")
    return InitData(user=_user(fields), auth_date=auth_date, fields=fields)
