"""SQLAlchemy 2 ORM models of Amanat's whole domain and the database session factory.

Import the models from here: `from models import Reading, Person, SearchRequest, ...`.
"""

from models.appeals import Appeal, AppealDelivery, AppealStatus, DeliveryState
from models.base import Base
from models.cases import Case, CaseEvent, CaseMessage, CasePost, CaseStatus
from models.db import Database
from models.jobs import JobLock, SendBudget, Watermark
from models.people import DialogueState, Person, Role, RoleChange
from models.registry import BatchState, ImportBatch, Reading, ReadingKey, RegistryMeta
from models.requests import (
    Match,
    NotificationState,
    OutboxMessage,
    OutboxState,
    RequestStatus,
    SearchLogEntry,
    SearchRequest,
)
from models.reviews import MatchReview
from models.stories import Story, StoryConsent, StoryErasure, StoryItem, StoryState

__all__ = [
    "Appeal",
    "AppealDelivery",
    "AppealStatus",
    "Base",
    "BatchState",
    "Case",
    "CaseEvent",
    "CaseMessage",
    "CasePost",
    "CaseStatus",
    "Database",
    "DeliveryState",
    "DialogueState",
    "ImportBatch",
    "JobLock",
    "Match",
    "MatchReview",
    "NotificationState",
    "OutboxMessage",
    "OutboxState",
    "Person",
    "Reading",
    "ReadingKey",
    "RegistryMeta",
    "RequestStatus",
    "Role",
    "RoleChange",
    "SearchLogEntry",
    "SearchRequest",
    "SendBudget",
    "Story",
    "StoryConsent",
    "StoryErasure",
    "StoryItem",
    "StoryState",
    "Watermark",
]
