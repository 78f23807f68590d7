"""Destroyed state: photos, captures and dossier items name their destruction record; export bundles expire.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _record_link(batch_op, table: str) -> None:
    batch_op.add_column(sa.Column('destruction_record_id', sa.Integer(), nullable=True))
    batch_op.create_foreign_key(batch_op.f(f'fk_{table}_destruction_record_id_destruction_records'),
                                'destruction_records', ['destruction_record_id'], ['id'])


def upgrade():
    with op.batch_alter_table('photos', schema=None) as batch_op:
        _record_link(batch_op, 'photos')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_state', sa.String(length=10), server_default='kept', nullable=False))
        batch_op.add_column(sa.Column('closed_reason', sa.Text(), nullable=True))
        _record_link(batch_op, 'captures')
    with op.batch_alter_table('dossier_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_state', sa.String(length=10), server_default='kept', nullable=False))
        _record_link(batch_op, 'dossier_items')
    with op.batch_alter_table('evidence_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True))
        _record_link(batch_op, 'evidence_exports')
        batch_op.create_index(batch_op.f('ix_evidence_exports_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('evidence_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_exports_expires_at'))
        batch_op.drop_constraint(batch_op.f('fk_evidence_exports_destruction_record_id_destruction_records'),
                                 type_='foreignkey')
        batch_op.drop_column('destruction_record_id')
        batch_op.drop_column('removed_at')
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('dossier_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_dossier_items_destruction_record_id_destruction_records'),
                                 type_='foreignkey')
        batch_op.drop_column('destruction_record_id')
        batch_op.drop_column('record_state')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_captures_destruction_record_id_destruction_records'),
                                 type_='foreignkey')
        batch_op.drop_column('destruction_record_id')
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('record_state')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_photos_destruction_record_id_destruction_records'),
                                 type_='foreignkey')
        batch_op.drop_column('destruction_record_id')
