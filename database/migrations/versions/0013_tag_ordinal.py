"""The classifier's order of a region's model tags (``tags.ordinal``, 0 first; None for a
person's tags and trained taggers'): lists show a region's first tags as the classifier
ranks them, not its most probable ones (Music and the instrument families, which it puts
last). Filled as classifier results are written: classifier 1.6.0 came with it, so a scan
analyses every region again; until then a region's model tags list from the most probable.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tags", sa.Column("ordinal", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_column("ordinal")
