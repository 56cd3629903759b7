"""Model tags and region vectors: tags stored normalised and indexed for search with a
minimum confidence; the classifier's tags copied into ``tags``; ``region_vectors`` for
similarity search, filled from the embeddings already stored.

Revision ID: 0004
Revises: 0003
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

def upgrade() -> None:
    op.create_table(
        "region_vectors",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region_id", "kind"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_region_vectors_kind_id", "region_vectors", ["kind", "id"], unique=False)
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_tag")
        batch_op.create_index("ix_tags_tag_confidence", ["tag", "confidence"], unique=False)
        batch_op.create_index("ix_tags_region_tag", ["region_id", "tag"], unique=False)
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE tags SET tag = lower(trim(tag))"))
    _backfill(connection)


def _backfill(connection: sa.Connection) -> None:
    """Derive the model tags and vectors of the analyses stored before this revision, with
    the store's own pure functions (the ones every later write uses), 500 rows at a time."""
    from database.store import EMBEDDING_PLUGIN, TAGGING_PLUGIN, model_tags, vectors

    select = sa.text("SELECT id, region_id, plugin, plugin_version, result FROM region_analysis "
                     "WHERE status = 'ok' AND plugin IN (:tagger, :embedder) AND id > :after ORDER BY id LIMIT 500")
    insert_tag = sa.text("INSERT INTO tags (region_id, tag, source, confidence, model_version, created_at) "
                         "VALUES (:region_id, :tag, 'model', :confidence, :version, :now)")
    insert_vector = sa.text("INSERT INTO region_vectors (region_id, kind, model, dim, vector) "
                            "VALUES (:region_id, :kind, :model, :dim, :vector)")
    now, after = datetime.now(UTC), 0
    while rows := connection.execute(select, {"tagger": TAGGING_PLUGIN, "embedder": EMBEDDING_PLUGIN,
                                              "after": after}).all():
        tags, found = [], []
        for row_id, region_id, plugin, version, result in rows:
            result = json.loads(result) if isinstance(result, str) else (result or {})
            if plugin == TAGGING_PLUGIN:
                tags += [{"region_id": region_id, "tag": tag, "confidence": confidence, "version": model, "now": now}
                         for tag, (confidence, model) in model_tags(result, version).items()]
            else:
                found += [{"region_id": region_id, "kind": v.kind, "model": v.model, "dim": v.dim, "vector": v.vector}
                          for v in vectors(result)]
            after = row_id
        for statement, params in ((insert_tag, tags), (insert_vector, found)):
            if params:
                connection.execute(statement, params)


def downgrade() -> None:
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_index("ix_tags_region_tag")
        batch_op.drop_index("ix_tags_tag_confidence")
        batch_op.create_index("ix_tags_tag", ["tag"], unique=False)
    op.execute("DELETE FROM tags WHERE source = 'model'")
    op.drop_index("ix_region_vectors_kind_id", table_name="region_vectors")
    op.drop_table("region_vectors")
