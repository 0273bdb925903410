"""The `amanat` command line (also `python -m bot`): run, console, import, search, match, db, demo-data.

Every command that touches the database brings it up to date first (migrations, search keys); the
commands that only read (search, match) never create one: they say which database they opened, and that
it is missing or empty. Reports, search lines and errors are in the administrator's language (`--lang`,
else the locale; bot.cli_text). Exit codes: 0 done, 1 the work could not be done (a file that cannot be
read, a database that is missing or cannot be reached), 2 bad usage or configuration.
"""

from __future__ import annotations

import os

import click

from bot.cli.common import LazyGroup, fail, sample_registry_path
from bot.cli_text import cli_language
from bot.config import S3_SECRET_ENV, ConfigError, load_config
from bot.i18n import LANGUAGES
from bot.logs import setup_logging

__all__ = ["main", "sample_registry_path"]

# Each command's module, loaded when the command runs: the registry's (db, import, demo-data, search,
# family), the matching job's (match), the bot's (run, console) and what is published (export,
# exhibition, appeal).
COMMANDS = {
    "db": "bot.cli.registry:db",
    "import": "bot.cli.registry:import_command",
    "demo-data": "bot.cli.registry:demo_data",
    "search": "bot.cli.registry:search_command",
    "family": "bot.cli.registry:family_command",
    "match": "bot.cli.matching:match_command",
    "run": "bot.cli.running:run_command",
    "console": "bot.cli.running:console_command",
    "export": "bot.cli.publish:export_command",
    "exhibition": "bot.cli.publish:exhibition",
    "appeal": "bot.cli.publish:appeal",
}


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


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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
        fail(str(error), code=2)
        return
    # Before anything logs: the token and webhook secret redacted, no personal data at any level.
    setup_logging(settings, secrets=_secret_env())
    ctx.obj["settings"] = settings


if __name__ == "__main__":  # pragma: no cover
    main()
