"""Telegram-facing adapters: parse the update, call a service, render the reply (no SQL here).

``handlers.dialogue.register(application)`` adds the relative's dialogue; its runtime (state written
through to the database per update) is in ``handlers.runtime``.
"""
