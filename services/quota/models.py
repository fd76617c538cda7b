"""Tables of the quota service's own database."""
from sqlalchemy.orm import DeclarativeBase

from shared.db import messaging_tables


class Base(DeclarativeBase):
    pass


outbox, processed_events = messaging_tables(Base.metadata)
