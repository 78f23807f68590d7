"""Every timestamp token records its issuer: URL, certificate chain and the anchor it was verified against.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _issuer_columns():
    return [sa.Column('tsa_url', sa.String(length=500), nullable=True),
            sa.Column('tsa_chain_pem', sa.Text(), nullable=True),
            sa.Column('tsa_anchor_pem', sa.Text(), nullable=True)]


def upgrade():
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        for column in _issuer_columns():
            batch_op.add_column(column)
    with op.batch_alter_table('log_checkpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tsa_name', sa.String(length=200), nullable=True))
        for column in _issuer_columns():
            batch_op.add_column(column)


def downgrade():
    with op.batch_alter_table('log_checkpoints', schema=None) as batch_op:
        for name in ('tsa_anchor_pem', 'tsa_chain_pem', 'tsa_url', 'tsa_name'):
            batch_op.drop_column(name)
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        for name in ('tsa_anchor_pem', 'tsa_chain_pem', 'tsa_url'):
            batch_op.drop_column(name)
