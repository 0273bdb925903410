"""The `amanat` command line (also `python -m bot`): run, console, import, search, match, db, demo-data.

Every command that touches the database brings it up to date first (migrations, search keys). Exit codes:
0 done, 1 the work could not be done (a file that cannot be read, a database that cannot be reached),
2 bad usage or configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import html
import json
import logging
import os
import secrets
import sys
from collections.abc import Callable, Coroutine, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import click
from telegram.error import InvalidToken

from bot.app import run_bot
from bot.config import WEBHOOK_SECRET_MISSING, ConfigError, Settings, load_config
from bot.console import run_console
from bot.database import open_database
from bot.i18n import translator
from bot.logs import redact, setup_logging
from bot.search import Query, parse_year
from bot.services import import_batches
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
from bot.services.faults import fault_point
from bot.services.heartbeat import queue_heartbeats
from bot.services.matching import run_matching_pass
from bot.services.registry_import import ImportFailure, ImportStopped, RegistryFile, import_file
from bot.services.registry_index import open_registry_index
from bot.services.registry_search import RegistrySearch, StoredRegistry
from bot.services.startup import StartupRefused
from handlers.notifications import deliver_all_via_bot_api
from models import BatchState, DeliveryState
from models.db import connection_problem

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
        problem = startup_problem(error, _settings(click.get_current_context()))
        if problem is None:
            if isinstance(error, OSError):  # e.g. the database server went away during the command
                _fail(f"cannot reach the database: {redact(str(error))}")
            raise
        _fail(problem, code=2)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; a known start-up failure is one line on stderr and exit code 2."""
    with _startup_errors():
        return asyncio.run(coroutine)
    raise AssertionError("unreachable")  # _startup_errors exits or re-raises


def _secret_env() -> list[str]:
    """Secrets given in the environment, whichever of them the configuration ends up using."""
    names = ("TELEGRAM_BOT_TOKEN", "AMANAT_TELEGRAM__TOKEN", "AMANAT_TELEGRAM__WEBHOOK_SECRET")
    return [os.environ[name] for name in names if os.environ.get(name)]


def _settings(ctx: click.Context) -> Settings:
    settings: Settings = ctx.obj["settings"]
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="Config file (default: ./config.toml)."
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Amanat: helps families find soldiers missing since 1941-1945, and search volunteers find families."""
    try:
        settings = load_config(config_path)
    except ConfigError as error:
        _fail(str(error), code=2)
        return
    # Before anything logs: the token and webhook secret redacted, no personal data at any level.
    setup_logging(settings, secrets=_secret_env())
    ctx.obj = {"settings": settings}


@main.group()
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


def _print_import_report(report: Any, shown: int = 50) -> None:
    click.echo(
        f"{report.source}: {report.rows_read} rows read ({report.encoding}"
        f"{': ' + report.encoding_evidence if report.encoding_evidence else ''}); "
        f"{report.inserted} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.rejected)} rejected"
    )
    for rejected in report.rejected[:shown]:
        click.echo(f"  line {rejected.line}: {rejected.reason}", err=True)
    if len(report.rejected) > shown:
        click.echo(f"  … and {len(report.rejected) - shown} more rejected rows (see --report)", err=True)


def _write_rejected(path: Path, reports: list[Any]) -> None:
    """Every rejected row as CSV (file, line, reason): quoted as the csv module quotes, whatever the text."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "line", "reason"])
        for report in reports:
            writer.writerows([report.source, rejected.line, rejected.reason] for rejected in report.rejected)


async def _import_files(settings: Settings, files: tuple[str, ...], show_progress: bool | None) -> list[Any]:
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

                reports.append(await import_file(database, source, progress=progress))
    finally:
        await database.dispose()
    return reports


