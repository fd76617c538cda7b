"""outbox states

Revision ID: 62ad40795234
Revises: 5be278e8f37c
Create Date: 2026-11-23 08:57:54.391233
"""
from alembic import op
import sqlalchemy as sa


revision = '62ad40795234'
down_revision = '5be278e8f37c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Outbox rows get a state (pending, sent, failed; shared/relay.py). published_at becomes sent_at,
    # its values kept, and a row already published is sent.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=10), server_default=sa.text("'pending'"), nullable=False))
        batch_op.drop_index(batch_op.f('ix_outbox_published_at'))
        batch_op.alter_column('published_at', new_column_name='sent_at', existing_type=sa.DateTime(timezone=True),
                              existing_nullable=True)
        batch_op.create_index('ix_outbox_state_seq', ['state', 'seq'], unique=False)
    op.execute("UPDATE outbox SET state = 'sent' WHERE sent_at IS NOT NULL")


def downgrade() -> None:
    # Failed rows go back to unpublished (pending).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_state_seq')
        batch_op.alter_column('sent_at', new_column_name='published_at', existing_type=sa.DateTime(timezone=True),
                              existing_nullable=True)
        batch_op.create_index(batch_op.f('ix_outbox_published_at'), ['published_at'], unique=False)
        batch_op.drop_column('state')
