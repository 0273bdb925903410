"""The handler groups of the Application, named in one place.

PTB offers an update to the groups in ascending order and, within a group, to the first handler whose
``check_update`` matches; a handler that has dealt with an update raises ApplicationHandlerStop so later
groups do not answer it again. So the order says who may answer first:

0. ``ADMIN_ROLES``: /grant, /revoke, /roles and the message naming the person of a waiting /grant or
   /revoke (handlers/roles.py); any other message goes on.
0. ``ADMIN_FORM``: the administrator's /appeal form (handlers/appeals.py) takes /appeal, its buttons, and an
   administrator's private messages while their form is open (else it lets them through to the dialogue).
1. ``DIALOGUE``: the relative's dialogue (handlers/dialogue.py) takes its commands, its buttons and every
   private message. It must come before the catch-all of ``UNKNOWN``.
2. ``FEATURES``: features with commands and buttons of their own (notifications' buttons, /stats); the
   dialogue does not claim them, and they must be answered before ``UNKNOWN`` calls them unknown.
3. ``UNKNOWN``: what nobody handled — an unknown command, a button of no known kind — gets a clear answer.

A later feature that must see private text before the dialogue (a relative's reply to a volunteer) goes in
a group below ``DIALOGUE``.
"""

from __future__ import annotations

from enum import IntEnum


class HandlerGroup(IntEnum):
    """Application handler groups, in the order PTB tries them."""

    ADMIN_ROLES = -2
    ADMIN_FORM = -1
    DIALOGUE = 0
    FEATURES = 5
    UNKNOWN = 10