async def _batch_command(settings: Settings, status: bool, finish: int | None, rollback: int | None) -> None:
    """--status, --finish BATCH or --rollback BATCH of `amanat import`."""
    database = await open_database(settings)
    try:
        if finish is not None:
            moved = await import_batches.finish_lost_batch(database, finish)
            click.echo(f"import batch {finish} finished: its {moved} readings are visible now")
        elif rollback is not None:
            deleted, kept = await import_batches.roll_back_lost_batch(database, rollback)
            click.echo(
                f"import batch {rollback} rolled back: {deleted} readings it inserted were deleted"
                + (
                    f"; {kept} readings it updated keep its text (their earlier text is not stored)"
                    if kept
                    else ""
                )
            )
        if status:
            batches = await import_batches.batch_overview(database)
            if not batches:
                click.echo("no imports yet")
            else:
                click.echo(f"{'batch':>7}  {'state':<11}  {'rows':>9}  {'started (UTC)':<16}  source")
            for batch in batches:
                click.echo(
                    f"{batch.id:>7}  {batch.state:<11}  {batch.rows:>9}  "
                    f"{batch.started_at:%Y-%m-%d %H:%M}  {batch.source}"
                )
            lost = [batch.id for batch in batches if batch.state == BatchState.LOST]
            if lost:
                click.echo(
                    f"lost imports hide their readings: finish one (amanat import --finish {lost[0]}), "
                    f"roll it back (amanat import --rollback {lost[0]}), or import its file again and then "
                    "finish or roll it back"
                )
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
@click.pass_context
def import_command(
    ctx: click.Context,
    files: tuple[str, ...],
    report_path: str | None,
    progress: bool | None,
    status: bool,
    finish: int | None,
    rollback: int | None,
) -> None:
    """Import registry readings from CSV or JSON lines (idempotent by reading_id), or see and mend the
    import batches (--status, --finish, --rollback)."""
    if status or finish is not None or rollback is not None:
        if files or (finish is not None and rollback is not None):
            _fail("give files to import, or --status / --finish BATCH / --rollback BATCH alone", code=2)
        try:
            _run(_batch_command(_settings(ctx), status, finish, rollback))
        except import_batches.BatchError as error:
            _fail(str(error))
        return
    if not files:
        _fail("give the files to import (or --status to see the import batches)", code=2)
    disable = None if progress is None else not progress
    try:
        reports = _run(_import_files(_settings(ctx), files, disable))
    except ImportFailure as error:
        _fail(f"{error}; nothing was imported")
        return
    except ImportStopped as error:
        _fail(
            f"{error}; what was written is kept in a lost import batch (amanat import --status), "
            "and importing the file again is safe"
        )
        return
    for report in reports:
        _print_import_report(report)
    if report_path:
        _write_rejected(Path(report_path), reports)


def sample_registry_path() -> Path:
    """The bundled sample registry."""
    return Path(str(resources.files("bot") / "data" / "sample_registry.csv"))


@main.command("demo-data")
@click.pass_context
def demo_data(ctx: click.Context) -> None:
    """Load the bundled sample registry so you can try the bot at once."""
    reports = _run(_import_files(_settings(ctx), (str(sample_registry_path()),), True))
    for report in reports:
        _print_import_report(report)


