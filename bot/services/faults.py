"""A test hook for the fault suite (tests/faults): exit hard, as kill -9 would, at a named point.

Inert unless the environment variable `AMANAT_FAULT` names a point: `AMANAT_FAULT=after-send:3` makes the
process call `os._exit(70)` the third time it reaches `fault_point("after-send")` (no number: the first
time). Nothing is flushed, committed or released, exactly like a kill. The points:

=====================  ===========================================================================
after-matching         `amanat match`: the matching transactions committed, nothing sent yet
matching-locked        a matching pass holds its lock and has done nothing yet
matching-scored        a chunk of readings is scored, its matches not yet written (once per chunk)
matching-chunk         a chunk's matches, notifications and watermark committed (once per chunk)
before-send            a message is claimed for sending, not yet handed to the Bot API
after-send             the Bot API accepted a message, the outbox has not recorded it as sent
=====================  ===========================================================================
"""

from __future__ import annotations

import logging
import os
from collections import Counter

log = logging.getLogger(__name__)

FAULT_ENV = "AMANAT_FAULT"
FAULT_EXIT_CODE = 70

_reached: Counter[str] = Counter()


def fault_point(name: str) -> None:
    """Exit hard (no cleanup, like a kill) when `AMANAT_FAULT` names this point and its count is reached."""
    wanted = os.environ.get(FAULT_ENV)
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] == (int(count) if count.isdigit() else 1):
        log.warning("fault injection: exiting at %s", wanted)
        os._exit(FAULT_EXIT_CODE)
