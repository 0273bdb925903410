"""Typed configuration: `config.toml` overridden by `AMANAT_<SECTION>__<KEY>` environment variables.

The file is the one named by `--config` / `AMANAT_CONFIG`, else `config.toml` in the working directory,
else the built-in defaults below. pydantic-settings does the parsing and validation; a bad value stops the
program at start with a message that names the key (see `load_config`).
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from platformdirs import user_data_path
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_NAME = "config.toml"
# The languages the bot speaks (bot.i18n has their catalogs); services that sort people by language use these.
LANGUAGE_CODES = ("ru", "kk", "en")
DEFAULT_BASE_URL = "https://api.telegram.org/bot"

WEBHOOK_SECRET_MISSING = (
    "webhook mode needs a secret: set telegram.webhook_secret (env AMANAT_TELEGRAM__WEBHOOK_SECRET), "
    "or leave telegram.webhook_url empty for long polling"
)


class ConfigError(Exception):
    """The configuration cannot be used; the message names the key and says what is wrong."""


def _id_list(value: Any) -> Any:
    """Accept `1,2,3`, a JSON list `[1, 2]`, a single number or a real list for a list of Telegram ids."""
    if isinstance(value, int):
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def default_database_path() -> Path:
    """Where the database lives unless configured: the user's data directory (on Linux
    ``~/.local/share/amanat/amanat.db``), the same file whichever folder a command runs in."""
    return user_data_path("amanat", appauthor=False) / "amanat.db"


class DatabaseConfig(BaseModel):
    url: str = Field(default_factory=lambda: f"sqlite+aiosqlite:///{default_database_path()}")
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)


class TelegramConfig(BaseModel):
    token: SecretStr = SecretStr("")
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr = SecretStr("")
    poll_timeout_seconds: float = Field(default=10.0, ge=0)
    # Updates handled at once, across chats; one chat's updates always run one after another.
    concurrent_updates: int = Field(default=16, ge=1, le=256)

    @field_validator("webhook_secret")
    @classmethod
    def _guessable(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", secret):
            # (the message never repeats the value: configuration errors are printed)
            raise ValueError("must be 16 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's alphabet)")
        return value


class RolesConfig(BaseModel):
    admins: Annotated[list[int], NoDecode] = Field(default_factory=list)
    volunteers: Annotated[list[int], NoDecode] = Field(default_factory=list)
    volunteer_chat_id: int = 0

    @field_validator("admins", "volunteers", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return _id_list(value)


class MatchingConfig(BaseModel):
    interval_seconds: int = Field(default=600, ge=5)
    heartbeat_days: int = Field(default=0, ge=0)
    batch_size: int = Field(default=2000, ge=1)


class BroadcastConfig(BaseModel):
    rate_per_second: float = Field(default=25.0, gt=0, le=30)
    # A public channel where appeals are also posted, with a deep link to the bot (0 = none).
    channel_id: int = 0


class CasesConfig(BaseModel):
    # A case unclaimed (or a relative's message unanswered) this long is re-posted (or its claimer
    # reminded), once per period; 0 turns the reminders off.
    remind_after_hours: float = Field(default=24, ge=0)


def default_stories_path() -> Path:
    """Where the memory book's files live unless configured: beside the default database (on Linux
    ``~/.local/share/amanat/stories``)."""
    return user_data_path("amanat", appauthor=False) / "stories"


S3_SECRET_ENV = "AMANAT_STORIES__S3__SECRET_ACCESS_KEY"


class S3Config(BaseModel):
    """An S3-compatible bucket for the memory book's files (AWS S3, MinIO, Yandex Object Storage, …),
    used instead of ``stories.storage_dir`` when ``bucket`` is set. The secret key is read from the
    environment only (``AMANAT_STORIES__S3__SECRET_ACCESS_KEY``), never from the config file; with no keys
    at all the S3 client's own chain is used (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
    ``~/.aws/credentials``, an instance role)."""

    # Empty: AWS S3 itself; else e.g. http://127.0.0.1:9000 (MinIO), https://storage.yandexcloud.net.
    endpoint_url: str = ""
    bucket: str = ""
    region: str = ""
    # Keys are <prefix><story id>/<sha256>.<jpg|pdf>, e.g. prefix "amanat/stories/".
    prefix: str = ""
    # "path" (bucket in the path: MinIO and most self-hosted stores), "virtual" (bucket in the host
    # name), or "auto" (the client decides; right for AWS).
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    access_key_id: str = ""
    secret_access_key: SecretStr = SecretStr("")

    @property
    def configured(self) -> bool:
        return bool(self.bucket)

    @field_validator("endpoint_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("must be an http:// or https:// address, e.g. http://127.0.0.1:9000")
        return value.rstrip("/")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
            raise ValueError("must be an S3 bucket name: 3 to 63 of a-z, 0-9, '.' and '-'")
        return value

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        if ".." in value.split("/"):
            raise ValueError("must not contain '..'")
        return value + "/" if value else ""

    @model_validator(mode="after")
    def _complete(self) -> S3Config:
        has_id, has_secret = bool(self.access_key_id), bool(self.secret_access_key.get_secret_value())
        if not self.bucket and (self.endpoint_url or has_id or has_secret or self.prefix):
            raise ValueError("stories.s3 is set up partly: bucket is empty (env AMANAT_STORIES__S3__BUCKET)")
        if has_id != has_secret:
            raise ValueError(
                "access_key_id and secret_access_key go together (the secret in env "
                f"{S3_SECRET_ENV}); leave both empty for the S3 client's own credentials"
            )
        return self


class StoriesConfig(BaseModel):
    """The memory book (/story): where its files are kept and how large a file may be."""

    # Photos (re-encoded JPEG) and PDFs, one folder per story; relative paths are relative to the
    # current folder. Empty: beside the default database.
    storage_dir: str = ""
    # A file larger than this is refused before it is downloaded (Telegram's bots may fetch up to 20 MB).
    max_file_mb: float = Field(default=10.0, gt=0, le=20)
    # A photo is scaled down to fit this many pixels on its longer side.
    max_photo_side: int = Field(default=2048, ge=256, le=8192)
    max_items: int = Field(default=20, ge=1, le=100)
    # An S3-compatible bucket instead of the directory (when its bucket is set).
    s3: S3Config = Field(default_factory=S3Config)

    @property
    def storage_path(self) -> Path:
        return Path(self.storage_dir) if self.storage_dir else default_stories_path()


class FloodConfig(BaseModel):
    """Per-user flood control: beyond ``backlog`` unanswered updates of one person, updates are dropped
    and the person is told once (handlers/flood.py)."""

    backlog: int = Field(default=5, ge=1)


class LimitsConfig(BaseModel):
    """Telegram's sending limits, per bot token and shared by every process (bot/services/send_budget.py)."""

    per_second: float = Field(default=30.0, gt=0, le=30)
    burst: int = Field(default=20, ge=1, le=30)
    # Tokens kept for replies: notifications and broadcasts send only while more than this is left.
    background_reserve: int = Field(default=5, ge=0)
    group_per_minute: float = Field(default=20.0, gt=0)


