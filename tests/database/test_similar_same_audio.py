"""Similar search puts the same recording first: white, pink and brown noises, some
band-passed, at −40 … −12 dBFS (tests/audio_corpus, tuning split: YAMNet finds another
noise nearer than the copy for some of them), written again as MP3 3 dB quieter and Ogg
Vorbis 6 dB quieter, analysed by the engine; the fingerprint re-rank in
queries.similar_regions (API, CLI and bench) finds the copies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import delete, select

from core.engine import AudioSamplerEngine
from database import queries
from database.models import File, Region, RegionVector
from database.vector_index import VectorIndex
from tests import audio_corpus as ac
from tests import audio_factory as af
from tests.conftest import make_settings

NOISES = 12
COPIES = {"mp3": (".mp3", -3.0), "ogg": (".ogg", -6.0)}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AudioSamplerEngine, dict[int, int]]]:
    """The engine over the noises and their copies; region id → which noise it is."""
    folder = tmp_path_factory.mktemp("same-audio")
    written = {}
    for seed in range(NOISES):
        noise = ac.noise(seed, "tune", 3.0)
        written[af.write(folder / f"noise{seed}.wav", noise)] = seed
        for name, (extension, gain_db) in COPIES.items():
            written[af.write(folder / f"noise{seed}_{name}{extension}", noise * 10 ** (gain_db / 20))] = seed
    with AudioSamplerEngine(make_settings(folder / "data", plugins=["embeddings"])) as engine:
        reports = list(engine.analyze_paths(list(written)))
        assert all(r["status"] == "ok" and len(r["regions"]) == 1 for r in reports), reports
        with engine.database.session() as session:
            which = {region: written[Path(path)] for region, path in session.execute(
                select(Region.id, File.path).join(File)).all()}
        yield engine, which


def _similar(engine: AudioSamplerEngine, region_id: int, count: int = 5) -> list[dict]:
    with engine.database.session() as session:
        return queries.similar_regions(session, VectorIndex("yamnet"), region_id, count)


def test_the_same_recording_is_the_top_hit_in_every_format(library) -> None:
    engine, which = library
    for region, noise in which.items():
        found = _similar(engine, region)
        copies = [row for row in found if which[row["id"]] == noise]
        assert len(copies) == len(COPIES) and found[: len(COPIES)] == copies, (region, found)
        assert all(row["same_audio"] for row in copies) and not any(r["same_audio"] for r in found[len(COPIES):])
    with engine.database.session() as session:
        kinds = dict(session.execute(select(RegionVector.kind, RegionVector.dim).distinct()).all())
    assert kinds == {"yamnet": 1024, "yamnet_layers": 2176, "features": 38, "fingerprint": 257}


def test_a_nearer_vector_of_another_recording_comes_after_the_copies(library) -> None:
    """Another noise given this noise's very YAMNet vector (cosine 1, as a sound of one
    kind can come nearer than the copy in a large library) still ranks after the copies,
    which its fingerprint tells apart; by cosine alone it would come first."""
    engine, which = library
    region, noise = next(iter(which.items()))
    decoy = next(r for r, n in which.items() if n != noise)
    with engine.database.session() as session:
        mine = session.scalar(select(RegionVector).where(RegionVector.region_id == region,
                                                         RegionVector.kind == "yamnet"))
        old = session.scalar(select(RegionVector).where(RegionVector.region_id == decoy, RegionVector.kind == "yamnet"))
        saved = (old.model, old.dim, old.vector)
        session.delete(old)
        session.flush()
        session.add(RegionVector(region_id=decoy, kind="yamnet", model=mine.model, dim=mine.dim, vector=mine.vector))
    try:
        found = _similar(engine, region)
        assert [which[row["id"]] for row in found[:2]] == [noise, noise] and all(r["same_audio"] for r in found[:2])
        assert found[2]["id"] == decoy and found[2]["score"] > 0.999 and not found[2]["same_audio"]  # float16
        assert max(row["score"] for row in found[:2]) < found[2]["score"]
    finally:
        with engine.database.session() as session:
            session.execute(delete(RegionVector).where(RegionVector.region_id == decoy, RegionVector.kind == "yamnet"))
            session.add(RegionVector(region_id=decoy, kind="yamnet", model=saved[0], dim=saved[1], vector=saved[2]))


def test_without_fingerprints_the_order_is_the_cosine(library) -> None:
    engine, which = library
    region = next(iter(which))
    with engine.database.session() as session:
        kept = session.scalar(select(RegionVector).where(RegionVector.region_id == region,
                                                         RegionVector.kind == queries.FINGERPRINT_KIND))
        saved = (kept.model, kept.dim, kept.vector)
        session.execute(delete(RegionVector).where(RegionVector.id == kept.id))
    try:
        found = _similar(engine, region, 10)
        assert [row["score"] for row in found] == sorted((row["score"] for row in found), reverse=True)
        assert not any(row["same_audio"] for row in found)
    finally:
        with engine.database.session() as session:
            session.add(RegionVector(region_id=region, kind=queries.FINGERPRINT_KIND, model=saved[0], dim=saved[1],
                                     vector=saved[2]))
    assert _similar(engine, region)[0]["same_audio"]


def test_the_api_says_which_hits_are_the_same_recording(library) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    engine, which = library
    region, noise = next(iter(which.items()))
    with TestClient(create_app(engine.settings, engine=engine)) as client:
        page = client.get(f"/api/regions/{region}/similar", params={"k": 4})
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        assert [item["same_audio"] for item in items] == [True, True, False, False]
        assert {which[item["id"]] for item in items[:2]} == {noise}
        assert np.all(np.diff([item["score"] for item in items[2:]]) <= 0)
