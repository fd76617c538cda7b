"""daily counters (figures as of a date, pace by month); youth union and religious counted; folded names

Revision ID: b3e5d7f9a1c2
Revises: 7a1f3c2d9b40
Create Date: 2026-11-23 11:40:00
"""
import json

import sqlalchemy as sa
from alembic import op


revision = 'b3e5d7f9a1c2'
down_revision = '7a1f3c2d9b40'
branch_labels = None
depends_on = None

OLD = ("student", "non_state_enterprise", "woman", "ethnic_minority", "under_30")
NEW = ("youth_union", "religious")
FIELDS = ("admitted",) + OLD + NEW


def upgrade() -> None:
    from shared.text import fold

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_folded', sa.String(length=300), nullable=False, server_default=''))
        batch_op.create_index('ix_organizations_name_folded', ['name_folded'], unique=False)
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        for name in NEW:
            batch_op.add_column(sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.text('false')))
    with op.batch_alter_table('progress_counters', schema=None) as batch_op:
        for name in NEW:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
    op.create_table('daily_counters',
                    sa.Column('org_code', sa.String(length=64), nullable=False),
                    sa.Column('day', sa.Date(), nullable=False),
                    *[sa.Column(f, sa.Integer(), nullable=False) for f in FIELDS],
                    sa.PrimaryKeyConstraint('org_code', 'day'))
    bind = op.get_bind()
    names = bind.execute(sa.text("SELECT code, name FROM organizations")).all()
    for i in range(0, len(names), 5000):
        bind.execute(sa.text("UPDATE organizations SET name_folded = :f WHERE code = :c"),
                     [{"c": c, "f": fold(n)} for c, n in names[i:i + 5000]])
    # The day rows of the admissions already counted (the open ones), from the ledger.
    sums: dict[tuple[str, object], dict[str, int]] = {}
    rows = bind.execute(sa.text(f"SELECT admission_date, counted_orgs, {', '.join(OLD)} FROM admissions "
                                "WHERE revoked_on IS NULL"))
    for day, orgs, *flags in rows:
        for org in json.loads(orgs):
            row = sums.setdefault((org, day), dict.fromkeys(FIELDS, 0))
            row["admitted"] += 1
            for name, on in zip(OLD, flags):
                row[name] += int(bool(on))
    table = sa.table('daily_counters', sa.column('org_code'), sa.column('day'), *[sa.column(f) for f in FIELDS])
    items = [{"org_code": org, "day": day, **values} for (org, day), values in sorted(sums.items())]
    for i in range(0, len(items), 5000):
        op.bulk_insert(table, items[i:i + 5000])


def downgrade() -> None:
    op.drop_table('daily_counters')
    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_index('ix_organizations_name_folded')
        batch_op.drop_column('name_folded')
    with op.batch_alter_table('progress_counters', schema=None) as batch_op:
        for name in NEW:
            batch_op.drop_column(name)
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        for name in NEW:
            batch_op.drop_column(name)
