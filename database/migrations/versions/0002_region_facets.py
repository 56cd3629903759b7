"""Region search facets: bpm, key, loudness and content label, indexed.

Revision ID: 0002
Revises: 0001
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Column ← (plugin, result key); the same as database.store.FACETS when this was written.
FACETS = {
    "bpm": ("tempo_meter", "bpm", sa.Float()),
    "key": ("key_finder", "key", sa.String(length=16)),
    "loudness_lufs": ("features", "loudness_lufs", sa.Float()),
    "content": ("content", "label", sa.String(length=16)),
}


def upgrade() -> None:
    with op.batch_alter_table("regions", schema=None) as batch_op:
        for column, (_, _, kind) in FACETS.items():
            batch_op.add_column(sa.Column(column, kind, nullable=True))
            batch_op.create_index(batch_op.f(f"ix_regions_{column}"), [column], unique=False)
    _backfill()


def _backfill() -> None:
    """Fill the facets of regions analysed before this revision."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(
        "SELECT region_id, plugin, result FROM region_analysis WHERE status = 'ok' AND plugin IN :plugins"
    ).bindparams(sa.bindparam("plugins", expanding=True)), {"plugins": [p for p, _, _ in FACETS.values()]})
    values: dict[int, dict] = {}
    for region_id, plugin, result in rows:
        result = json.loads(result) if isinstance(result, str) else (result or {})
        for column, (source, key, _) in FACETS.items():
            if source == plugin and result.get(key) is not None:
                values.setdefault(region_id, {})[column] = result[key]
    for region_id, facets in values.items():
        assignments = ", ".join(f"{column} = :{column}" for column in facets)
        connection.execute(sa.text(f"UPDATE regions SET {assignments} WHERE id = :id"), {**facets, "id": region_id})


def downgrade() -> None:
    with op.batch_alter_table("regions", schema=None) as batch_op:
        for column in FACETS:
            batch_op.drop_index(batch_op.f(f"ix_regions_{column}"))
            batch_op.drop_column(column)
