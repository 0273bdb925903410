"""`amanat match`: one pass of the matching job now, then delivery of what it queued through the Bot API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from telegram.error import InvalidToken

from bot.cli.common import (
    fail,
    run_async,
    settings_of,
    text_of,
)
from bot.cli.registry import open_registry_to_read
from bot.cli_text import CliText
from bot.config import Settings
from bot.services.faults import fault_point
from bot.services.heartbeat import queue_heartbeats
from bot.services.matching import MatchingReport, run_matching_pass
from handlers.notifications import deliver_all_via_bot_api

TOKEN_REFUSED = "Telegram refused the token (check TELEGRAM_BOT_TOKEN / telegram.base_url)"


@contextlib.contextmanager
def token_refused() -> Iterator[None]:
    """A Bot API token that Telegram refuses is one line on stderr and exit code 2."""
    try:
        yield
    except InvalidToken:
        fail(TOKEN_REFUSED, code=2)


def match_summary(t: CliText, report: MatchingReport) -> str:
    """What a matching pass did, in words."""
    if not report.ran:
        return t("cli.match.skipped")
    return t(
        "cli.match.summary",
        readings=t.plural("cli.match.readings", report.readings),
        searches=t.plural("cli.match.searches", report.searches),
        matches=t.plural("cli.match.matches", report.matches),
        notifications=t.plural("cli.match.notifications", report.notifications),
        seconds=f"{report.seconds:.1f}",
    )


async def run_matching_pass_cli(settings: Settings, t: CliText) -> str:
    """`amanat match`: one pass now, the heartbeat if due, then deliver what is pending via the Bot API."""
    db = await open_registry_to_read(settings, t)
    try:
        report = await run_matching_pass(db, settings)
        heartbeats = await queue_heartbeats(db, settings)
        # Test hook: `AMANAT_FAULT=after-matching` exits hard after the pass committed, before sending.
        fault_point("after-matching")
        line = match_summary(t, report)
        if heartbeats:
            line += "; " + t.plural("cli.match.heartbeats", heartbeats)
        if not settings.telegram.token.get_secret_value():
            return line + "; " + t("cli.match.no_token")
        delivery = await deliver_all_via_bot_api(db, settings)
        return (
            line
            + "; "
            + t(
                "cli.match.delivery",
                sent=delivery.sent,
                retried=delivery.retried,
                failed=delivery.failed,
                dropped=delivery.dropped,
            )
            + (t("cli.match.waited", seconds=f"{delivery.waited:g}") if delivery.waited else "")
        )
    finally:
        await db.dispose()


@click.command("match")
@click.pass_context
def match_command(ctx: click.Context) -> None:
    """One pass of the scheduled matching job, now, then delivery of what it queued."""
    with token_refused():
        click.echo(run_async(run_matching_pass_cli(settings_of(ctx), text_of(ctx))))
