"""Tags normalised as the code does it (0004 only lower-cased and trimmed them in SQL),
their duplicates removed, and each target's tags unique: the old unique constraint over
(file_id, region_id, tag, source) never held, as one of the two ids is always NULL.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _normalise(text: str) -> str:
    """database.models.normalise_tag as it was when this was written."""
    return " ".join(text.split()).lower()


def upgrade() -> None:
    connection = op.get_bind()
    kept: dict[tuple, int] = {}
    for tag_id, file_id, region_id, tag, source in connection.execute(sa.text(
            "SELECT id, file_id, region_id, tag, source FROM tags ORDER BY id")).all():
        normal = _normalise(tag)
        key = (file_id, region_id, normal, source)
        if key in kept or not normal:
            connection.execute(sa.text("DELETE FROM tags WHERE id = :id"), {"id": tag_id})
            continue
        kept[key] = tag_id
        if normal != tag:
            connection.execute(sa.text("UPDATE tags SET tag = :tag WHERE id = :id"), {"tag": normal, "id": tag_id})
    where_region, where_file = sa.text("region_id IS NOT NULL"), sa.text("file_id IS NOT NULL")
    op.create_index("uq_tags_region_tag_source", "tags", ["region_id", "tag", "source"], unique=True,
                    sqlite_where=where_region, postgresql_where=where_region)
    op.create_index("uq_tags_file_tag_source", "tags", ["file_id", "tag", "source"], unique=True,
                    sqlite_where=where_file, postgresql_where=where_file)


def downgrade() -> None:
    op.drop_index("uq_tags_file_tag_source", table_name="tags")
    op.drop_index("uq_tags_region_tag_source", table_name="tags")
