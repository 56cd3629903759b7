"""An index of the files in the order they were analysed (``analyzed_at``, then id): a search
sorted by that date reads the files along it, and each file's regions by ``file_id``, until
its page is full, instead of sorting every match.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_files_analyzed_at", "files", ["analyzed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_files_analyzed_at", table_name="files")
