"""Workflow states checked by the database: each state column accepts only the values of its enum.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 13:30:00

"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# (table, column, allowed values) as of this revision; core/states.py holds the enums
STATE_COLUMNS = (
    ("captures", "review_state", ('pending', 'approved', 'rejected', 'has_issues', 'closed')),
    ("captures", "link_state", ('linked', 'unlinked')),
    ("captures", "record_state", ('kept', 'destroyed')),
    ("dossier_items", "record_state", ('kept', 'destroyed')),
    ("photos", "state", ('awaiting_upload', 'received', 'hashed', 'exif_read', 'time_analysed', 'derived', 'timestamped', 'ready', 'integrity_failed', 'destroyed')),
    ("pipeline_runs", "status", ('queued', 'running', 'retry_wait', 'done', 'failed')),
    ("photo_evidence", "tsa_status", ('pending', 'granted', 'failed')),
    ("log_checkpoints", "tsa_status", ('pending', 'granted', 'failed')),
    ("evidence_exports", "state", ('awaiting_approval', 'rejected', 'queued', 'running', 'done', 'failed', 'expired', 'destroyed')),
    ("uploads", "state", ('receiving', 'finishing', 'finished', 'rejected', 'terminated', 'expired', 'swept')),
    ("filing_obligations", "state", ('open', 'due_soon', 'overdue', 'met', 'met_late', 'no_calendar')),
    ("use_requests", "state", ('registered', 'pending', 'approved', 'rejected', 'out', 'returned', 'completed')),
    ("disposal_lists", "state", ('proposed', 'approved', 'rejected', 'executed')),
    ("customers", "status", ('active', 'closed')),
)


def _condition(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    for table, column, values in STATE_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(f"ck_{table}_{column}", _condition(column, values))


def downgrade():
    for table, column, _values in reversed(STATE_COLUMNS):
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_{column}", type_="check")
