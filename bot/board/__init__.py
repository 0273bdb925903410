"""The web board: a Telegram Mini App for volunteers (the cases) and administrators (the statistics).

``init_data`` checks Telegram's signed ``initData`` (pure: no Telegram library, no database);
``api`` serves the page (``static/``), its strings and the JSON API on the bot's own web server.
"""
