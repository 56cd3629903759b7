"""The similarity index over region_vectors, and similar-region search with filters."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, select

from database import queries, store, vector_index
from database.models import Region, RegionVector
from database.session import Database
from database.vector_index import VectorIndex
from plugins.embeddings import encode

PEAKS = {"sample_rate": 22_050, "samples_per_pixel": 1, "length": 1, "min": [0.0], "max": [0.1]}
DIM = 64


def _vectors(count: int, seed: int) -> np.ndarray:
    """float32 [count, DIM]: points around 20 centres, like sounds of a few kinds."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, DIM))
    return centres[rng.integers(0, 20, count)] + 0.6 * rng.normal(size=(count, DIM))


def _store(database: Database, vectors: np.ndarray, name: str, bpm: float = 120.0) -> list[int]:
    """One file with a region per vector; returns the region ids."""
    records = [store.RegionRecord(i, float(i), i + 0.5, PEAKS, [
        store.AnalysisRecord("embeddings", "1.0.0", "ok", {"yamnet": encode(v, "test-model")}),
        store.AnalysisRecord("tempo_meter", "1", "ok", {"bpm": bpm})]) for i, v in enumerate(vectors)]
    with database.session() as session:
        file = store.replace_file(session, store.FileFacts(f"/lib/{name}", name.ljust(64, "0"), 1, {}),
                                  regions=records)
        return [region.id for region in file.regions]


def _near(vectors: np.ndarray, seed: int) -> np.ndarray:
    """The same sounds a little changed (another format, another gain)."""
    return vectors + 0.05 * np.random.default_rng(seed).normal(size=vectors.shape)


@pytest.fixture
def library(database: Database) -> tuple[Database, list[int], list[int]]:
    originals = _vectors(300, seed=1)
    first = _store(database, originals, "originals.wav", bpm=120.0)
    second = _store(database, _near(originals, seed=2), "copies.flac", bpm=90.0)
    return database, first, second


def _similar(database: Database, index: VectorIndex, region_id: int, count: int = 5, **filters) -> list[dict]:
    with database.session() as session:
        query = queries.RegionQuery(**filters) if filters else None
        return queries.similar_regions(session, index, region_id, count, query)


@pytest.mark.parametrize("ivf_from", [10_000, 100], ids=["flat", "ivf"])
def test_the_copy_of_a_sound_is_its_nearest_region(library, monkeypatch, ivf_from: int) -> None:
    monkeypatch.setattr(vector_index, "IVF_FROM", ivf_from)
    database, originals, copies = library
    index = VectorIndex("yamnet")
    hits = [_similar(database, index, region_id, 3)[0]["id"] for region_id in originals[:100]]
    assert hits == copies[:100]
    assert index.state.layout.startswith("IDMap,SQ8" if ivf_from > 600 else "IVF")
    best = _similar(database, index, copies[7], 3)
    assert best[0]["id"] == originals[7] and best[0]["score"] > 0.99 > best[1]["score"]
    assert best[0]["name"] == "originals.wav" and best[0]["bpm"] == 120.0


def test_filters_choose_among_the_regions_that_match(library) -> None:
    database, originals, copies = library
    index = VectorIndex("yamnet")
    found = _similar(database, index, originals[3], 10, bpm_max=100.0)
    assert found[0]["id"] == copies[3] and {row["bpm"] for row in found} == {90.0}
    among_originals = _similar(database, index, originals[3], 10, bpm_min=100.0)
    assert originals[3] not in [row["id"] for row in among_originals]
    assert {row["bpm"] for row in among_originals} == {120.0} and len(among_originals) == 10
    assert _similar(database, index, originals[3], 10, text="no such name") == []


def test_a_region_without_a_vector_has_no_similar_regions(database: Database) -> None:
    with database.session() as session:
        file = store.replace_file(session, store.FileFacts("/lib/a.wav", "a" * 64, 1, {}),
                                  regions=[store.RegionRecord(0, 0.0, 1.0, PEAKS)])
        region_id = file.regions[0].id
    assert _similar(database, VectorIndex("yamnet"), region_id) is None


def test_new_rows_are_added_and_deleted_ones_dropped(library, monkeypatch) -> None:
    monkeypatch.setattr(vector_index, "SYNC_INTERVAL_S", 0.0)
    database, originals, copies = library
    index = VectorIndex("yamnet")
    assert _similar(database, index, originals[0])[0]["id"] == copies[0]
    trained_on = index.state.trained_on
    third = _store(database, _near(_vectors(300, seed=1), seed=3), "third.ogg")
    assert {row["id"] for row in _similar(database, index, originals[0], 2)} == {copies[0], third[0]}
    assert (index.state.entries, index.state.trained_on) == (900, trained_on)  # caught up, not rebuilt
    with database.session() as session:
        session.execute(delete(Region).where(Region.id.in_(copies + third)))
    assert _similar(database, index, originals[0])[0]["id"] not in copies + third
    assert index.state.entries == 300  # two thirds gone: rebuilt


def test_a_row_committed_late_under_the_last_id_seen_is_added(library, monkeypatch) -> None:
    monkeypatch.setattr(vector_index, "SYNC_INTERVAL_S", 0.0)
    database, originals, copies = library
    index = VectorIndex("yamnet")
    with database.session() as session:  # a writer holds this row back while later rows are committed
        row = session.scalar(select(RegionVector).where(RegionVector.region_id == copies[5]))
        vector, row_id = row.vector, row.id
        session.delete(row)
    with database.session() as session:
        index.sync(session)
    assert index.state.last_id > row_id and _similar(database, index, originals[5])[0]["id"] != copies[5]
    with database.session() as session:  # ... and commits it now, under the last id the index saw
        session.add(RegionVector(id=row_id, region_id=copies[5], kind="yamnet", model="test-model", dim=DIM,
                                 vector=vector))
    entries = index.state.entries
    assert _similar(database, index, originals[5])[0]["id"] == copies[5]
    assert index.state.entries == entries + 1


def test_the_index_is_kept_on_disk_and_a_damaged_copy_rebuilt(library, tmp_path, monkeypatch) -> None:
    database, originals, copies = library
    folder = tmp_path / "index"
    index = VectorIndex("yamnet", folder)
    assert _similar(database, index, originals[1])[0]["id"] == copies[1]
    index.save()
    reopened = VectorIndex("yamnet", folder)
    assert reopened.state == index.state
    built = []
    monkeypatch.setattr(VectorIndex, "_build", lambda self, session, live: built.append(live))
    with database.session() as session:
        reopened.sync(session)
    assert built == []  # taken from disk
    (folder / "yamnet.faiss").write_bytes(b"not an index")
    assert VectorIndex("yamnet", folder).state is None  # the next sync builds it anew
