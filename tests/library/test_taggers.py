"""Trainable taggers on a library of generated one-shots of four kinds, tagged in part
by hand: training on held-out data, the health report, scanning, and --strict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

import main
from core import tagger, tagger_report, taggers, yamnet
from core.embedding_cache import slug
from core.engine import AudioSamplerEngine
from core.tagger import TaggerError
from database import queries
from database.models import File, Region, RegionVector
from database.tags import Target, add_user_tags
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.library.one_shots import KINDS, one_shot

#: Sounds made of each kind; the first TAGGED are tagged by hand, the rest left to the scan.
PER_KIND = 18
TAGGED = 14
TEXTURES = 8


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AudioSamplerEngine, dict[int, str]]]:
    """The engine (embeddings only) over the analysed one-shots; region id → kind of the untagged ones."""
    folder = tmp_path_factory.mktemp("taggers")
    with AudioSamplerEngine(make_settings(folder / "data", plugins=["embeddings"])) as engine:
        paths = {(kind, i): af.write(folder / f"{kind}_{i:02d}.wav", one_shot(kind, 100 * k + i))
                 for k, kind in enumerate(KINDS) for i in range(PER_KIND)}
        paths |= {("texture", i): af.write(folder / f"texture_{i:02d}.wav", one_shot("texture", 900 + i))
                  for i in range(TEXTURES)}
        reports = {report["path"]: report for report in engine.analyze_paths(list(paths.values()))}
        assert all(r["status"] == "ok" and len(r["regions"]) == 1 for r in reports.values()), reports
        untagged = {}
        with engine.database.session() as session:
            for (kind, i), path in paths.items():
                region = session.scalar(queries.select(queries.Region.id).join(queries.File)
                                        .where(queries.File.path == str(path)))
                if kind == "texture" or i < TAGGED:
                    add_user_tags(session, Target(region_id=region), [kind])
                else:
                    untagged[region] = kind
        yield engine, untagged


@pytest.mark.slow
def test_train_report_scan_and_strict(library, tmp_path: Path) -> None:
    engine, untagged = library
    folder = tmp_path / "taggers"
    before = taggers.health(engine.database, list(KINDS), "yamnet", ["texture"])
    assert before["counts"] == dict.fromkeys(KINDS, TAGGED) and before["negatives"] == TEXTURES
    assert all(gate["passed"] for gate in before["gates"])

    report = taggers.train(engine.database, folder, "drums", list(KINDS), "yamnet", ["texture"], seed=1)
    held = report["held_out"]
    assert held["macro_f1"] >= 0.9, json.dumps(held, indent=2)
    assert held["examples"] == 14 and sum(map(sum, held["confusion"])) == 14  # a quarter of 56
    assert report["calibrated"] and report["classifier"] == "logistic regression"  # 56 examples: tiny
    for metrics in held["classes"].values():
        for name in ("precision", "recall", "f1"):
            low, high = metrics["ci"][name]
            assert 0 <= low <= metrics[name] <= high <= 1
    assert held["macro_f1_ci"][0] <= held["macro_f1"] <= held["macro_f1_ci"][1]
    assert held["open_set"]["negatives"] == TEXTURES and 0 <= held["open_set"]["auroc"] <= 1
    assert 0 <= held["open_set"]["fpr_at_95_tpr"] <= 1
    assert Path(report["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert taggers.saved_report(folder, "drums") == report

    summary = taggers.scan(engine.database, folder, "drums", threshold=0.0)
    assert summary["scanned"] == len(untagged) + TEXTURES and summary["unknown"] == 0
    with engine.database.session() as session:
        found = queries.region_tags(session, list(untagged))
    right = sum(any(t["tag"] == kind and t["source"] == "model" for t in found[region])
                for region, kind in untagged.items())
    assert right / len(untagged) >= 0.9
    tag = next(t for t in found[next(iter(untagged))] if t["source"] == "model")
    assert 0 < tag["probability"] <= 1
    again = taggers.scan(engine.database, folder, "drums", threshold=1.01)  # everything unknown: its tags go
    assert again["unknown"] == again["scanned"] and sum(again["tags"].values()) == 0
    with engine.database.session() as session:
        assert not any(queries.region_tags(session, list(untagged)).values())


def test_strict_fails_on_a_class_of_three(library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture) -> None:
    engine, untagged = library
    monkeypatch.setattr("core.config._current", engine.settings)
    with engine.database.session() as session:
        for region in list(untagged)[:3]:
            add_user_tags(session, Target(region_id=region), ["rare"])
    classes = "kick,snare,rare"
    assert main.main(["tagger", "report", "--classes", classes]) == 0
    assert main.main(["tagger", "report", "--classes", classes, "--strict"]) == 1
    assert "[FAIL] min_per_class: at least 6 examples per class; short: rare (3)" in capsys.readouterr().out
    assert main.main(["tagger", "train", "few", "--classes", classes, "--strict"]) == 1
    assert "a readiness gate failed" in capsys.readouterr().err
    assert main.main(["tagger", "train", "few", "--classes", classes, "--json"]) == 0  # trains, uncalibrated
    trained = json.loads(capsys.readouterr().out)
    assert trained["calibrated"] is False and trained["gates"][1]["passed"] is False
    assert main.main(["tagger", "report", "few", "--strict"]) == 1
    printed = capsys.readouterr().out
    assert printed.startswith("tagger few v1: kick, snare, rare on yamnet vectors; logistic regression, uncalibrated")
    assert "[FAIL] min_per_class" in printed and "macro F1" in printed and "open set: threshold" in printed
    assert main.main(["tagger", "scan", "few", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scanned"] > 0
    assert main.main(["tagger", "scan", "nothing"]) == 2
    assert main.main(["tagger", "report", "nothing"]) == 2
    assert main.main(["tagger", "report"]) == 2
    assert main.main(["tagger", "train", "Bad Name", "--classes", classes]) == 2
    assert main.main(["tagger", "train", "one", "--classes", "kick"]) == 2
    assert "at least 2 classes" in capsys.readouterr().err


def test_balanced_sampling_and_the_small_data_paths() -> None:
    labels = np.array(["big"] * 500 + ["small"] * 6)
    picks = tagger.balanced_sample(labels, 4000, np.random.default_rng(0))
    assert abs(np.mean(labels[picks] == "small") - 0.5) < 0.03
    assert len(np.unique(picks[labels[picks] == "small"])) == 6  # every small item drawn
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, (40, 8)), rng.normal(3, 1, (40, 8)), rng.normal(-3, 1, (4, 8))])
    y = ["a"] * 40 + ["b"] * 40 + ["c"] * 4
    model, info = tagger.fit(x.astype(np.float32), y)
    assert info == {"classifier": "hist gradient boosting", "calibrated": False, "counts": {"a": 40, "b": 40, "c": 4}}
    assert model.predict(x[:2]).tolist() == ["a", "a"]
    kept = tagger.Tagger(["a", "b", "c"], model, threshold=0.99)
    assert {label for label, _ in kept.label(np.full((1, 8), 30.0, np.float32))} <= {"unknown", "b"}
    with pytest.raises(TaggerError, match="two classes"):
        tagger.fit(x[:5], ["a"] * 5)
    assert tagger.open_set_threshold(np.array([])) == 0.0
    assert tagger_report.open_set(np.array([0.9]), np.array([]), 0.5) == {
        "auroc": None, "fpr_at_95_tpr": None, "negatives": 0, "threshold": 0.5}


@pytest.mark.slow
def test_the_api_trains_scans_and_reports(library) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    engine, untagged = library
    with TestClient(create_app(engine.settings, engine=engine)) as client:
        health = client.get("/api/taggers/health", params=[("classes", k) for k in KINDS])
        assert health.status_code == 200 and health.json()["counts"]["kick"] == TAGGED
        trained = client.post("/api/taggers/api-drums/train", json={"classes": list(KINDS), "strict": True})
        assert trained.status_code == 200, trained.text
        assert trained.json()["held_out"]["macro_f1"] >= 0.9
        assert client.get("/api/taggers/api-drums/report").json()["version"] == 1
        image = client.get("/api/taggers/api-drums/confusion.png")
        assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"
        scanned = client.post("/api/taggers/api-drums/scan", json={})
        assert scanned.status_code == 200 and scanned.json()["scanned"] >= len(untagged)
        assert client.get("/api/taggers/none/report").status_code == 404
        strict = client.post("/api/taggers/x/train", json={"classes": ["kick", "nothing"], "strict": True})
        assert strict.status_code == 400 and "readiness gate failed" in strict.json()["error"]
        assert client.post("/api/taggers/x/train", json={"classes": ["kick", "nothing"]}).status_code == 400
        assert client.post("/api/taggers/Bad%20Name/train", json={"classes": ["a", "b"]}).status_code == 422


@pytest.mark.slow
def test_a_tagger_on_the_multi_layer_vectors(library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture) -> None:
    """The embeddings plugin stores YAMNet's multi-layer vector beside its embedding; a
    tagger chooses it with --kind, and its report names the model."""
    engine, untagged = library
    report = taggers.train(engine.database, tmp_path, "layers", list(KINDS), "yamnet_layers", ["texture"], seed=1)
    assert report["kind"] == "yamnet_layers" and report["vector_model"] == yamnet.layers_model_name()
    assert report["held_out"]["macro_f1"] >= 0.9, json.dumps(report["held_out"], indent=2)
    summary = taggers.scan(engine.database, tmp_path, "layers", threshold=0.0)
    assert summary["scanned"] >= len(untagged)
    with engine.database.session() as session:
        found = queries.region_tags(session, list(untagged))
    right = sum(any(t["tag"] == kind and t["source"] == "model" for t in found[region])
                for region, kind in untagged.items())
    assert right / len(untagged) >= 0.9
    monkeypatch.setattr("core.config._current", engine.settings)
    assert main.main(["tagger", "report", "--classes", ",".join(KINDS), "--kind", "yamnet_layers", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == dict.fromkeys(KINDS, TAGGED)


def test_analysing_again_takes_the_vectors_from_the_cache(library, tmp_path: Path) -> None:
    """Every vector is kept under the data folder by model and audio: a forced re-analysis
    (new worker processes read it) writes nothing new and stores the same bytes; changed
    audio under the same name is computed and kept anew."""
    engine, _ = library
    folder = engine.settings.cache_dir / "embeddings"
    kept = {p: p.stat().st_mtime_ns for p in folder.rglob("*.f16")}
    regions = sum(1 for _ in folder.glob(f"{slug(yamnet.model_name())}/*/*.f16"))
    assert len(kept) == 3 * regions and regions >= len(KINDS) * PER_KIND  # some sounds are made twice
    path = tmp_path / "kick.wav"
    af.write(path, one_shot("kick", 0))  # the first kick of the library, under another name

    def stored() -> dict[str, bytes]:
        with engine.database.session() as session:
            return {v.kind: v.vector for v in session.scalars(select(RegionVector).join(Region).join(File)
                                                              .where(File.path == str(path)))}

    assert engine.analyze_file(path)["status"] == "ok"
    first = stored()
    assert set(first) == {"yamnet", "yamnet_layers", "features", "fingerprint"}
    assert engine.analyze_file(path, force=True)["status"] == "ok"
    assert stored() == first
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.f16")} == kept  # nothing computed, nothing written
    changed = one_shot("kick", 0)
    changed[len(changed) // 2] += 0.05  # one sample
    af.write(path, changed)
    assert engine.analyze_file(path)["status"] == "ok"
    assert stored()["yamnet"] != first["yamnet"]
    assert len(list(folder.rglob("*.f16"))) == len(kept) + 3
