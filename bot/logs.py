"""Logging for the command line and the running bot: secrets redacted, no personal data, at every level.

:func:`setup_logging` is called once, before anything logs. It installs one stderr handler on the root
logger with a :class:`RedactingFilter` (the bot token, the webhook secret and the S3 secret key become ``<secret>`` in the
message, the arguments, tracebacks and stack traces), caps the libraries' loggers that print update
payloads, request parameters or SQL parameters at DEBUG (names, usernames and message texts would be in
them), and redacts uncaught exceptions printed by ``sys.excepthook`` as well.

``log.format = "json"`` writes one JSON object per line (:class:`JsonFormatter`: ``time``, ``level``,
``logger``, ``message`` and, for an error, ``exception``), for a log collector; the redaction runs before
formatting, so it holds for both formats. ``log.levels`` sets levels per module (e.g. matching at DEBUG);
the capped libraries stay capped whatever is asked.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from types import TracebackType

from bot.config import Settings

REDACTED = "<secret>"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Loggers whose DEBUG (or INFO) output carries personal data or request URLs, and the lowest level kept:
# PTB logs every update ("Processing update …", "Webhook received data …") and every call's parameters
# and results; httpx/httpcore log request URLs (the token is in the path); aiosqlite logs each call with
# its SQL parameters; SQLAlchemy's engine logs statements with their parameters.
CAPPED_LOGGERS: dict[str, int] = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "alembic": logging.WARNING,
    "pymorphy3": logging.WARNING,
    # The S3 client (stories.s3) logs each request's headers, signature and object keys at DEBUG.
    "botocore": logging.WARNING,
    "boto3": logging.WARNING,
    "s3transfer": logging.WARNING,
    "urllib3": logging.WARNING,
}

_OUR_HANDLER = "amanat"

# A secret shorter than this is not redacted on its own (it would blank out ordinary words).
_MIN_SECRET = 6


def secret_values(settings: Settings, extra: Iterable[str] = ()) -> list[str]:
    """The strings that must never reach a log: the token (and its secret half), the webhook secret and the
    S3 secret key."""
    values: list[str] = []
    token = settings.telegram.token.get_secret_value()
    for value in (
        token,
        token.partition(":")[2],
        settings.telegram.webhook_secret.get_secret_value(),
        settings.stories.s3.secret_access_key.get_secret_value(),
        *extra,
    ):
        if value and len(value) >= _MIN_SECRET and value not in values:
            values.append(value)
    return sorted(values, key=len, reverse=True)  # the whole token before its half


class RedactingFilter(logging.Filter):
    """Replaces every secret in a record (message, arguments, traceback, stack) before it is formatted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if secret and len(secret) >= _MIN_SECRET and secret not in self.secrets:
                self.secrets.append(secret)
        self.secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, without secrets
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def _formatter(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log.format == "json" else logging.Formatter(LOG_FORMAT)


def redact(text: str) -> str:
    """``text`` without any secret known to the logging setup."""
    return _FILTER.redact(text)


def _excepthook(
    kind: type[BaseException], error: BaseException, tb: TracebackType | None
) -> None:  # pragma: no cover - exercised through subprocesses
    sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))


def setup_logging(settings: Settings, *, secrets: Iterable[str] = ()) -> RedactingFilter:
    """Configure the root logger for ``settings.log.level``; safe to call more than once."""
    _FILTER.add(secret_values(settings, secrets))
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler()
        stream.setFormatter(_formatter(settings))
        stream.set_name(_OUR_HANDLER)
        root.addHandler(stream)
    for handler in root.handlers:
        if handler.get_name() == _OUR_HANDLER:
            handler.setFormatter(_formatter(settings))
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    root.setLevel(settings.log.level)
    for name, level in settings.log.levels.items():  # never below a capped library's floor
        floor = max(
            (
                cap
                for capped, cap in CAPPED_LOGGERS.items()
                if name == capped or name.startswith(capped + ".")
            ),
            default=logging.NOTSET,
        )
        logging.getLogger(name).setLevel(max(logging.getLevelNamesMapping()[level], floor))
    cap_library_loggers()
    sys.excepthook = _excepthook
    return _FILTER


def cap_library_loggers() -> None:
    """Keep the libraries' loggers in :data:`CAPPED_LOGGERS` at their lowest safe level (httpx's request
    URLs hold the token): the one place that does it, for the CLI, the bot and the console."""
    for name, lowest in CAPPED_LOGGERS.items():
        logger = logging.getLogger(name)
        logger.setLevel(max(lowest, logger.getEffectiveLevel()))
