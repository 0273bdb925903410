"""`python -m bot …` is the same as the `amanat` command."""

from bot.cli import main

main()
