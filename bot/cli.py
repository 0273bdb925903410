"""The `amanat` command line (also `python -m bot`): run, console, import, search, match, db, demo-data.

Every command that touches the database brings it up to date first (migrations, search keys); the
commands that only read (search, match) never create one: they say which database they opened, and that
it is missing or empty. Reports, search lines and errors are in the administrator's language (`--lang`,
else the locale; bot.cli_text). Exit codes: 0 done, 1 the work could not be done (a file that cannot be
read, a database that is missing or cannot be reached), 2 bad usage or configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click
from telegram.error import InvalidToken

from bot.app import run_bot
from bot.cli_text import CliText, cli_language, cli_text
from bot.config import S3_SECRET_ENV, WEBHOOK_SECRET_MISSING, ConfigError, Settings, load_config
from bot.console import run_console
from bot.database import DatabaseMissing, database_place, open_database
from bot.exhibition import BuildReport, ExhibitionError, build_exhibition
from bot.i18n import LANGUAGES
from bot.logs import redact, setup_logging
from bot.search import Query
from bot.services import import_batches
from bot.services.appeal_relatives import start_appeal
from bot.services.board_stats import refresh_region_counts
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
from bot.services.family import family_of
from bot.services.faults import fault_point
from bot.services.heartbeat import queue_heartbeats
from bot.services.matching import MatchingReport, run_matching_pass
from bot.services.query_text import (
    YEAR_MAX,
    YEAR_MIN,
    InputError,
    YearError,
    check_name,
    check_place,
    parse_birth_year,
)
from bot.services.registry_import import (
    BATCH_SIZE,
    ImportFailure,
    ImportReport,
    ImportStopped,
    RegistryFile,
    Rejected,
    import_file,
)
from bot.services.registry_index import open_registry_index
from bot.services.registry_search import RegistrySearch, StoredRegistry, count_readings
from bot.services.startup import StartupRefused
from bot.services.story_export import StoryExportError, StoryExportReport, export_stories
from bot.services.story_store import open_story_store
from handlers.notifications import deliver_all_via_bot_api
from models import BatchState, Database, DeliveryState
from models.db import connection_problem, join_sqlite_workers

T = TypeVar("T")
log = logging.getLogger("amanat")


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"amanat: {message}", err=True)
    sys.exit(code)


TOKEN_REFUSED = "Telegram refused the token (check TELEGRAM_BOT_TOKEN / telegram.base_url)"


def startup_problem(error: BaseException, settings: Settings) -> str | None:
    """One line for a failure of a command's start (database, Bot API token), or None for anything else."""
    if isinstance(error, InvalidToken):
        return TOKEN_REFUSED
    problem = connection_problem(error, settings.database.url)
    if problem is not None:
        return f"{problem} (setting database.url, env AMANAT_DATABASE__URL)"
    if isinstance(error, StartupRefused):
        return str(error)
    return None


@contextlib.contextmanager
def _startup_errors() -> Iterator[None]:
    """A known start-up failure becomes one line on stderr and exit code 2 (anything else propagates)."""
    try:
        yield
    except Exception as error:
        ctx = click.get_current_context()
        if isinstance(error, DatabaseMissing):  # a command that reads, and nothing to read
            _fail(_text(ctx)("cli.db.missing", where=error.place))
        if isinstance(error, BrokenPipeError):  # whoever read the output went away (`| head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        problem = startup_problem(error, _settings(ctx))
        if problem is None:
            if isinstance(error, OSError):  # e.g. the database server went away during the command
                _fail(_text(ctx)("cli.error.database", error=redact(str(error))))
            raise
        _fail(problem, code=2)


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


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a known start-up failure is one line on stderr and exit code 2."""
    with _startup_errors():
        return asyncio.run(_settled(coroutine))
    raise AssertionError("unreachable")  # _startup_errors exits or re-raises


def _secret_env() -> list[str]:
    """Secrets given in the environment, whichever of them the configuration ends up using."""
    names = (
        "TELEGRAM_BOT_TOKEN",
        "AMANAT_TELEGRAM__TOKEN",
        "AMANAT_TELEGRAM__WEBHOOK_SECRET",
        S3_SECRET_ENV,
        "AWS_SECRET_ACCESS_KEY",  # the S3 client's own credentials, when stories.s3 names no keys
    )
    return [os.environ[name] for name in names if os.environ.get(name)]


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.find_root().obj["settings"]
    return settings


def _text(ctx: click.Context) -> CliText:
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


@click.group(cls=WholeHelpGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: ./config.toml, or AMANAT_CONFIG).",
)
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="Language of reports, search lines and errors (default: the locale's, else English).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None, lang: str | None) -> None:
    """Amanat: helps families find soldiers missing since 1941-1945, and search volunteers find families."""
    language = cli_language(lang)
    ctx.obj = {"lang": language}
    try:
        settings = load_config(config_path)
    except ConfigError as error:
        _fail(str(error), code=2)
        return
    # Before anything logs: the token and webhook secret redacted, no personal data at any level.
    setup_logging(settings, secrets=_secret_env())
    ctx.obj["settings"] = settings


@main.group(cls=WholeHelpGroup)
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations (and rebuild search keys made by an older engine)."""

    async def go() -> str | None:
        database = await open_database(_settings(ctx))
        try:
            return await database.current_revision()
        finally:
            await database.dispose()

    revision = _run(go())
    click.echo(f"database is at revision {revision}")


