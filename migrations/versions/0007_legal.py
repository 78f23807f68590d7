"""Legal retrieval: evidence exports, the use register, and the indexes of the legal search.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evidence_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=True),
    sa.Column('requester_name', sa.String(length=128), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('photo_ids', sa.JSON(), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('total_bytes', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('job_id', sa.String(length=100), nullable=True),
    sa.Column('phase', sa.String(length=30), nullable=True),
    sa.Column('done_items', sa.Integer(), nullable=False),
    sa.Column('done_bytes', sa.BigInteger(), nullable=False),
    sa.Column('manifest', sa.LargeBinary(), nullable=True),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=True),
    sa.Column('events_logged', sa.Boolean(), nullable=False),
    sa.Column('checkpoint_size', sa.BigInteger(), nullable=True),
    sa.Column('bundle_path', sa.String(length=400), nullable=True),
    sa.Column('bundle_sha256', sa.String(length=64), nullable=True),
    sa.Column('bundle_size', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_evidence_exports_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_evidence_exports_requester_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_exports'))
    )
    with op.batch_alter_table('evidence_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_exports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_exports_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_exports_state'), ['state'], unique=False)

    op.create_table('evidence_uses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_label', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('photo_id', sa.String(length=36), nullable=True),
    sa.Column('export_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['export_id'], ['evidence_exports.id'], name=op.f('fk_evidence_uses_export_id_evidence_exports')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_evidence_uses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_uses'))
    )
    with op.batch_alter_table('evidence_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_uses_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_uses_export_id'), ['export_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_uses_photo_id'), ['photo_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_uses_user_id'), ['user_id'], unique=False)

    # keyset pagination of the legal search (see server/models/legal.py)
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index('ix_photos_legal_received', ['received_at', 'id'], unique=False)
        batch_op.create_index('ix_photos_legal_capture', ['capture_id', 'received_at', 'id'], unique=False)
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_photo_evidence_legal_captured', ['estimated_capture_at', 'photo_id'], unique=False)


def downgrade():
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_evidence_legal_captured')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_legal_capture')
        batch_op.drop_index('ix_photos_legal_received')
    with op.batch_alter_table('evidence_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_uses_user_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_uses_photo_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_uses_export_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_uses_at'))
    op.drop_table('evidence_uses')
    with op.batch_alter_table('evidence_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_exports_state'))
        batch_op.drop_index(batch_op.f('ix_evidence_exports_requester_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_exports_created_at'))
    op.drop_table('evidence_exports')
