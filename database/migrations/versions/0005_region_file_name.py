"""Sorting regions by name walks an index: the file's name copied onto its regions, and
tag lookups that read only the index.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_name", sa.Text(), nullable=True))
    op.execute("UPDATE regions SET file_name = (SELECT files.name FROM files WHERE files.id = regions.file_id)")
    op.create_index("ix_regions_file_name_index", "regions", ["file_name", "index"], unique=False)
    op.drop_index("ix_tags_tag_confidence", table_name="tags")
    op.create_index("ix_tags_tag_confidence_region", "tags", ["tag", "confidence", "region_id"], unique=False)
    op.create_index("ix_tags_tag_file", "tags", ["tag", "file_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tags_tag_file", table_name="tags")
    op.drop_index("ix_tags_tag_confidence_region", table_name="tags")
    op.create_index("ix_tags_tag_confidence", "tags", ["tag", "confidence"], unique=False)
    op.drop_index("ix_regions_file_name_index", table_name="regions")
    with op.batch_alter_table("regions", schema=None) as batch_op:
        batch_op.drop_column("file_name")