def query_from_json(item: dict[str, Any]) -> Query:
    """A search query from one batch line (or from the command-line flags); raises ValueError if unusable."""
    surname = str(item.get("surname") or "").strip()
    if not surname:
        raise ValueError("surname is required")
    birth_year = birth_year_to = None
    raw_year = item.get("birth_year")
    if raw_year not in (None, ""):
        parsed = parse_year(raw_year)
        if parsed is None or parsed.low is None or parsed.high is None:
            raise ValueError(f"birth_year is not a year: {raw_year!r}")
        birth_year = parsed.low
        birth_year_to = parsed.high if parsed.high != parsed.low else None

    def text(key: str) -> str | None:
        value = item.get(key)
        return str(value).strip() or None if value is not None else None

    return Query(
        surname=surname,
        name=text("name"),
        patronymic=text("patronymic"),
        birth_year=birth_year,
        birth_year_to=birth_year_to,
        birthplace=text("birthplace"),
        draft_office=text("draft_office"),
        relative=text("relative"),
        family_place=text("family_place"),
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


def reason_text(lang: str) -> ReasonText:
    """Reasons in `lang`, from the same catalogs the bot uses, as plain text (no HTML)."""
    t = translator(lang)
    return lambda reason: html.unescape(t.reason(reason))


def _batch_lines(path: str) -> Iterator[tuple[int, str]]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115
    try:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line
    finally:
        if stream is not sys.stdin:
            stream.close()


async def _search(
    settings: Settings, query: Query | None, batch: str | None, limit: int, as_json: bool, why: ReasonText
) -> None:
    database = await open_database(settings)
    registry: RegistrySearch | None = None
    try:
        if batch is None:
            assert query is not None
            registry = StoredRegistry(database)  # one search: the keys table, nothing loaded
            found = await registry.search(query, limit=limit)
            if as_json:
                click.echo(json.dumps({"results": [result_json(f, why) for f in found]}, ensure_ascii=False))
                return
            if not found:
                click.echo("—")
            for rank, item in enumerate(found, start=1):
                reading = item.reading
                who = " ".join(part for part in (reading.surname, reading.name, reading.patronymic) if part)
                verdict = "strong" if item.match.strong else "weak"
                click.echo(f"{rank}. {who}, {reading.birth_year or '?'} [{reading.reading_id}]")
                where = " ".join(part for part in (reading.found_place, reading.found_date) if part)
                click.echo(f"   {item.match.score:.1f} ({verdict}); {where}")
                for reason in item.match.reasons:
                    click.echo(f"   - {why(reason)}")
            return
        # Many queries: the registry in memory once (as the bot holds it) beats the keys table per query.
        registry = await open_registry_index(database)
        for number, line in _batch_lines(batch):
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("a line must be a JSON object")
                query_id = item.get("id", number)
                one = query_from_json(item)
            except (ValueError, json.JSONDecodeError) as error:
                click.echo(json.dumps({"id": number, "error": f"line {number}: {error}", "results": []}))
                continue
            found = await registry.search(one, limit=limit)
            click.echo(
                json.dumps(
                    {"id": query_id, "results": [result_json(f, why) for f in found]}, ensure_ascii=False
                )
            )
    finally:
        if registry is not None:
            await registry.close()
        await database.dispose()


@main.command("search")
@click.option("--surname")
@click.option("--name")
@click.option("--patronymic")
@click.option("--born", help="Birth year, a range 1903-1905, or 'около 1904'.")
@click.option("--place", help="Birthplace (old or today's names).")
@click.option("--draft-office")
@click.option("--relative", help="Who waited at home.")
@click.option("--family-place", help="Where the family lived.")
@click.option("--batch", type=click.Path(allow_dash=True), help="JSON lines file of queries ('-' for stdin).")
@click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--lang", type=click.Choice(["ru", "kk", "en"]), default=None, help="Language of the reasons.")
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
    query = None
    if batch is None:
        try:
            query = query_from_json(
                {
                    "surname": surname,
                    "name": name,
                    "patronymic": patronymic,
                    "birth_year": born,
                    "birthplace": place,
                    "draft_office": draft_office,
                    "relative": relative,
                    "family_place": family_place,
                }
            )
        except ValueError as error:
            _fail(f"{error} (use --surname, or --batch FILE)", code=2)
            return
    why = reason_text(lang or settings.i18n.default_language)
    _run(_search(settings, query, batch, limit, as_json, why))


async def run_matching_pass_cli(settings: Settings) -> str:
    """`amanat match`: one pass now, the heartbeat if due, then deliver what is pending via the Bot API."""
    db = await open_database(settings)
    try:
        report = await run_matching_pass(db, settings)
        heartbeats = await queue_heartbeats(db, settings)
        # Test hook: `AMANAT_FAULT=after-matching` exits hard after the pass committed, before sending.
        fault_point("after-matching")
        if not settings.telegram.token.get_secret_value():
            return report.summary() + "; no bot token, so nothing was sent (the bot sends it when it runs)"
        delivery = await deliver_all_via_bot_api(db, settings)
        line = report.summary() + f"; delivery: {delivery.summary()}"
        if heartbeats:
            line += f"; {heartbeats} heartbeat messages queued"
        return line
    finally:
        await db.dispose()


@main.command("match")
@click.pass_context
def match_command(ctx: click.Context) -> None:
    """One pass of the scheduled matching job, now."""
    click.echo(_run(run_matching_pass_cli(_settings(ctx))))


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
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Default: by OUT's extension, else csv.",
)
@click.pass_context
def export_command(ctx: click.Context, kind: str, out: Path, fmt: str | None) -> None:
    """Export the registry, the appeals or anonymized case statistics (CSV or JSON lines, with a checksum)."""
    if kind == "stories":
        _fail("the stories export is not available yet (it comes with the memory book)")
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
