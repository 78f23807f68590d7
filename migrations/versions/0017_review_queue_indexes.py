"""Review queue indexes: one per filter of the queue, each in the queue's (received_at, id) order.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 15:45:00

"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

QUEUE_INDEXES = {
    'ix_captures_queue_kind': ['review_state', 'kind', 'received_at', 'id'],
    'ix_captures_queue_account': ['review_state', 'account_no', 'received_at', 'id'],
    'ix_captures_queue_complete': ['review_state', 'complete', 'received_at', 'id'],
    'ix_captures_queue_conflict': ['review_state', 'has_conflict', 'received_at', 'id'],
    'ix_captures_queue_customer': ['review_state', 'customer_id', 'received_at', 'id'],
}


def upgrade():
    with op.batch_alter_table('captures', schema=None) as batch_op:
        for name, columns in QUEUE_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade():
    with op.batch_alter_table('captures', schema=None) as batch_op:
        for name in reversed(list(QUEUE_INDEXES)):
            batch_op.drop_index(name)
