"""The tag index orders a tag's regions by id, not by confidence: a search for a tag reads
its regions' ids in order, so the regions it looks up next lie in order too (the minimum
confidence is checked in the index either way; "no confidence or at least x" is not one
range it could seek).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tags_tag_confidence_region", table_name="tags")
    op.create_index("ix_tags_tag_region_confidence", "tags", ["tag", "region_id", "confidence"])


def downgrade() -> None:
    op.drop_index("ix_tags_tag_region_confidence", table_name="tags")
    op.create_index("ix_tags_tag_confidence_region", "tags", ["tag", "confidence", "region_id"])
