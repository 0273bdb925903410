"""`amanat run` and `console`: the bot itself, and offline in a terminal."""

from __future__ import annotations

import secrets
import sys

import click

from bot.app import run_bot
from bot.cli.common import (
    fail,
    run_async,
    settings_of,
    startup_errors,
)
from bot.cli.matching import token_refused
from bot.config import WEBHOOK_SECRET_MISSING
from bot.console import run_console


def _refuse_webhook_without_secret() -> None:
    """Exit 2: a webhook without a secret accepts forged updates. Suggest a fresh secret, on a terminal
    only (a service's output ends up in its journal, and a secret must never be in a log)."""
    click.echo(f"amanat: {WEBHOOK_SECRET_MISSING}", err=True)
    if sys.stdout.isatty():
        click.echo(
            f"  a fresh random one: export AMANAT_TELEGRAM__WEBHOOK_SECRET={secrets.token_urlsafe(32)}"
        )
    else:
        click.echo(
            "  make one with: export AMANAT_TELEGRAM__WEBHOOK_SECRET=$(python3 -c "
            "'import secrets; print(secrets.token_urlsafe(32))')"
        )
    sys.exit(2)


@click.command("run")
@click.pass_context
def run_command(ctx: click.Context) -> None:
    """Run the bot (long polling, or a webhook when telegram.webhook_url is set)."""
    settings = settings_of(ctx)
    if not settings.telegram.token.get_secret_value():
        fail("no bot token: set TELEGRAM_BOT_TOKEN (or AMANAT_TELEGRAM__TOKEN)", code=2)
    if settings.telegram.webhook_url and not settings.telegram.webhook_secret.get_secret_value():
        _refuse_webhook_without_secret()
    with token_refused(), startup_errors():
        run_bot(settings)


@click.command("console")
@click.option(
    "--lang", type=click.Choice(["ru", "kk", "en"]), default=None, help="Your language (the bot's too)."
)
@click.option("-v", "--verbose", is_flag=True, help="Show the bot's logs under the chat.")
@click.pass_context
def console_command(ctx: click.Context, lang: str | None, verbose: bool) -> None:
    """Chat with the real bot in the terminal, offline, on the local database."""
    with token_refused():
        run_async(run_console(settings_of(ctx), lang, verbose=verbose))
