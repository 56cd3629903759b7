"""A covering index for the default listing (by file name, then region): a page of
regions filtered by bpm, key, content, loudness or duration is read from the index
alone and stops after its rows, instead of sorting every match.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = ["file_name", "index", "id", "bpm", "key", "content", "loudness_lufs", "duration_s"]


def upgrade() -> None:
    op.create_index("ix_regions_listing", "regions", COLUMNS, unique=False)
    op.drop_index("ix_regions_file_name_index", table_name="regions")


def downgrade() -> None:
    op.create_index("ix_regions_file_name_index", "regions", ["file_name", "index"], unique=False)
    op.drop_index("ix_regions_listing", table_name="regions")