class RedisConfig(BaseModel):
    """Optional Redis (e.g. redis://127.0.0.1:6379/0) for the shared sending budget; empty: the database."""

    url: str = ""


class SearchConfig(BaseModel):
    limit: int = Field(default=5, ge=1, le=50)
    page_size: int = Field(default=3, ge=1, le=10)


class I18nConfig(BaseModel):
    default_language: Literal["ru", "kk", "en"] = "ru"


class WebConfig(BaseModel):
    """The bot's own small web server (`/healthz`, `/metrics`, the web board at `/board/` and its
    `/api/`); port 0 turns it off."""

    listen: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # The board's public HTTPS address as Telegram opens it (e.g. https://amanat.example.org/board/,
    # proxied to this server); empty: the bot shows no board button.
    public_url: str = ""
    # How long a Mini App's signed initData is accepted after Telegram made it.
    init_data_max_age_hours: float = Field(default=24, gt=0)
    # How often the administrators' statistics are computed in the background (bot.jobs); /api/stats
    # serves the latest, with its time. Several processes on one database compute it about once a period.
    stats_refresh_seconds: float = Field(default=60, gt=0)

    @field_validator("public_url")
    @classmethod
    def _https(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith("https://"):
            raise ValueError("must be an https:// address (Telegram opens Mini Apps over HTTPS only)")
        return value


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class LogConfig(BaseModel):
    """The root level, the format (``text`` or ``json``: one object per line) and levels per module, e.g.
    ``levels = {"bot.services.matching" = "DEBUG"}`` (env ``AMANAT_LOG__LEVELS='{"bot.services.matching":
    "DEBUG"}'``)."""

    level: LogLevel = "INFO"
    format: Literal["text", "json"] = "text"
    levels: dict[str, LogLevel] = Field(default_factory=dict)


class Settings(BaseSettings):
    """All of Amanat's configuration; sections mirror the tables of `config.toml`."""

    model_config = SettingsConfigDict(
        env_prefix="AMANAT_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    matching: MatchingConfig = Field(default_factory=MatchingConfig)
    broadcast: BroadcastConfig = Field(default_factory=BroadcastConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    cases: CasesConfig = Field(default_factory=CasesConfig)
    stories: StoriesConfig = Field(default_factory=StoriesConfig)
    flood: FloodConfig = Field(default_factory=FloodConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    i18n: I18nConfig = Field(default_factory=I18nConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    web: WebConfig = Field(default_factory=WebConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file") is not None:  # see settings_class
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    @property
    def is_admin_configured(self) -> bool:
        return bool(self.roles.admins)


def settings_class(path: Path | None) -> type[Settings]:
    """:class:`Settings` reading ``path`` under the environment (pydantic-settings takes the file from the
    class's configuration), or the plain class when there is no file."""
    if path is None:
        return Settings
    config = SettingsConfigDict(**{**Settings.model_config, "toml_file": path})
    return type("Settings", (Settings,), {"model_config": config, "__module__": __name__})


def async_database_url(url: str) -> str:
    """Map plain `sqlite:///` and `postgresql://` URLs to the async drivers the application uses."""
    if url.startswith("sqlite:///") or url == "sqlite://":
        return "sqlite+aiosqlite" + url[len("sqlite") :]
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("postgresql+psycopg2://"):
        return "postgresql+psycopg://" + url[len("postgresql+psycopg2://") :]
    return url


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: `--config`, else `AMANAT_CONFIG`, else `./config.toml` if it exists."""
    chosen = explicit or os.environ.get("AMANAT_CONFIG")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    default = Path.cwd() / DEFAULT_CONFIG_NAME
    return default if default.is_file() else None


def _describe(error: ValidationError, path: Path | None) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        env = "AMANAT_" + "__".join(str(part) for part in item["loc"]).upper()
        lines.append(f"  {key} (env {env}): {item['msg']}")
    where = f" in {path}" if path else ""
    return f"invalid configuration{where}:\n" + "\n".join(lines)


def load_config(explicit: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration; raises ConfigError with a readable message."""
    path = find_config_file(explicit)
    if path is not None and _s3_secret_in_file(path):
        raise ConfigError(
            f"invalid configuration in {path}:\n  stories.s3.secret_access_key: must not be in the config "
            f"file (it is read and copied with it); set env {S3_SECRET_ENV} instead"
        )
    token_env = os.environ.get("TELEGRAM_BOT_TOKEN")
    try:
        settings = settings_class(path)(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error, path)) from None
    except (ValueError, OSError) as error:  # a TOML syntax error or unreadable file
        raise ConfigError(f"cannot read configuration {path}: {error}") from None
    if token_env and not settings.telegram.token.get_secret_value():
        settings.telegram.token = SecretStr(token_env)
    return settings


def _s3_secret_in_file(path: Path) -> bool:
    """Whether the config file itself holds the S3 secret key (a file that cannot be read or parsed is
    reported by the settings' own reading)."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError):
        return False
    stories = data.get("stories")
    s3 = stories.get("s3") if isinstance(stories, dict) else None
    return isinstance(s3, dict) and "secret_access_key" in s3
