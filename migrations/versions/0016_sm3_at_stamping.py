"""SM3 is computed at stamping, not while uploading: a blob's SM3 is NULL until it is stamped.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 16:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('blobs') as batch:
        batch.alter_column('sm3', existing_type=sa.String(length=64), nullable=True)


def downgrade():
    unhashed = op.get_bind().execute(sa.text("SELECT count(*) FROM blobs WHERE sm3 IS NULL")).scalar()
    if unhashed:
        # the old schema needs every SM3: let stamping finish (it records them) before going back
        raise RuntimeError(f"{unhashed} blobs have no SM3 yet; stamp them before downgrading past 0015")
    with op.batch_alter_table('blobs') as batch:
        batch.alter_column('sm3', existing_type=sa.String(length=64), nullable=False)