def coded_error(t: CliText, prefix: str, error: ImportFailure | import_batches.BatchError) -> str:
    """A service's error in the administrator's language (its English message for an unknown code)."""
    key = f"{prefix}.{error.code}"
    return t(key, **error.args_) if error.code and t.has(key) else str(error)


def rejection_text(t: CliText, rejected: Rejected) -> str:
    """Why a row was rejected, in the administrator's language (the English reason for an unknown code)."""
    key = f"cli.reject.{rejected.code}"
    return t(key, **dict(rejected.args)) if rejected.code and t.has(key) else rejected.reason


def import_report_lines(t: CliText, report: ImportReport, shown: int = 50) -> tuple[str, list[str]]:
    """An import's summary line, and the lines of its rejected rows (at most `shown`, then how many more)."""
    encoding = report.encoding + (f": {report.encoding_evidence}" if report.encoding_evidence else "")
    summary = t(
        "cli.import.report",
        source=report.source,
        rows=t.plural("cli.import.rows", report.rows_read),
        encoding=encoding,
        new=t.plural("cli.import.new", report.inserted),
        updated=t.plural("cli.import.updated", report.updated),
        unchanged=t.plural("cli.import.unchanged", report.unchanged),
        rejected=t.plural("cli.import.rejected", len(report.rejected)),
    )
    lines = [
        t("cli.import.rejected_line", line=rejected.line, reason=rejection_text(t, rejected))
        for rejected in report.rejected[:shown]
    ]
    if len(report.rejected) > shown:
        lines.append(t.plural("cli.import.more_rejected", len(report.rejected) - shown))
    return summary, lines


def _print_import_report(t: CliText, report: ImportReport) -> None:
    summary, rejected = import_report_lines(t, report)
    click.echo(summary)
    for line in rejected:
        click.echo(line, err=True)


