"""Evidence stamping: photo evidence, pipeline runs, transparency log leaves and checkpoints.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photo_evidence',
    sa.Column('photo_id', sa.String(length=36), nullable=False),
    sa.Column('evidence_no', sa.String(length=40), nullable=False),
    sa.Column('steps_done', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('sm3', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('hash_ok', sa.Boolean(), nullable=True),
    sa.Column('hashed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('metadata_status', sa.String(length=12), nullable=True),
    sa.Column('metadata_reason', sa.Text(), nullable=True),
    sa.Column('reader', sa.String(length=40), nullable=True),
    sa.Column('exif_raw', sa.JSON(), nullable=False),
    sa.Column('parsed', sa.JSON(), nullable=False),
    sa.Column('gps_latitude', sa.Float(), nullable=True),
    sa.Column('gps_longitude', sa.Float(), nullable=True),
    sa.Column('estimated_capture_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('estimate_basis', sa.Text(), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('time_analysis', sa.JSON(), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=64), nullable=True),
    sa.Column('preview_key', sa.String(length=64), nullable=True),
    sa.Column('stamped_key', sa.String(length=64), nullable=True),
    sa.Column('derivatives_error', sa.Text(), nullable=True),
    sa.Column('tsa_status', sa.String(length=10), nullable=False),
    sa.Column('tsa_kind', sa.String(length=10), nullable=True),
    sa.Column('tsa_name', sa.String(length=200), nullable=True),
    sa.Column('tsa_token', sa.LargeBinary(), nullable=True),
    sa.Column('tsa_gen_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tsa_serial', sa.String(length=64), nullable=True),
    sa.Column('tsa_attempts', sa.Integer(), nullable=False),
    sa.Column('tsa_error', sa.Text(), nullable=True),
    sa.Column('tsa_next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stamped_leaf_index', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['photo_id'], ['photos.id'], name=op.f('fk_photo_evidence_photo_id_photos')),
    sa.PrimaryKeyConstraint('photo_id', name=op.f('pk_photo_evidence')),
    sa.UniqueConstraint('evidence_no', name=op.f('uq_photo_evidence_evidence_no'))
    )
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_evidence_estimated_capture_at'), ['estimated_capture_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_evidence_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_evidence_tsa_next_attempt_at'), ['tsa_next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_evidence_tsa_status'), ['tsa_status'], unique=False)

    op.create_table('pipeline_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=200), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_runs')),
    sa.UniqueConstraint('event', 'subject_id', name=op.f('uq_pipeline_runs_event'))
    )
    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pipeline_runs_status'), ['status'], unique=False)

    op.create_table('log_leaves',
    sa.Column('leaf_index', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('entry', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.String(length=64), nullable=False),
    sa.Column('appended_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('leaf_index', name=op.f('pk_log_leaves'))
    )
    with op.batch_alter_table('log_leaves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_leaves_event_type'), ['event_type'], unique=False)
        batch_op.create_index(batch_op.f('ix_log_leaves_subject_id'), ['subject_id'], unique=False)

    op.create_table('log_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('key_name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tsa_status', sa.String(length=10), nullable=False),
    sa.Column('tsa_kind', sa.String(length=10), nullable=True),
    sa.Column('tsa_token', sa.LargeBinary(), nullable=True),
    sa.Column('tsa_gen_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tsa_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_checkpoints')),
    sa.UniqueConstraint('tree_size', name=op.f('uq_log_checkpoints_tree_size'))
    )
    with op.batch_alter_table('log_checkpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_log_checkpoints_created_at'), ['created_at'], unique=False)

    # the log's size counter: appends take its row lock, so leaf indexes never collide
    op.execute("INSERT INTO counters (name, value) VALUES ('translog.size', 0)")


def downgrade():
    op.execute("DELETE FROM counters WHERE name = 'translog.size'")
    with op.batch_alter_table('log_checkpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_checkpoints_created_at'))
    op.drop_table('log_checkpoints')
    with op.batch_alter_table('log_leaves', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_log_leaves_subject_id'))
        batch_op.drop_index(batch_op.f('ix_log_leaves_event_type'))
    op.drop_table('log_leaves')
    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pipeline_runs_status'))
    op.drop_table('pipeline_runs')
    with op.batch_alter_table('photo_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_evidence_tsa_status'))
        batch_op.drop_index(batch_op.f('ix_photo_evidence_tsa_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_photo_evidence_sha256'))
        batch_op.drop_index(batch_op.f('ix_photo_evidence_estimated_capture_at'))
    op.drop_table('photo_evidence')
