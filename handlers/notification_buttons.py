"""Callback data of the buttons under a notification and beside a search in /my: typed, to and from a string.

=====================  ============================================================
``nrec:<match id>``    the full record of the reading a notification was about
``pause:<search id>``  pause a saved search (from a notification or from /my)
``resume:<search id>`` resume it (from /my)
=====================  ============================================================

Well under Telegram's 64 bytes. A forged id reaches only the presser's own rows (the services check it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

PATTERN: Final = r"^(nrec|pause|resume):\d{1,9}$"
_DATA: Final = re.compile(PATTERN)


@dataclass(frozen=True)
class ShowRecord:
    """Show the full record of the reading a match was about."""

    match_id: int

    @property
    def data(self) -> str:
        return f"nrec:{self.match_id}"


@dataclass(frozen=True)
class SetPaused:
    """Pause (``paused``) or resume a saved search."""

    request_id: int
    paused: bool

    @property
    def data(self) -> str:
        return f"{'pause' if self.paused else 'resume'}:{self.request_id}"


NotificationPress = ShowRecord | SetPaused


def parse_press(data: str | None) -> NotificationPress | None:
    """The press a button's data stands for, or None for anything this module did not make."""
    if data is None or _DATA.match(data) is None:
        return None
    action, _, number = data.partition(":")
    if action == "nrec":
        return ShowRecord(int(number))
    return SetPaused(int(number), paused=action == "pause")


def record_button_data(match_id: int) -> str:
    return ShowRecord(match_id).data


def pause_button_data(request_id: int) -> str:
    return SetPaused(request_id, paused=True).data


def resume_button_data(request_id: int) -> str:
    return SetPaused(request_id, paused=False).data
