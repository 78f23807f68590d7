"""The evidence log's complete subtrees (log_nodes), built from the leaves already logged.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:45:00

"""
from alembic import op
import sqlalchemy as sa

from verifier.tree_nodes import CompactRange

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BATCH = 10_000


def upgrade():
    op.create_table('log_nodes',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('node_index', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('level', 'node_index', name=op.f('pk_log_nodes')),
    sqlite_with_rowid=False
    )
    _backfill(op.get_bind())


def _backfill(conn):
    # the leaves in order, a batch at a time: a log of any size is built in constant memory
    nodes = sa.table('log_nodes', sa.column('level'), sa.column('node_index'), sa.column('hash'))
    builder = CompactRange()
    while True:
        rows = conn.execute(
            sa.text('SELECT leaf_index, leaf_hash FROM log_leaves WHERE leaf_index >= :start '
                    'ORDER BY leaf_index LIMIT :batch'),
            {'start': builder.size, 'batch': BATCH},
        ).all()
        if not rows:
            return
        completed = []
        for index, leaf_hash in rows:
            if index != builder.size:
                raise RuntimeError(f'log_leaves has a gap: expected leaf {builder.size}, found {index}')
            completed += builder.append(bytes.fromhex(leaf_hash))
        if completed:
            conn.execute(
                nodes.insert(), [{'level': level, 'node_index': index, 'hash': h} for (level, index), h in completed]
            )


def downgrade():
    op.drop_table('log_nodes')
