"""Use cases: what the bot, the console and the command line do, in terms of the models and the engine."""
