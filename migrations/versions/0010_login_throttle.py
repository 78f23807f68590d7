"""Login throttling: failed password logins per account name and address, with their wait.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('wait_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('username', 'address', name=op.f('pk_login_throttles'))
    )
    op.create_index(op.f('ix_login_throttles_last_failure_at'), 'login_throttles', ['last_failure_at'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_login_throttles_last_failure_at'), table_name='login_throttles')
    op.drop_table('login_throttles')
