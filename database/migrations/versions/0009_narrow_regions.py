"""Searches read narrow rows and whole indexes: the regions' own peaks (~8 kB of JSON
each) move to ``region_peaks``, and every facet index (and the listing index) holds all
the columns a search filters on, so that a search started from any one of them checks
the others in the index instead of reading the table.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from database.models import JsonType

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEARCH_COLUMNS = ["bpm", "key", "content", "loudness_lufs", "duration_s", "file_id"]
OLD_LISTING = ["file_name", "index", "id", "bpm", "key", "content", "loudness_lufs", "duration_s"]


def upgrade() -> None:
    op.create_table(
        "region_peaks",
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("peaks", JsonType, nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("region_id"),
    )
    op.execute("INSERT INTO region_peaks (region_id, peaks) SELECT id, peaks FROM regions")
    # in place (SQLite 3.35 on): rebuilding the table, as a batch operation would, deletes
    # the rows that point at it while foreign keys are on
    op.execute("ALTER TABLE regions DROP COLUMN peaks")
    _index_listing(["file_name", "index", "id", *SEARCH_COLUMNS])
    for facet in SEARCH_COLUMNS[:-1]:
        op.drop_index(f"ix_regions_{facet}", table_name="regions")
        op.create_index(f"ix_regions_{facet}", "regions", [facet, "id", *(c for c in SEARCH_COLUMNS if c != facet)])


def downgrade() -> None:
    for facet in SEARCH_COLUMNS[:-1]:
        op.drop_index(f"ix_regions_{facet}", table_name="regions")
        op.create_index(f"ix_regions_{facet}", "regions", [facet])
    _index_listing(OLD_LISTING)
    op.add_column("regions", sa.Column("peaks", JsonType, nullable=True))
    op.execute("UPDATE regions SET peaks = (SELECT peaks FROM region_peaks WHERE region_id = regions.id)")
    op.drop_table("region_peaks")


def _index_listing(columns: list[str]) -> None:
    op.drop_index("ix_regions_listing", table_name="regions")
    op.create_index("ix_regions_listing", "regions", columns)