def _write_rejected(path: Path, reports: list[ImportReport], t: CliText) -> None:
    """Every rejected row as CSV (file, line, reason): quoted as the csv module quotes, whatever the text."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "line", "reason"])
        for report in reports:
            writer.writerows(
                [report.source, rejected.line, rejection_text(t, rejected)] for rejected in report.rejected
            )


async def _import_files(
    settings: Settings, files: tuple[str, ...], show_progress: bool | None, batch_rows: int = BATCH_SIZE
) -> list[ImportReport]:
    from tqdm import tqdm

    sources = [RegistryFile(name) for name in files]  # every file must be readable before anything is written
    database = await open_database(settings)
    reports = []
    try:
        for source in sources:
            size = source.size
            with tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                desc=source.path.name,
                disable=show_progress,
                leave=False,
            ) as bar:

                def progress(done: int, _total: int, bar: Any = bar) -> None:
                    bar.update(done - bar.n)

                reports.append(await import_file(database, source, progress=progress, batch_size=batch_rows))
        await refresh_region_counts(database)  # the board's chart by region: counted once, here
    finally:
        await database.dispose()
    return reports


async def _batch_command(
    settings: Settings, t: CliText, status: bool, finish: int | None, rollback: int | None
) -> None:
    """--status, --finish BATCH or --rollback BATCH of `amanat import`."""
    database = await open_database(settings)
    try:
        if finish is not None:
            moved = await import_batches.finish_lost_batch(database, finish)
            click.echo(t.plural("cli.batches.finished", moved, batch=finish))
        elif rollback is not None:
            deleted, kept = await import_batches.roll_back_lost_batch(database, rollback)
            click.echo(
                t.plural("cli.batches.rolled_back", deleted, batch=rollback)
                + (t.plural("cli.batches.kept", kept) if kept else "")
            )
        if status:
            batches = await import_batches.batch_overview(database)
            if not batches:
                click.echo(t("cli.batches.none"))
            else:
                batch_, state, rows, started, source = t("cli.batches.header").split("|")
                click.echo(f"{batch_:>7}  {state:<11}  {rows:>9}  {started:<16}  {source}")
            for batch in batches:
                click.echo(
                    f"{batch.id:>7}  {batch.state:<11}  {batch.rows:>9}  "
                    f"{batch.started_at:%Y-%m-%d %H:%M}  {batch.source}"
                )
            lost = [batch.id for batch in batches if batch.state == BatchState.LOST]
            if lost:
                click.echo(t("cli.batches.lost_hint", batch=lost[0]))
    finally:
        await database.dispose()


@main.command("import")
@click.argument("files", nargs=-1)
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), help="Write every rejected row here (CSV)."
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--status", is_flag=True, help="List the import batches: state, rows, when started.")
@click.option(
    "--finish", "finish", type=int, metavar="BATCH", help="Make a lost batch's readings visible as written."
)
@click.option(
    "--rollback", "rollback", type=int, metavar="BATCH", help="Delete the readings a lost batch inserted."
)
@click.option(
    "--batch-rows",
    type=click.IntRange(100, 100_000),
    default=BATCH_SIZE,
    show_default=True,
    help="Rows per batch, each written in one transaction: a killed import leaves less to finish or roll back.",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    files: tuple[str, ...],
    report_path: str | None,
    progress: bool | None,
    status: bool,
    finish: int | None,
    rollback: int | None,
    batch_rows: int,
) -> None:
    """Import registry readings from CSV or JSON lines (idempotent by reading_id), or see and mend the
    import batches (--status, --finish, --rollback)."""
    t = _text(ctx)
    if status or finish is not None or rollback is not None:
        if files or (finish is not None and rollback is not None):
            _fail(t("cli.import.usage_alone"), code=2)
        try:
            _run(_batch_command(_settings(ctx), t, status, finish, rollback))
        except import_batches.BatchError as error:
            _fail(coded_error(t, "cli.batches", error))
        return
    if not files:
        _fail(t("cli.import.usage_files"), code=2)
    disable = None if progress is None else not progress
    try:
        reports = _run(_import_files(_settings(ctx), files, disable, batch_rows))
    except ImportFailure as error:
        _fail(t("cli.import.failed", error=coded_error(t, "cli.failure", error)))
        return
    except ImportStopped as error:
        _fail(t("cli.import.stopped", error=error))
        return
    for report in reports:
        _print_import_report(t, report)
    if report_path:
        _write_rejected(Path(report_path), reports, t)


def sample_registry_path() -> Path:
    """The bundled sample registry."""
    return Path(str(resources.files("bot") / "data" / "sample_registry.csv"))


@main.command("demo-data")
@click.pass_context
def demo_data(ctx: click.Context) -> None:
    """Load the bundled sample registry so you can try the bot at once."""
    reports = _run(_import_files(_settings(ctx), (str(sample_registry_path()),), True))
    for report in reports:
        _print_import_report(_text(ctx), report)


# Batch fields and the flags that give them on the command line (errors name what the person typed).
FLAGS: dict[str, str] = {
    "surname": "--surname",
    "name": "--name",
    "patronymic": "--patronymic",
    "birth_year": "--born",
    "birthplace": "--place",
    "draft_office": "--draft-office",
    "relative": "--relative",
    "family_place": "--family-place",
}
NAME_FIELDS = ("surname", "name", "patronymic")
PLACE_FIELDS = ("birthplace", "draft_office", "relative", "family_place")


class QueryError(ValueError):
    """A query the bot would not search either: ``field`` (None: the whole query) and the reason in words."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def named(self, t: CliText, names: dict[str, str] | None = None) -> str:
        """The reason, after the field's name (or its flag's, given ``names``)."""
        if self.field is None:
            return self.message
        name = names.get(self.field, self.field) if names else self.field
        return t("cli.search.flag", flag=name, reason=self.message)


