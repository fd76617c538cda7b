"""publish the state of every organisation once (organization.state, for the other services' copies)

Revision ID: 7a1f3c2d9b40
Revises: eed6142f9e1a
Create Date: 2026-11-23 10:20:00
"""
from alembic import op
from sqlalchemy.orm import Session


revision = '7a1f3c2d9b40'
down_revision = 'eed6142f9e1a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The candidate and notification services now keep their copy of the tree from the compacted
    # organization-state topic (shared/replica.py). The organisations that exist when this version
    # is installed get their state written to the outbox here, once, in the upgrade's transaction;
    # later changes publish their own. (`python -m services.quota.worker publish-tree` does the same
    # by hand, to refill the topic.)
    from services.quota.organizations import publish_all_states

    publish_all_states(Session(bind=op.get_bind()))


def downgrade() -> None:
    pass  # the outbox rows are sent or pruned; nothing to undo
