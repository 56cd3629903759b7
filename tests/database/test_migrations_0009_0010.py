"""Migrations 0009 (regions' peaks in their own table, facet indexes holding every
search column) and 0010 (a tag's regions by id) up and down, on each backend, with the
stored peaks kept both ways."""

from __future__ import annotations

import json

from sqlalchemy import inspect, text

from database import queries
from database.session import Database
from tests.migrations import downgrade

PEAKS = {"sample_rate": 22_050, "samples_per_pixel": 64, "length": 2, "min": [-0.5, -0.25], "max": [0.5, 0.75]}


def _columns(database: Database, table: str) -> set[str]:
    return {column["name"] for column in inspect(database.engine).get_columns(table)}


def _index_columns(database: Database, name: str, table: str = "regions") -> list[str]:
    return next(ix["column_names"] for ix in inspect(database.engine).get_indexes(table) if ix["name"] == name)


def test_peaks_move_to_their_own_table_and_back(unmigrated: Database) -> None:
    unmigrated.migrate("0008")
    with unmigrated.engine.begin() as connection:
        connection.execute(text("INSERT INTO files (id, path, name, content_hash, size_bytes, status, analyzed_at) "
                                "VALUES (1, '/a.wav', 'a.wav', 'x', 1, 'ok', '2026-01-01')"))
        connection.execute(text("INSERT INTO regions (id, file_id, file_name, \"index\", start_s, end_s, "
                                "duration_s, bpm, peaks) VALUES (1, 1, 'a.wav', 0, 0, 5, 5, 120, :peaks)"),
                           {"peaks": json.dumps(PEAKS)})
        connection.execute(text("INSERT INTO tags (region_id, tag, source, created_at) "
                                "VALUES (1, 'kick', 'user', '2026-01-01')"))
    unmigrated.migrate()
    assert "peaks" not in _columns(unmigrated, "regions")
    assert _index_columns(unmigrated, "ix_regions_bpm") == ["bpm", "id", "key", "content", "loudness_lufs",
                                                          "duration_s", "file_id"]
    assert _index_columns(unmigrated, "ix_tags_tag_region_confidence", "tags") == ["tag", "region_id", "confidence"]
    with unmigrated.session() as session:  # the region, its tag and its peaks are all still there
        region = queries.get_region(session, 1)
        assert region["peaks"] == PEAKS and [t["tag"] for t in region["tags"]] == ["kick"]
        assert queries.search_regions(session, queries.RegionQuery(bpm_min=100, tag="kick"))[0] == 1
    downgrade(unmigrated, "0008")
    assert "region_peaks" not in inspect(unmigrated.engine).get_table_names()
    assert _index_columns(unmigrated, "ix_regions_bpm") == ["bpm"]
    assert _index_columns(unmigrated, "ix_tags_tag_confidence_region", "tags") == ["tag", "confidence", "region_id"]
    with unmigrated.engine.connect() as connection:
        stored = connection.execute(text("SELECT peaks FROM regions WHERE id = 1")).scalar_one()
    assert (json.loads(stored) if isinstance(stored, str) else stored) == PEAKS
