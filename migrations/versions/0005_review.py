"""Archivist review: decisions, comments, link choices, capture review version, queue indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index('ix_captures_queue', ['review_state', 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_captures_queue_inspector',
                              ['review_state', 'inspector_id', 'received_at', 'id'], unique=False)
        batch_op.create_index('ix_captures_link_queue', ['link_state', 'received_at', 'id'], unique=False)

    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.create_index('ix_photos_capture_category', ['capture_id', 'category'], unique=False)

    op.create_table('review_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('decision', sa.String(length=12), nullable=False),
    sa.Column('from_state', sa.String(length=12), nullable=False),
    sa.Column('capture_revision', sa.Integer(), nullable=False),
    sa.Column('review_version', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=True),
    sa.Column('reason_text', sa.Text(), nullable=True),
    sa.Column('doc_type', sa.String(length=60), nullable=True),
    sa.Column('dossier_item_id', sa.Integer(), nullable=True),
    sa.Column('bulk', sa.Boolean(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], name=op.f('fk_review_decisions_capture_id_captures')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_review_decisions_decided_by_id_users')),
    sa.ForeignKeyConstraint(['dossier_item_id'], ['dossier_items.id'], name=op.f('fk_review_decisions_dossier_item_id_dossier_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_decisions'))
    )
    with op.batch_alter_table('review_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_decisions_capture_id'), ['capture_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_decisions_decided_by_id'), ['decided_by_id'], unique=False)

    op.create_table('review_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_review_comments_author_id_users')),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], name=op.f('fk_review_comments_capture_id_captures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_comments'))
    )
    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_comments_capture_id'), ['capture_id'], unique=False)

    op.create_table('capture_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('capture_id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('account_no_given', sa.String(length=32), nullable=False),
    sa.Column('linked_by_id', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['captures.id'], name=op.f('fk_capture_links_capture_id_captures')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_capture_links_customer_id_customers')),
    sa.ForeignKeyConstraint(['linked_by_id'], ['users.id'], name=op.f('fk_capture_links_linked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_links'))
    )
    with op.batch_alter_table('capture_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_capture_links_capture_id'), ['capture_id'], unique=False)


def downgrade():
    with op.batch_alter_table('capture_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_capture_links_capture_id'))
    op.drop_table('capture_links')
    with op.batch_alter_table('review_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_comments_capture_id'))
    op.drop_table('review_comments')
    with op.batch_alter_table('review_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_decisions_decided_by_id'))
        batch_op.drop_index(batch_op.f('ix_review_decisions_capture_id'))
    op.drop_table('review_decisions')
    with op.batch_alter_table('photos', schema=None) as batch_op:
        batch_op.drop_index('ix_photos_capture_category')
    with op.batch_alter_table('captures', schema=None) as batch_op:
        batch_op.drop_index('ix_captures_link_queue')
        batch_op.drop_index('ix_captures_queue_inspector')
        batch_op.drop_index('ix_captures_queue')
        batch_op.drop_column('review_version')