def query_from_json(item: dict[str, Any], t: CliText) -> Query:
    """A search query from one batch line (or from the flags), checked as the bot checks what a relative
    types: names without markup, emoji or digits, a birth year of the war's soldiers. Raises QueryError."""
    values: dict[str, str | None] = {}
    for key in (*NAME_FIELDS, *PLACE_FIELDS):
        raw = item.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            values[key] = None
            continue
        try:
            values[key] = check_name(str(raw)) if key in NAME_FIELDS else check_place(str(raw))
        except InputError as error:
            raise QueryError(key, t.bot(f"error.{error.code}", limit=error.limit or 0)) from None
    surname = values["surname"]
    if surname is None:
        raise QueryError(None, t("cli.batch.surname_required"))
    birth_year = birth_year_to = None
    raw_year = item.get("birth_year")
    if raw_year not in (None, ""):
        try:
            years = parse_birth_year(str(raw_year))
        except YearError as error:
            raise QueryError(
                "birth_year", t.bot(f"error.year_{error.code}", low=YEAR_MIN, high=YEAR_MAX)
            ) from None
        birth_year = years.start
        birth_year_to = years.end if years.end != years.start else None
    return Query(
        surname=surname,
        name=values["name"],
        patronymic=values["patronymic"],
        birth_year=birth_year,
        birth_year_to=birth_year_to,
        birthplace=values["birthplace"],
        draft_office=values["draft_office"],
        relative=values["relative"],
        family_place=values["family_place"],
    )


ReasonText = Callable[[Any], str]


def result_json(found: Any, why: ReasonText) -> dict[str, Any]:
    """One result as the batch contract gives it; `why` puts a reason into words."""
    reading = found.reading
    return {
        "reading_id": reading.reading_id,
        "score": round(float(found.match.score), 1),
        "strong": bool(found.match.strong),
        "why": [why(reason) for reason in found.match.reasons],
        "reasons": [{"code": reason.code, **reason.args} for reason in found.match.reasons],
        "surname": reading.surname,
        "name": reading.name,
        "patronymic": reading.patronymic,
        "birth_year": reading.birth_year,
        "birthplace": reading.birthplace,
        "found_place": reading.found_place,
        "found_date": reading.found_date,
    }


