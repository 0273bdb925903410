"""/stats for administrators: saved searches, matches, the matching job's progress, notification delivery,
and lost imports (whose readings are hidden until finished or rolled back).

Only the ids in `roles.admins` (or people with the admin role) see it; anyone else is told it is for
administrators. Delivery errors recorded by the outbox are listed newest first, as they are in the logs.
"""

from __future__ import annotations

from typing import Any, Final

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, filters

from bot.i18n import LANGUAGES, Translator
from bot.services.import_batches import batch_overview
from bot.services.matching import matching_stats
from bot.services.outbox import outbox_stats
from bot.services.statistics import AdminStats, admin_stats
from handlers.case_views import board_button
from handlers.groups import HandlerGroup
from handlers.steps import entry
from handlers.turn import AmanatContext, State, html_lines
from models import Role

STATS_GROUP: Final = HandlerGroup.FEATURES
ERRORS_SHOWN: Final = 5
ERROR_CHARS: Final = 200


def people_lines(t: Translator, more: AdminStats) -> list[str]:
    """Users by language, active and blocked."""
    return [
        t(
            "stats.people",
            language=t.plain(f"appeal.language.{language}") if language in LANGUAGES else "?",
            active=active,
            blocked=blocked,
        )
        for language, (active, blocked) in more.people.items()
    ]


def case_and_appeal_lines(t: Translator, more: AdminStats) -> list[str]:
    """Cases by status with the median time to claim, and the latest appeals' delivery counts."""
    lines: list[str] = [
        t("stats.reviewed", reviewed=more.reviewed),
        t(
            "stats.cases",
            new=more.cases.get("new", 0),
            claimed=more.cases.get("claimed", 0),
            answered=more.cases.get("answered", 0),
            closed=more.cases.get("closed", 0),
            median=f"{more.median_claim_seconds / 3600:.1f}"
            if more.median_claim_seconds is not None
            else "—",
        ),
    ]
    for appeal in more.appeals:
        lines.append(
            t(
                "stats.appeal",
                id=appeal.id,
                status=t.plain(f"appeal.status.{appeal.status}"),
                sent=appeal.counts.get("sent", 0),
                blocked=appeal.counts.get("blocked", 0),
                failed=appeal.counts.get("failed", 0),
                left=appeal.left,
            )
        )
    return lines


def is_admin(context: AmanatContext) -> bool:
    turn = context.turn
    admins = context.services.settings.roles.admins
    return turn.user_id in admins or (turn.person is not None and turn.person.role == Role.ADMIN)


async def stats(update: Update, context: AmanatContext) -> State:
    """/stats: numbers an administrator needs to see that matching and delivery work."""
    turn = context.turn
    t = turn.t
    if not is_admin(context):
        turn.say(t("stats.admins_only"))
        return turn.state
    found = await matching_stats(context.db)
    lost = await batch_overview(context.db, lost_only=True)
    delivery = await outbox_stats(context.db, errors=ERRORS_SHOWN)
    more = await admin_stats(context.db)
    state = delivery.by_state
    lines: list[str | None] = [
        t("stats.title"),
        "",
        t("stats.searches", active=found.searches.get("active", 0), paused=found.searches.get("paused", 0)),
        t("stats.matches", total=found.matches, strong=found.strong, queued=found.notified),
        *people_lines(t, more),
        *case_and_appeal_lines(t, more),
        t(
            "stats.outbox",
            pending=state.get("pending", 0),
            due=delivery.due_now,
            sending=state.get("sending", 0),
            sent=state.get("sent", 0),
            failed=state.get("failed", 0),
            dropped=state.get("dropped", 0),
        ),
        t(
            "stats.matching",
            watermark=found.watermark,
            when=f"{found.last_pass_at:%Y-%m-%d %H:%M} UTC" if found.last_pass_at else t("stats.never"),
        ),
        *(
            t(
                "stats.lost_import",
                id=batch.id,
                source=batch.source,
                rows=batch.rows,
                when=f"{batch.started_at:%Y-%m-%d %H:%M} UTC",
            )
            for batch in lost
        ),
        "",
    ]
    if delivery.last_errors:
        lines.append(t("stats.errors"))
        for message_id, kind, error, attempts, _when in delivery.last_errors:
            short = error if len(error) <= ERROR_CHARS else error[: ERROR_CHARS - 1] + "…"
            lines.append(t("stats.error_line", id=message_id, kind=kind, attempts=attempts, error=short))
    else:
        lines.append(t("stats.no_errors"))
    board = board_button(t, context.services.settings.web.public_url, tab="stats")
    turn.say(html_lines(*lines), [[board]] if board is not None else ())
    return turn.state


_handle = entry(stats, needs_consent=False)


async def _stop_after(update: Update, context: AmanatContext) -> None:
    await _handle(update, context)
    raise ApplicationHandlerStop


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add /stats (private chats; a handled command stops there)."""
    application.add_handler(
        CommandHandler("stats", _stop_after, filters=filters.ChatType.PRIVATE), STATS_GROUP
    )
