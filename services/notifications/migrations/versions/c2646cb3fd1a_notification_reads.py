"""notification reads

Revision ID: c2646cb3fd1a
Revises: 3232407dc078
Create Date: 2026-11-23 11:36:23.196358
"""
from alembic import op
import sqlalchemy as sa


revision = 'c2646cb3fd1a'
down_revision = '3232407dc078'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Read state per person (the token's sub), for the inbox's read/unread and unread count.
    op.create_table('notification_reads',
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reader', sa.String(length=200), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ),
    sa.PrimaryKeyConstraint('notification_id', 'reader')
    )


def downgrade() -> None:
    op.drop_table('notification_reads')
