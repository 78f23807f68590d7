"""Sync: exactly-once push records, per-sync clock readings, task assignments, feed sequence.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

# Counters used by the sync feed: the allocated sequence, the compaction floor and the epoch.
COUNTERS = ("sync_seq", "sync_floor", "sync_epoch")


def upgrade():
    op.create_table('sync_mutations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_sync_mutations_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_mutations'))
    )
    with op.batch_alter_table('sync_mutations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_mutations_capture_id'), ['capture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_mutations_device_id'), ['device_id'], unique=False)

    op.create_table('sync_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('server_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clock_offset_ms', sa.BigInteger(), nullable=True),
    sa.Column('request_bytes', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('applied', sa.Integer(), nullable=False),
    sa.Column('replayed', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('cursor_from', sa.BigInteger(), nullable=True),
    sa.Column('cursor_to', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_sync_sessions_device_id_devices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_sessions'))
    )
    with op.batch_alter_table('sync_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_sessions_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_sessions_server_time'), ['server_time'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspector_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_assignments_customer_id_customers')),
    sa.ForeignKeyConstraint(['inspector_id'], ['users.id'], name=op.f('fk_assignments_inspector_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_ended_at'), ['ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_inspector_id'), ['inspector_id'], unique=False)

    with op.batch_alter_table('capture_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_clock_offset_ms', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_clock_offset_ms', sa.BigInteger(), nullable=True))

    counters = sa.table('counters', sa.column('name', sa.String), sa.column('value', sa.Integer))
    op.bulk_insert(counters, [{"name": name, "value": 0} for name in COUNTERS])
    # the sequence continues after any feed rows written before this revision
    op.execute("UPDATE counters SET value = (SELECT COALESCE(MAX(id), 0) FROM sync_changes) "
               "WHERE name = 'sync_seq'")


def downgrade():
    op.execute("DELETE FROM counters WHERE name IN ('sync_seq', 'sync_floor', 'sync_epoch')")
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_column('device_clock_offset_ms')
    with op.batch_alter_table('capture_revisions', schema=None) as batch_op:
        batch_op.drop_column('device_clock_offset_ms')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_inspector_id'))
        batch_op.drop_index(batch_op.f('ix_assignments_ended_at'))
        batch_op.drop_index(batch_op.f('ix_assignments_customer_id'))
    op.drop_table('assignments')
    with op.batch_alter_table('sync_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_sessions_server_time'))
        batch_op.drop_index(batch_op.f('ix_sync_sessions_device_id'))
    op.drop_table('sync_sessions')
    with op.batch_alter_table('sync_mutations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_mutations_device_id'))
        batch_op.drop_index(batch_op.f('ix_sync_mutations_capture_id'))
    op.drop_table('sync_mutations')
