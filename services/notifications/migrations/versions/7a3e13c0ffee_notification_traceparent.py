"""notification traceparent

Revision ID: 7a3e13c0ffee
Revises: c2646cb3fd1a
Create Date: 2026-11-23 15:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '7a3e13c0ffee'
down_revision = 'c2646cb3fd1a'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The trace of the event that caused a notice, for its delivery's log lines and webhook header.
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('traceparent', sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('traceparent')
