"""The handler groups of the Application, named in one place.

PTB offers an update to the groups in ascending order and, within a group, to the first handler whose
``check_update`` matches; a handler that has dealt with an update raises ApplicationHandlerStop so later
groups do not answer it again. So the order says who may answer first:

0. ``FLOOD``: per-user flood control (handlers/flood.py) sees every update first and stops those of a
   person sending faster than the bot answers.
1. ``ADMIN_ROLES``: /grant, /revoke, /roles and the message naming the person of a waiting /grant or
   /revoke (handlers/roles.py); any other message goes on.
2. ``ADMIN_FORM``: the administrator's /appeal form (handlers/appeals.py) takes /appeal, its buttons, and an
   administrator's private messages while their form is open (else they go on); the deep link
   /start appeal-<id> and "This may be my relative" (handlers/appeal_reply.py), before the dialogue's /start.
3. ``CASES``: volunteers' cases, /review and /family (handlers/cases.py, review.py, family.py). A
   relative's reply to a volunteer (or the message after "ask a volunteer") is private text the dialogue
   would take as an answer, so this group sees private messages first; what is not about a case falls
   through to the dialogue untouched.
4. ``MODERATION``: volunteers' /moderate, its buttons, and the volunteer's message after "decline" or
   "ask the family" (handlers/moderation.py); before STORIES, whose buttons share the ``st:`` prefix.
5. ``STORIES``: the family's /story and the messages of a story being written (handlers/stories.py):
   after CASES (a reply to a case message stays the case's), before the dialogue, which would take the
   story's text as an answer. Like CASES, a message no story waits for falls through untouched.
6. ``DIALOGUE``: the relative's dialogue (handlers/dialogue.py) takes its commands, its buttons and every
   private message. It must come before the catch-all of ``UNKNOWN``.
7. ``FEATURES``: features with commands and buttons of their own (notifications' buttons, /stats); the
   dialogue does not claim them, and they must be answered before ``UNKNOWN`` calls them unknown.
8. ``UNKNOWN``: what nobody handled — an unknown command, a button of no known kind — gets a clear answer.

"""

from __future__ import annotations

from enum import IntEnum


class HandlerGroup(IntEnum):
    """Application handler groups, in the order PTB tries them."""

    FLOOD = -10
    ADMIN_ROLES = -5
    ADMIN_FORM = -4
    CASES = -3
    MODERATION = -2
    STORIES = -1
    DIALOGUE = 0
    FEATURES = 5
    UNKNOWN = 10
