"""What a tagger reads and writes in the library, on each backend: labels from region and
file tags, ambiguous regions, negatives, scanning batches and its model tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core import taggers
from core.tagger import TaggerError
from database import queries
from database import taggers as store
from database.models import RegionVector
from database.session import Database
from database.tags import Target, add_user_tags
from tests.library.helpers import add_file, classified


def _vector(session, region_id: int, values: list[float], model: str = "m1") -> None:
    raw = np.array(values, "<f2").tobytes()
    session.add(RegionVector(region_id=region_id, kind="features", model=model, dim=len(values), vector=raw))


def test_labels_negatives_ambiguity_and_model_tags(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    kick, both, pad, plain, classified_kick = add_file(
        database, "/lib/a.wav", [[], [], [], [], classified("kick", 0.9)])
    (filed,) = add_file(database, "/lib/b.wav", [[]])
    with database.session() as session:
        add_user_tags(session, Target(region_id=kick), ["kick"])
        add_user_tags(session, Target(region_id=both), ["kick", "snare"])
        add_user_tags(session, Target(region_id=pad), ["pad"])
        file_id = queries.get_region(session, filed)["file_id"]
        add_user_tags(session, Target(file_id=file_id), ["snare"])  # a file's tag labels its regions
        for i, region in enumerate((kick, both, pad, plain, classified_kick, filed)):
            _vector(session, region, [float(i), 1.0])
    with database.session() as session:
        data = store.training_set(session, ["kick", "snare"], "features")
        assert (data.region_ids, data.labels, data.ambiguous) == ([kick, filed], ["kick", "snare"], 1)
        assert data.negative_ids == [pad] and data.vectors.shape == (2, 2) and data.model == "m1"
        assert store.training_set(session, ["kick", "snare"], "features", ["texture"]).negative_ids == []
        assert store.training_set(session, ["kick"], "yamnet").vectors.shape == (0, 0)
        monkeypatch.setattr(store, "SCAN_BATCH", 2)
        batches = list(store.unlabelled(session, ["kick", "snare"], "features", "m1"))
        assert [ids for ids, _ in batches] == [[pad, plain], [classified_kick]]  # labelled ones left out
        written = store.write_tags(session, "tagger drums v1", {pad: None, plain: ("kick", 0.7),
                                                                classified_kick: ("kick", 0.8)})
        assert written == {"tagged": 1, "kept": 1}  # the classifier's "kick" stays as it was
        assert store.write_tags(session, "tagger drums v2", {plain: ("snare", 0.6)}) == {"tagged": 1, "kept": 0}
        tags = queries.region_tags(session, [plain, classified_kick])
        assert tags[plain] == [{"tag": "snare", "probability": 0.6, "source": "model"}]  # v1's tag replaced
        assert tags[classified_kick] == [{"tag": "kick", "probability": 0.9, "source": "model"}]


def test_training_needs_two_classes_with_two_examples(database: Database, tmp_path: Path) -> None:
    (kick,) = add_file(database, "/lib/one.wav", [[]])
    with database.session() as session:
        add_user_tags(session, Target(region_id=kick), ["kick"])
        _vector(session, kick, [1.0, 0.0])
    with pytest.raises(TaggerError, match="short: kick [(]1[)], snare [(]0[)]"):
        taggers.train(database, tmp_path, "drums", ["kick", "snare"], "features")
    with pytest.raises(TaggerError, match="no tagger named 'drums'"):
        taggers.saved_report(tmp_path, "drums")


def test_analysing_a_region_again_keeps_a_taggers_tags(database: Database) -> None:
    from sqlalchemy import select

    from database.models import Region
    from database.store import upsert_analyses

    (region_id,) = add_file(database, "/lib/again.wav", [classified("kick", 0.9)])
    with database.session() as session:
        store.write_tags(session, "tagger drums v1", {region_id: ("warm", 0.8)})
    with database.session() as session:
        region = session.scalar(select(Region).where(Region.id == region_id))
        upsert_analyses(region, classified("snare", 0.7))
    with database.session() as session:
        assert queries.region_tags(session, [region_id])[region_id] == [
            {"tag": "warm", "probability": 0.8, "source": "model"},
            {"tag": "snare", "probability": 0.7, "source": "model"}]  # the classifier's kick is gone
