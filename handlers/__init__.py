"""Telegram-facing adapters: parse the update, call a service, render the reply (no SQL here).

``handlers.dialogue`` is the relative's dialogue as one PTB component (states, fallbacks, a store written
through to the database); ``handlers.turn`` is one update being handled, ``handlers.steps`` runs one step,
``handlers.views`` builds the texts and keyboards, ``handlers.buttons`` holds the codecs of every kind of
button data, and ``handlers.groups`` names the handler groups and why their order matters.
"""
