"""transitions decision number index

Revision ID: bd716a727b67
Revises: da2944435467
Create Date: 2026-11-23 11:42:15.301733
"""
from alembic import op


revision = 'bd716a727b67'
down_revision = 'da2944435467'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Admission decisions in bulk look a decision up by its number.
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.create_index('ix_transitions_decision_number', ['decision_number'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_transitions_decision_number')

