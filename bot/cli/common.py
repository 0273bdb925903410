"""What every `amanat` command shares: settings and messages from the root context, one line and an exit
code for a known failure, running a command's coroutine, and the groups (whole descriptions in the help;
commands loaded from their module only when one of them runs)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import Coroutine, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli_text import CliText, cli_language, cli_text
from bot.config import Settings
from bot.database import DatabaseMissing
from bot.logs import redact
from bot.services.startup import StartupRefused
from models.db import connection_problem, join_sqlite_workers

T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    click.echo(f"amanat: {message}", err=True)
    sys.exit(code)


def startup_problem(error: BaseException, settings: Settings) -> str | None:
    """One line for a failure of a command's start (the database), or None for anything else (a refused
    Bot API token is the bot commands' own: bot.cli.matching)."""
    problem = connection_problem(error, settings.database.url)
    if problem is not None:
        return f"{problem} (setting database.url, env AMANAT_DATABASE__URL)"
    if isinstance(error, StartupRefused):
        return str(error)
    return None


@contextlib.contextmanager
def startup_errors() -> Iterator[None]:
    """A known start-up failure becomes one line on stderr and exit code 2 (anything else propagates)."""
    try:
        yield
    except Exception as error:
        ctx = click.get_current_context()
        if isinstance(error, DatabaseMissing):  # a command that reads, and nothing to read
            fail(text_of(ctx)("cli.db.missing", where=error.place))
        if isinstance(error, BrokenPipeError):  # whoever read the output went away (`| head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        problem = startup_problem(error, settings_of(ctx))
        if problem is None:
            if isinstance(error, OSError):  # e.g. the database server went away during the command
                fail(text_of(ctx)("cli.error.database", error=redact(str(error))))
            raise
        fail(problem, code=2)


async def _settled(coroutine: Coroutine[Any, Any, T]) -> T:
    """``coroutine``; when it fails, SQLite's worker threads are let finish while the loop still runs.

    aiosqlite closes a connection that failed to open from its own thread, which then hands the result
    back to the event loop: leaving ``asyncio.run`` first makes that thread print a traceback about a
    closed loop under the one line the administrator should read.
    """
    try:
        return await coroutine
    except Exception:
        await asyncio.to_thread(join_sqlite_workers, 2.0)
        raise


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a known start-up failure is one line on stderr and exit code 2."""
    with startup_errors():
        return asyncio.run(_settled(coroutine))
    raise AssertionError("unreachable")  # _startup_errors exits or re-raises


def settings_of(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj["settings"]
    return settings


def text_of(ctx: click.Context) -> CliText:
    """The command line's messages in the administrator's language (`--lang`, else the locale)."""
    root = ctx.find_root()
    return cli_text(root.obj["lang"] if root.obj else cli_language())


class WholeHelpGroup(click.Group):
    """A group whose command list shows each command's whole description (click cuts it at ~45 characters)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            first = (command.short_help or command.help or "").strip().split("\n\n", 1)[0]
            rows.append((name, " ".join(first.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class LazyGroup(WholeHelpGroup):
    """A group whose commands are named here by module and attribute, and imported only when one runs (or
    the help lists them): `amanat import` does not load the bot, the board and Telegram, about two seconds
    of every call. A table of names, not an import hidden in a function: each module imports at its top."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = self.lazy_commands.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command), where
        return command


def sample_registry_path() -> Path:
    """The bundled sample registry."""
    return Path(str(resources.files("bot") / "data" / "sample_registry.csv"))
