"""The library's sample pack category weights (database.packs).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "category_weights",
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("weight >= 0", name="ck_category_weights_weight"),
        sa.PrimaryKeyConstraint("tag"),
    )


def downgrade() -> None:
    op.drop_table("category_weights")
