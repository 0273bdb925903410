"""`amanat export`, `exhibition` and `appeal`: what leaves the database for others to read."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from bot.cli.common import (
    fail,
    run_async,
    settings_of,
    text_of,
)
from bot.config import Settings
from bot.database import open_database
from bot.exhibition import BuildReport, ExhibitionError, build_exhibition
from bot.services.appeal_relatives import start_appeal
from bot.services.broadcast import (
    MAX_TEXT,
    Action,
    AppealError,
    Audience,
    Soldier,
    appeal_progress,
    change_appeal,
    create_appeal,
    soldier_of_reading,
)
from bot.services.export import (
    ExportError,
    ExportReport,
    describe_url,
    export_to_file,
    format_for,
    open_existing_database,
)
from bot.services.story_export import StoryExportError, StoryExportReport, export_stories
from bot.services.story_store import open_story_store
from models import DeliveryState

T = TypeVar("T")


async def _export(settings: Settings, kind: str, out: Path, fmt: str | None) -> ExportReport:
    chosen = format_for(out, fmt)
    db = await open_existing_database(settings.database.url)
    try:
        click.echo(f"amanat: exporting {kind} from {describe_url(settings.database.url)}", err=True)
        return await export_to_file(db, kind, out, chosen)
    finally:
        await db.dispose()


@click.command("export")
@click.argument("kind", type=click.Choice(["registry", "appeals", "cases", "stories"]))
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Default: by OUT's extension, else csv.",
)
@click.pass_context
def export_command(ctx: click.Context, kind: str, out: Path, fmt: str | None) -> None:
    """Export the registry, the appeals or anonymized case statistics (CSV or JSON lines, with a checksum);
    "stories" writes the memory book's changes since the last export into the folder OUT
    (docs/story-export.md)."""
    if kind == "stories":
        _export_stories(ctx, out)
        return
    try:
        report = run_async(_export(settings_of(ctx), kind, out, fmt))
    except ExportError as error:
        fail(str(error))
        return
    click.echo(
        f"{report.path}: {report.rows} rows ({report.format}, {report.bytes} bytes), sha256 {report.sha256}; "
        f"manifest {report.manifest.name}, checksum {report.checksum.name}"
    )


async def _stories_export(settings: Settings, out: Path) -> StoryExportReport:
    store = open_story_store(settings.stories)
    await store.check()  # a bucket missing or refusing the keys: one line, before anything is written
    db = await open_existing_database(settings.database.url)
    try:
        return await export_stories(db, store, out)
    finally:
        await db.dispose()


def _export_stories(ctx: click.Context, out: Path) -> None:
    """`amanat export stories OUT/`: one new batch of what changed, with its checksums."""
    t = text_of(ctx)
    try:
        report = run_async(_stories_export(settings_of(ctx), out))
    except StoryExportError as error:
        fail(t(f"cli.export_stories.error.{error.code}", **error.args_))
        return
    except ExportError as error:
        fail(str(error))
        return
    if report.batch is None:
        click.echo(t("cli.export_stories.nothing", out=out))
        return
    click.echo(
        t(
            "cli.export_stories.done",
            batch=report.batch,
            published=report.published,
            removed=report.removed,
            files=report.files,
        )
    )


# ------------------------------------------------------------------------------------------ exhibition


@click.group()
def exhibition() -> None:
    """The memory book's exhibition: a static site of approved, consented stories."""


async def _build_exhibition(settings: Settings, out: Path) -> BuildReport:
    store = open_story_store(settings.stories)
    await store.check()  # a bucket missing or refusing the keys: one line, before anything is written
    db = await open_database(settings)
    try:
        return await build_exhibition(
            db,
            store,
            out,
            default_language=settings.i18n.default_language,
        )
    finally:
        await db.dispose()


@exhibition.command("build")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def exhibition_build(ctx: click.Context, out: Path) -> None:
    """Write the site into OUT (replacing an earlier build whole): one page per soldier, indexes by
    region and year of birth, search in the browser, ru/kk/en."""
    t = text_of(ctx)
    try:
        report = run_async(_build_exhibition(settings_of(ctx), out))
    except ExhibitionError as error:
        fail(t(f"cli.exhibition.error.{error.code}", **error.args_))
        return
    click.echo(
        t(
            "cli.exhibition.built",
            out=report.out,
            soldiers=report.soldiers,
            stories=report.stories,
            files=report.files,
        )
    )


# ------------------------------------------------------------------------------------------ appeals


@click.group()
def appeal() -> None:
    """Appeals seeking a soldier's relatives: create, send (the running bot sends), status, pause, resume, cancel."""


