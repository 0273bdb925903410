"""`python -m bot …` is the same as the `amanat` command."""

from bot.cli import main

if __name__ == "__main__":  # a spawned import worker imports this module too and must not run the CLI
    main()
