"""Paper documents scanned into dossiers: the scans and their evidence.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 12:36:26.468627

"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scans',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('doc_type', sa.String(length=60), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('doc_date', sa.Date(), nullable=True),
    sa.Column('business_event_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('declared_pages', sa.Integer(), nullable=True),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('min_dpi', sa.Float(), nullable=True),
    sa.Column('colour_modes', sa.JSON(), nullable=False),
    sa.Column('quality', sa.JSON(), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('dossier_item_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['business_event_id'], ['business_events.id'], name=op.f('fk_scans_business_event_id_business_events')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_scans_customer_id_customers')),
    sa.ForeignKeyConstraint(['dossier_item_id'], ['dossier_items.id'], name=op.f('fk_scans_dossier_item_id_dossier_items')),
    sa.ForeignKeyConstraint(['sha256'], ['blobs.sha256'], name=op.f('fk_scans_sha256_blobs')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_scans_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('customer_id', 'sha256', name=op.f('uq_scans_customer_id')),
    sa.UniqueConstraint('dossier_item_id', name=op.f('uq_scans_dossier_item_id'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scans_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_state'), ['state'], unique=False)

    op.create_table('scan_evidence',
    sa.Column('scan_id', sa.String(length=36), nullable=False),
    sa.Column('evidence_no', sa.String(length=40), nullable=False),
    sa.Column('steps_done', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('sm3', sa.String(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('hash_ok', sa.Boolean(), nullable=True),
    sa.Column('hashed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=64), nullable=True),
    sa.Column('preview_key', sa.String(length=64), nullable=True),
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
    sa.Column('tsa_url', sa.String(length=500), nullable=True),
    sa.Column('tsa_chain_pem', sa.Text(), nullable=True),
    sa.Column('tsa_anchor_pem', sa.Text(), nullable=True),
    sa.Column('stamped_leaf_index', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['scan_id'], ['scans.id'], name=op.f('fk_scan_evidence_scan_id_scans')),
    sa.PrimaryKeyConstraint('scan_id', name=op.f('pk_scan_evidence')),
    sa.UniqueConstraint('evidence_no', name=op.f('uq_scan_evidence_evidence_no'))
    )
    with op.batch_alter_table('scan_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_evidence_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_evidence_tsa_next_attempt_at'), ['tsa_next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_evidence_tsa_status'), ['tsa_status'], unique=False)



    with op.batch_alter_table('evidence_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scan_ids', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('evidence_exports', schema=None) as batch_op:
        batch_op.drop_column('scan_ids')

    with op.batch_alter_table('scan_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_evidence_tsa_status'))
        batch_op.drop_index(batch_op.f('ix_scan_evidence_tsa_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_scan_evidence_sha256'))

    op.drop_table('scan_evidence')
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scans_state'))
        batch_op.drop_index(batch_op.f('ix_scans_sha256'))
        batch_op.drop_index(batch_op.f('ix_scans_received_at'))
        batch_op.drop_index(batch_op.f('ix_scans_customer_id'))

    op.drop_table('scans')