def _batch_line(t: CliText, number: int, line: str) -> tuple[Any, Query | None, str | None]:
    """A batch line's id (the caller's, else the line number), its query, or the error in words."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as error:
        return number, None, t("cli.batch.line", line=number, error=t("cli.batch.not_json", error=error.msg))
    if not isinstance(item, dict):
        return number, None, t("cli.batch.line", line=number, error=t("cli.batch.not_object"))
    query_id = item["id"] if item.get("id") is not None else number
    try:
        return query_id, query_from_json(item, t), None
    except QueryError as error:
        return query_id, None, t("cli.batch.line", line=number, error=error.named(t))


def _batch_lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    try:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line
    finally:
        if stream is not sys.stdin:
            stream.close()


async def _open_registry_to_read(settings: Settings, t: CliText) -> Database:
    """The configured database for a command that reads: never created; which one it is, and whether the
    registry in it is empty, is said on stderr."""
    database = await open_database(settings, create=False)
    where = database_place(settings.database.url)
    readings = await count_readings(database)
    click.echo(t.plural("cli.db.opened", readings, where=where), err=True)
    if not readings:
        click.echo(t("cli.db.empty", where=where), err=True)
    return database


async def _search(
    settings: Settings,
    t: CliText,
    query: Query | None,
    batch: TextIO | None,
    limit: int,
    as_json: bool,
) -> None:
    database = await _open_registry_to_read(settings, t)
    registry: RegistrySearch | None = None
    try:
        if batch is None:
            assert query is not None
            registry = StoredRegistry(database)  # one search: the keys table, nothing loaded
            found = await registry.search(query, limit=limit)
            if as_json:
                click.echo(
                    json.dumps({"results": [result_json(f, t.reason) for f in found]}, ensure_ascii=False)
                )
                return
            if not found:
                click.echo(t("cli.search.nothing"))
            for rank, item in enumerate(found, start=1):
                reading = item.reading
                who = " ".join(part for part in (reading.surname, reading.name, reading.patronymic) if part)
                verdict = t("cli.search.strong") if item.match.strong else t("cli.search.weak")
                click.echo(
                    t(
                        "cli.search.result",
                        rank=rank,
                        who=who,
                        born=reading.birth_year or "?",
                        id=reading.reading_id,
                    )
                )
                where = " ".join(part for part in (reading.found_place, reading.found_date) if part)
                click.echo(
                    t("cli.search.score", score=f"{item.match.score:.1f}", verdict=verdict, where=where)
                )
                for reason in item.match.reasons:
                    click.echo(f"   - {t.reason(reason)}")
            return
        # Many queries: the registry in memory once (as the bot holds it) beats the keys table per query.
        registry = await open_registry_index(database)
        for number, line in _batch_lines(batch):
            query_id, one, error = _batch_line(t, number, line)
            if one is None:
                click.echo(json.dumps({"id": query_id, "error": error, "results": []}, ensure_ascii=False))
                continue
            found = await registry.search(one, limit=limit)
            click.echo(
                json.dumps(
                    {"id": query_id, "results": [result_json(f, t.reason) for f in found]}, ensure_ascii=False
                )
            )
    finally:
        if registry is not None:
            await registry.close()
        await database.dispose()


def _open_batch(t: CliText, path: str) -> TextIO:
    """The batch input, opened before the database is: a missing file is named as what it is."""
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")
    except FileNotFoundError:
        _fail(t("cli.search.input_missing", path=path))
    except OSError as error:
        _fail(t("cli.search.input_unreadable", path=path, error=error.strerror or error))
    raise AssertionError("unreachable")  # _fail exits


@main.command("search")
@click.option("--surname", help="The soldier's surname, in any spelling (required unless --batch).")
@click.option("--name", help="His first name.")
@click.option("--patronymic", help="His patronymic.")
@click.option("--born", help="Birth year, a range 1903-1905, or 'около 1904'.")
@click.option("--place", help="Birthplace (old or today's names).")
@click.option("--draft-office", help="The draft office (военкомат) that called him up.")
@click.option("--relative", help="Who waited at home.")
@click.option("--family-place", help="Where the family lived.")
@click.option(
    "--batch", metavar="FILE", help="JSON lines file of queries ('-' for stdin); one JSON line out per line."
)
@click.option(
    "--limit",
    default=5,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Results per query, best first.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the batch output's shape).")
@click.option(
    "--lang",
    type=click.Choice(LANGUAGES),
    default=None,
    help="Language of the lines, reasons and errors (default: amanat --lang, else the locale's).",
)
@click.pass_context
def search_command(
    ctx: click.Context,
    surname: str | None,
    name: str | None,
    patronymic: str | None,
    born: str | None,
    place: str | None,
    draft_office: str | None,
    relative: str | None,
    family_place: str | None,
    batch: str | None,
    limit: int,
    as_json: bool,
    lang: str | None,
) -> None:
    """Search the registry once (flags) or for every line of a JSON lines file (--batch)."""
    settings = _settings(ctx)
    t = cli_text(lang) if lang else _text(ctx)
    query = None
    stream = None
    if batch is None:
        flags = {
            "surname": surname,
            "name": name,
            "patronymic": patronymic,
            "birth_year": born,
            "birthplace": place,
            "draft_office": draft_office,
            "relative": relative,
            "family_place": family_place,
        }
        try:
            query = query_from_json(flags, t)
        except QueryError as error:
            _fail(error.named(t, FLAGS) if error.field else t("cli.search.surname_required"), code=2)
            return
    else:
        stream = _open_batch(t, batch)
    _run(_search(settings, t, query, stream, limit, as_json))


async def _family(settings: Settings, t: CliText, reading_id: str, as_json: bool) -> int:
    database = await _open_registry_to_read(settings, t)
    try:
        reading, found = await family_of(database, StoredRegistry(database), reading_id, limit=50)
    finally:
        await database.dispose()
    if reading is None:
        if as_json:
            click.echo(json.dumps({"reading_id": reading_id, "error": "no such reading", "families": []}))
        else:
            click.echo(t("cli.family.no_reading", id=reading_id), err=True)
        return 1
    if as_json:
        payload = {"reading_id": reading.reading_id, "families": [item.to_json() for item in found]}
        click.echo(json.dumps(payload, ensure_ascii=False))
        return 0
    who = " ".join(part for part in (reading.surname, reading.name, reading.patronymic) if part)
    click.echo(
        t(
            "cli.family.reading",
            id=reading.reading_id,
            who=who,
            born=reading.birth_year or "?",
            place=reading.birthplace or "?",
        )
    )
    if not found:
        click.echo(t("cli.family.none"))
    for position, item in enumerate(found, start=1):
        soldier = " ".join(
            str(item.soldier[key]) for key in ("surname", "name", "patronymic") if item.soldier.get(key)
        )
        click.echo(
            t(
                "cli.family.line",
                n=position,
                score=f"{item.score:.1f}",
                strong=t("cli.family.strong") if item.strong else "",
                soldier=soldier,
                born=item.soldier.get("birth_year") or "?",
                region=item.region or "?",
                since=item.since.date().isoformat(),
            )
        )
    return 0


@main.command("family")
@click.argument("reading_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def family_command(ctx: click.Context, reading_id: str, as_json: bool) -> None:
    """Saved searches that match a found soldier, strongest first, anonymized (for volunteers)."""
    code = _run(_family(_settings(ctx), _text(ctx), reading_id, as_json))
    if code:
        sys.exit(code)


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
    db = await _open_registry_to_read(settings, t)
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


@main.command("match")
@click.pass_context
def match_command(ctx: click.Context) -> None:
    """One pass of the scheduled matching job, now, then delivery of what it queued."""
    click.echo(_run(run_matching_pass_cli(_settings(ctx), _text(ctx))))


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


@main.command("run")
@click.pass_context
def run_command(ctx: click.Context) -> None:
    """Run the bot (long polling, or a webhook when telegram.webhook_url is set)."""
    settings = _settings(ctx)
    if not settings.telegram.token.get_secret_value():
        _fail("no bot token: set TELEGRAM_BOT_TOKEN (or AMANAT_TELEGRAM__TOKEN)", code=2)
    if settings.telegram.webhook_url and not settings.telegram.webhook_secret.get_secret_value():
        _refuse_webhook_without_secret()
    with _startup_errors():
        run_bot(settings)


async def _export(settings: Settings, kind: str, out: Path, fmt: str | None) -> ExportReport:
    chosen = format_for(out, fmt)
    db = await open_existing_database(settings.database.url)
    try:
        click.echo(f"amanat: exporting {kind} from {describe_url(settings.database.url)}", err=True)
        return await export_to_file(db, kind, out, chosen)
    finally:
        await db.dispose()


@main.command("export")
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
        report = _run(_export(_settings(ctx), kind, out, fmt))
    except ExportError as error:
        _fail(str(error))
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
    t = _text(ctx)
    try:
        report = _run(_stories_export(_settings(ctx), out))
    except StoryExportError as error:
        _fail(t(f"cli.export_stories.error.{error.code}", **error.args_))
        return
    except ExportError as error:
        _fail(str(error))
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


@main.group()
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
    t = _text(ctx)
    try:
        report = _run(_build_exhibition(_settings(ctx), out))
    except ExhibitionError as error:
        _fail(t(f"cli.exhibition.error.{error.code}", **error.args_))
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


@main.group()
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
        return _run(_with_db(settings, work))
    except AppealError as error:
        _fail(str(error), code=2 if error.code in ("audience", "text_empty", "text_long", "soldier") else 1)
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
    settings = _settings(ctx)
    if (reading_id is None) == (surname is None):
        _fail(
            "give the soldier either by --reading-id or by --surname (with --name, --born, --place)", code=2
        )
    by = author if author is not None else (settings.roles.admins[0] if settings.roles.admins else None)
    if by is None:
        _fail("who is the author? set roles.admins (env AMANAT_ROLES__ADMINS) or pass --by ID", code=2)
        return
    if author is not None and author not in settings.roles.admins:
        _fail(f"{author} is not an administrator (roles.admins)", code=2)
    try:
        chosen = Audience.parse(audience)
    except AppealError as error:
        _fail(str(error), code=2)
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
    count, told = _appeal_call(_settings(ctx), lambda database: start_appeal(database, appeal_id))
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
    settings = _settings(ctx)
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
        status = _appeal_call(_settings(ctx), lambda database: change_appeal(database, appeal_id, action))
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


@main.command("console")
@click.option(
    "--lang", type=click.Choice(["ru", "kk", "en"]), default=None, help="Your language (the bot's too)."
)
@click.option("-v", "--verbose", is_flag=True, help="Show the bot's logs under the chat.")
@click.pass_context
def console_command(ctx: click.Context, lang: str | None, verbose: bool) -> None:
    """Chat with the real bot in the terminal, offline, on the local database."""
    _run(run_console(_settings(ctx), lang, verbose=verbose))


if __name__ == "__main__":  # pragma: no cover
    main()
