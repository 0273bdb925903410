"""Amanat: the application (config, CLI, the Telegram application factory, i18n, services, search engine)."""
