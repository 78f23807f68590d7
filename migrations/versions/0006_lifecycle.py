"""Archive lifecycle: filing obligations, use registration, legal holds, retention, disposal lists,
destruction records and paper-box positions.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('paper_boxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voltage_class', sa.String(length=8), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('shelf', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_boxes')),
    sa.UniqueConstraint('voltage_class', 'number', name=op.f('uq_paper_boxes_voltage_class'))
    )
    op.create_table('box_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('freed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['box_id'], ['paper_boxes.id'], name=op.f('fk_box_slots_box_id_paper_boxes')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_box_slots_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_box_slots')),
    sa.UniqueConstraint('box_id', 'position', name=op.f('uq_box_slots_box_id')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_box_slots_customer_id'))
    )
    with op.batch_alter_table('box_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_box_slots_box_id'), ['box_id'], unique=False)

    op.create_table('disposal_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('executed_by_id', sa.Integer(), nullable=True),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_disposal_lists_decided_by_id_users')),
    sa.ForeignKeyConstraint(['executed_by_id'], ['users.id'], name=op.f('fk_disposal_lists_executed_by_id_users')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_disposal_lists_proposed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_lists'))
    )
    with op.batch_alter_table('disposal_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_lists_state'), ['state'], unique=False)

    op.create_table('retention_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=False),
    sa.Column('retention_years', sa.Integer(), nullable=False),
    sa.Column('eligible_on', sa.Date(), nullable=False),
    sa.Column('swept_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_retention_states_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_states')),
    sa.UniqueConstraint('customer_id', name=op.f('uq_retention_states_customer_id'))
    )
    with op.batch_alter_table('retention_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_states_eligible_on'), ['eligible_on'], unique=False)

    op.create_table('use_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('requester_name', sa.String(length=100), nullable=False),
    sa.Column('requester_unit', sa.String(length=100), nullable=True),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('form', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('out_by_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_use_requests_customer_id_customers')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_use_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['out_by_id'], ['users.id'], name=op.f('fk_use_requests_out_by_id_users')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_use_requests_received_by_id_users')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], name=op.f('fk_use_requests_registered_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_use_requests'))
    )
    with op.batch_alter_table('use_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_use_requests_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_use_requests_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_use_requests_state'), ['state'], unique=False)

    op.create_table('destruction_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('disposal_list_id', sa.Integer(), nullable=False),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_destruction_records_customer_id_customers')),
    sa.ForeignKeyConstraint(['disposal_list_id'], ['disposal_lists.id'], name=op.f('fk_destruction_records_disposal_list_id_disposal_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_records')),
    sa.UniqueConstraint('record_sha256', name=op.f('uq_destruction_records_record_sha256'))
    )
    with op.batch_alter_table('destruction_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_destruction_records_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_records_disposal_list_id'), ['disposal_list_id'], unique=False)

    op.create_table('filing_obligations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_event_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('working_days', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('calendar_error', sa.String(length=200), nullable=True),
    sa.Column('required_doc_types', sa.JSON(), nullable=False),
    sa.Column('responsible_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['business_event_id'], ['business_events.id'], name=op.f('fk_filing_obligations_business_event_id_business_events')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_filing_obligations_customer_id_customers')),
    sa.ForeignKeyConstraint(['responsible_id'], ['users.id'], name=op.f('fk_filing_obligations_responsible_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_filing_obligations')),
    sa.UniqueConstraint('business_event_id', name=op.f('uq_filing_obligations_business_event_id'))
    )
    with op.batch_alter_table('filing_obligations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_filing_obligations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_filing_obligations_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_filing_obligations_responsible_id'), ['responsible_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_filing_obligations_state'), ['state'], unique=False)

    op.create_table('disposal_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('disposal_list_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('eligible_on', sa.Date(), nullable=False),
    sa.Column('withdrawn', sa.Boolean(), nullable=False),
    sa.Column('destruction_record_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_disposal_entries_customer_id_customers')),
    sa.ForeignKeyConstraint(['destruction_record_id'], ['destruction_records.id'], name=op.f('fk_disposal_entries_destruction_record_id_destruction_records')),
    sa.ForeignKeyConstraint(['disposal_list_id'], ['disposal_lists.id'], name=op.f('fk_disposal_entries_disposal_list_id_disposal_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_entries')),
    sa.UniqueConstraint('disposal_list_id', 'customer_id', name=op.f('uq_disposal_entries_disposal_list_id'))
    )
    with op.batch_alter_table('disposal_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_entries_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disposal_entries_disposal_list_id'), ['disposal_list_id'], unique=False)

    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('dossier_item_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_by_id', sa.Integer(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by_id', sa.Integer(), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_legal_holds_customer_id_customers')),
    sa.ForeignKeyConstraint(['dossier_item_id'], ['dossier_items.id'], name=op.f('fk_legal_holds_dossier_item_id_dossier_items')),
    sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name=op.f('fk_legal_holds_lifted_by_id_users')),
    sa.ForeignKeyConstraint(['placed_by_id'], ['users.id'], name=op.f('fk_legal_holds_placed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_holds'))
    )
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_holds_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_holds_dossier_item_id'), ['dossier_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_legal_holds_lifted_at'), ['lifted_at'], unique=False)

    op.create_table('use_request_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('dossier_item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_item_id'], ['dossier_items.id'], name=op.f('fk_use_request_items_dossier_item_id_dossier_items')),
    sa.ForeignKeyConstraint(['request_id'], ['use_requests.id'], name=op.f('fk_use_request_items_request_id_use_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_use_request_items')),
    sa.UniqueConstraint('request_id', 'dossier_item_id', name=op.f('uq_use_request_items_request_id'))
    )
    with op.batch_alter_table('use_request_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_use_request_items_dossier_item_id'), ['dossier_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_use_request_items_request_id'), ['request_id'], unique=False)


def downgrade():
    with op.batch_alter_table('use_request_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_use_request_items_request_id'))
        batch_op.drop_index(batch_op.f('ix_use_request_items_dossier_item_id'))

    op.drop_table('use_request_items')
    with op.batch_alter_table('legal_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_holds_lifted_at'))
        batch_op.drop_index(batch_op.f('ix_legal_holds_dossier_item_id'))
        batch_op.drop_index(batch_op.f('ix_legal_holds_customer_id'))

    op.drop_table('legal_holds')
    with op.batch_alter_table('disposal_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_entries_disposal_list_id'))
        batch_op.drop_index(batch_op.f('ix_disposal_entries_customer_id'))

    op.drop_table('disposal_entries')
    with op.batch_alter_table('filing_obligations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_filing_obligations_state'))
        batch_op.drop_index(batch_op.f('ix_filing_obligations_responsible_id'))
        batch_op.drop_index(batch_op.f('ix_filing_obligations_due_on'))
        batch_op.drop_index(batch_op.f('ix_filing_obligations_customer_id'))

    op.drop_table('filing_obligations')
    with op.batch_alter_table('destruction_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_records_disposal_list_id'))
        batch_op.drop_index(batch_op.f('ix_destruction_records_customer_id'))

    op.drop_table('destruction_records')
    with op.batch_alter_table('use_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_use_requests_state'))
        batch_op.drop_index(batch_op.f('ix_use_requests_due_on'))
        batch_op.drop_index(batch_op.f('ix_use_requests_customer_id'))

    op.drop_table('use_requests')
    with op.batch_alter_table('retention_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_states_eligible_on'))

    op.drop_table('retention_states')
    with op.batch_alter_table('disposal_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_lists_state'))

    op.drop_table('disposal_lists')
    with op.batch_alter_table('box_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_box_slots_box_id'))

    op.drop_table('box_slots')
    op.drop_table('paper_boxes')