async def _with_db(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    database = await open_database(settings)
    try:
        return await work(database)
    finally:
        await database.dispose()


def _appeal_call(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """Run an appeal command's work on the database; an AppealError is one line and exit code 1."""
    try:
        return run_async(_with_db(settings, work))
    except AppealError as error:
        fail(str(error), code=2 if error.code in ("audience", "text_empty", "text_long", "soldier") else 1)
        raise AssertionError("unreachable") from error


@appeal.command("create")
@click.option("--reading-id", help="The soldier from a registry record.")
@click.option("--surname", help="The soldier typed in: surname (with --name, --born, --place).")
@click.option("--name")
@click.option("--born", help="Birth year as it should read, e.g. 1904.")
@click.option("--place", help="Birthplace.")
@click.option("--text", required=True, help=f"The appeal's text (at most {MAX_TEXT} characters).")
@click.option("--audience", default="all", show_default=True, help="all, region:NAME or lang:ru|kk|en.")
@click.option(
    "--by",
    "author",
    type=int,
    default=None,
    help="The administrator's Telegram id (default: the first of roles.admins).",
)
@click.pass_context
def appeal_create(
    ctx: click.Context,
    reading_id: str | None,
    surname: str | None,
    name: str | None,
    born: str | None,
    place: str | None,
    text: str,
    audience: str,
    author: int | None,
) -> None:
    """Create a draft appeal and print its id."""
    settings = settings_of(ctx)
    if (reading_id is None) == (surname is None):
        fail("give the soldier either by --reading-id or by --surname (with --name, --born, --place)", code=2)
    by = author if author is not None else (settings.roles.admins[0] if settings.roles.admins else None)
    if by is None:
        fail("who is the author? set roles.admins (env AMANAT_ROLES__ADMINS) or pass --by ID", code=2)
        return
    if author is not None and author not in settings.roles.admins:
        fail(f"{author} is not an administrator (roles.admins)", code=2)
    try:
        chosen = Audience.parse(audience)
    except AppealError as error:
        fail(str(error), code=2)
        return

    async def create(database: Any) -> int:
        reading_pk = None
        if reading_id is not None:
            found = await soldier_of_reading(database, reading_id)
            if found is None:
                raise AppealError("not_found", f"no registry record {reading_id!r}")
            reading_pk, soldier = found
        else:
            soldier = Soldier(surname=surname or "", name=name or "", born=born or "", place=place or "")
        return await create_appeal(
            database, created_by=by, soldier=soldier, text=text, audience=chosen, reading_pk=reading_pk
        )

    click.echo(_appeal_call(settings, create))


@appeal.command("send")
@click.argument("appeal_id", type=int)
@click.pass_context
def appeal_send(ctx: click.Context, appeal_id: int) -> None:
    """Mark a draft to be sent; the running bot (`amanat run`) sends it, so nothing is sent twice."""
    count, told = _appeal_call(settings_of(ctx), lambda database: start_appeal(database, appeal_id))
    click.echo(
        f"appeal {appeal_id}: {told} relatives whose saved search fits are told first, then {count} recipients; "
        f"the running bot sends it (amanat appeal status {appeal_id})"
    )


@appeal.command("status")
@click.argument("appeal_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def appeal_status(ctx: click.Context, appeal_id: int, as_json: bool) -> None:
    """Counts by delivery state, the rate so far and the time left."""
    settings = settings_of(ctx)
    pace = settings.broadcast.rate_per_second
    progress = _appeal_call(settings, lambda database: appeal_progress(database, appeal_id, pace=pace))
    if as_json:
        click.echo(json.dumps(progress.to_json(), ensure_ascii=False))
        return
    counts = ", ".join(f"{state} {progress.counts.get(state, 0)}" for state in DeliveryState)
    click.echo(
        f"appeal {appeal_id}: {progress.status}; {counts} (of {progress.total}); "
        f"{progress.rate:.1f}/s so far; about {progress.seconds_left:.0f} s left"
    )


def _appeal_action(action: Action) -> Any:
    @appeal.command(action)
    @click.argument("appeal_id", type=int)
    @click.pass_context
    def command(ctx: click.Context, appeal_id: int) -> None:
        status = _appeal_call(settings_of(ctx), lambda database: change_appeal(database, appeal_id, action))
        click.echo(f"appeal {appeal_id}: {status}")

    command.__doc__ = {
        "pause": "Pause a broadcast (the running bot stops sending within a second).",
        "resume": "Resume a paused broadcast.",
        "cancel": "Cancel an appeal; what has not been sent is not sent.",
    }[action]
    return command


appeal_pause = _appeal_action("pause")
appeal_resume = _appeal_action("resume")
appeal_cancel = _appeal_action("cancel")
