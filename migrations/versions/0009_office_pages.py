"""Working-day calendar as data: loaded holiday arrangements and provisional filing deadlines.

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_arrangements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('document_no', sa.String(length=100), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('loaded_by_id', sa.Integer(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loaded_by_id'], ['users.id'], name=op.f('fk_calendar_arrangements_loaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_arrangements')),
    sa.UniqueConstraint('year', name=op.f('uq_calendar_arrangements_year'))
    )
    with op.batch_alter_table('filing_obligations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provisional', sa.Boolean(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('filing_obligations', schema=None) as batch_op:
        batch_op.drop_column('provisional')
    op.drop_table('calendar_arrangements')
