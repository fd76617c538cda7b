"""The event contract of chitieu: every event type, defined once. See docs/events.md."""
from .base import Event, EventType, InvalidEvent, build_event, parse_record, to_message
from .candidates import (CANDIDATE_ADMISSION_REVOKED, CANDIDATE_ADMITTED, CANDIDATE_CLOSED, CANDIDATE_LISTED,
                         CANDIDATE_RECOGNISED_OFFICIAL, CANDIDATE_REMINDER_DUE, CANDIDATE_STAGE_CHANGED,
                         CANDIDATE_TRANSFERRED)
from .organizations import (ORGANIZATION_CREATED, ORGANIZATION_DISSOLVED, ORGANIZATION_MERGED, ORGANIZATION_STATE,
                            ORGANIZATION_MOVED, ORGANIZATION_RENAMED)
from .quotas import QUOTA_ASSIGNED, QUOTA_EXCEEDED, QUOTA_MET, QUOTA_MILESTONE_REACHED

ALL_EVENT_TYPES: tuple[EventType, ...] = (
    ORGANIZATION_CREATED, ORGANIZATION_RENAMED, ORGANIZATION_MOVED, ORGANIZATION_MERGED, ORGANIZATION_DISSOLVED,
    ORGANIZATION_STATE,
    QUOTA_ASSIGNED, QUOTA_MILESTONE_REACHED, QUOTA_MET, QUOTA_EXCEEDED,
    CANDIDATE_LISTED, CANDIDATE_STAGE_CHANGED, CANDIDATE_ADMITTED, CANDIDATE_ADMISSION_REVOKED,
    CANDIDATE_RECOGNISED_OFFICIAL, CANDIDATE_CLOSED, CANDIDATE_TRANSFERRED, CANDIDATE_REMINDER_DUE,
)
BY_TYPE: dict[str, EventType] = {t.type: t for t in ALL_EVENT_TYPES}
TOPICS: tuple[str, ...] = tuple(sorted({t.topic for t in ALL_EVENT_TYPES}))
DEAD_LETTER_TOPIC = "dead-letter"

__all__ = [
    "ALL_EVENT_TYPES", "BY_TYPE", "TOPICS", "DEAD_LETTER_TOPIC", "Event", "EventType", "InvalidEvent",
    "build_event", "parse_record", "to_message",
]
__all__ += [t.name.replace(".", "_").upper() for t in ALL_EVENT_TYPES]
