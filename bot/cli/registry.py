"""`amanat db`, `import`, `demo-data`, `search` and `family`: the registry and what is searched in it."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from bot.cli.common import (
    WholeHelpGroup,
    fail,
    run_async,
    sample_registry_path,
    settings_of,
    text_of,
)
from bot.cli_text import CliText, cli_text
from bot.config import Settings
from bot.database import database_place, open_database
from bot.i18n import LANGUAGES
from bot.search import Query
from bot.services import import_batches
from bot.services.board_stats import refresh_region_counts
from bot.services.family import family_of
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
from models import BatchState, Database


@click.group(cls=WholeHelpGroup)
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply migrations (and rebuild search keys made by an older engine)."""

    async def go() -> str | None:
        database = await open_database(settings_of(ctx))
        try:
            return await database.current_revision()
        finally:
            await database.dispose()

    revision = run_async(go())
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


@click.command("import")
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
    t = text_of(ctx)
    if status or finish is not None or rollback is not None:
        if files or (finish is not None and rollback is not None):
            fail(t("cli.import.usage_alone"), code=2)
        try:
            run_async(_batch_command(settings_of(ctx), t, status, finish, rollback))
        except import_batches.BatchError as error:
            fail(coded_error(t, "cli.batches", error))
        return
    if not files:
        fail(t("cli.import.usage_files"), code=2)
    disable = None if progress is None else not progress
    try:
        reports = run_async(_import_files(settings_of(ctx), files, disable, batch_rows))
    except ImportFailure as error:
        fail(t("cli.import.failed", error=coded_error(t, "cli.failure", error)))
        return
    except ImportStopped as error:
        fail(t("cli.import.stopped", error=error))
        return
    for report in reports:
        _print_import_report(t, report)
    if report_path:
        _write_rejected(Path(report_path), reports, t)


@click.command("demo-data")
@click.pass_context
def demo_data(ctx: click.Context) -> None:
    """Load the bundled sample registry so you can try the bot at once."""
    reports = run_async(_import_files(settings_of(ctx), (str(sample_registry_path()),), True))
    for report in reports:
        _print_import_report(text_of(ctx), report)


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


async def open_registry_to_read(settings: Settings, t: CliText) -> Database:
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
    database = await open_registry_to_read(settings, t)
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
        fail(t("cli.search.input_missing", path=path))
    except OSError as error:
        fail(t("cli.search.input_unreadable", path=path, error=error.strerror or error))
    raise AssertionError("unreachable")  # _fail exits


@click.command("search")
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
    settings = settings_of(ctx)
    t = cli_text(lang) if lang else text_of(ctx)
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
            fail(error.named(t, FLAGS) if error.field else t("cli.search.surname_required"), code=2)
            return
    else:
        stream = _open_batch(t, batch)
    run_async(_search(settings, t, query, stream, limit, as_json))


async def _family(settings: Settings, t: CliText, reading_id: str, as_json: bool) -> int:
    database = await open_registry_to_read(settings, t)
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


@click.command("family")
@click.argument("reading_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def family_command(ctx: click.Context, reading_id: str, as_json: bool) -> None:
    """Saved searches that match a found soldier, strongest first, anonymized (for volunteers)."""
    code = run_async(_family(settings_of(ctx), text_of(ctx), reading_id, as_json))
    if code:
        sys.exit(code)
