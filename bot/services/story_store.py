"""Which store keeps the memory book's files: the S3-compatible bucket when ``stories.s3.bucket`` is set
(the directory is then not used at all), else the storage directory. Built once per process (the bot's
Application, each CLI command) and handed to whoever saves, reads or deletes a story's files."""

from __future__ import annotations

from bot.config import StoriesConfig
from bot.services.story_files import DirectoryStore, StoryStore
from bot.services.story_s3 import S3Store


def open_story_store(config: StoriesConfig) -> StoryStore:
    """The configured store; :class:`~bot.services.story_files.StoreError` when S3 is configured but its
    client is not installed or refuses the settings (no request is made: ``await store.check()`` does)."""
    if config.s3.configured:
        return S3Store.connect(config.s3)
    return DirectoryStore(config.storage_path)
