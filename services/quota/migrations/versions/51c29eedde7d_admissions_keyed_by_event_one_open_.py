"""admissions keyed by event: one open admission per candidate

Revision ID: 51c29eedde7d
Revises: c088cdf36783
Create Date: 2026-11-23 05:57:49.244784
"""
from alembic import op
import sqlalchemy as sa


revision = '51c29eedde7d'
down_revision = 'c088cdf36783'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The ledger keys what it counts by the admission event: admit / revoke / admit again on the
    # same day counts 1 (the old UNIQUE (candidate, date) dropped the second admission).
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_admissions_candidate_date'), type_='unique')
        batch_op.create_index('ix_admissions_candidate_date', ['candidate_id', 'admission_date'], unique=False)
        batch_op.create_index('uq_admissions_open_candidate', ['candidate_id'], unique=True, sqlite_where=sa.text('revoked_on IS NULL'), postgresql_where=sa.text('revoked_on IS NULL'))


def downgrade() -> None:
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        batch_op.drop_index('uq_admissions_open_candidate', sqlite_where=sa.text('revoked_on IS NULL'), postgresql_where=sa.text('revoked_on IS NULL'))
        batch_op.drop_index('ix_admissions_candidate_date')
        batch_op.create_unique_constraint(batch_op.f('uq_admissions_candidate_date'), ['candidate_id', 'admission_date'])
