"""Listening and "more like this" through the API: region WAVs, any file as WAV/FLAC,
similar regions by embedding, and the classifier's tags in search."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from api.app import create_app
from tests import audio_factory as af
from tests.conftest import make_settings

SR = 44_100


def _sounds() -> dict[str, np.ndarray]:
    """Three files of two different sounds each, with a gap between (two regions a file)."""
    brown = np.cumsum(af.noise(3.0, SR, seed=5))
    takes = {"groove": (af.music(3.0, SR, bpm=120), af.clicks(7.0, 3.0, SR)),
             "hum": (af.tone(110.0, 3.0, SR, amp=0.3) + af.tone(330.0, 3.0, SR, 0.1), af.tone(1760.0, 3.0, SR, 0.2)),
             "hiss": (af.noise(3.0, SR, amp=0.2, seed=4), 0.3 * (brown - brown.mean()) / np.abs(brown).max())}
    return {name: np.concatenate([first, af.silence(1.0, SR), second]).astype(np.float32)
            for name, (first, second) in takes.items()}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[tuple[TestClient, Path]]:
    """Each sound as WAV, and again as MP3 6 dB quieter ("copy_"); the hum also as AIFF."""
    folder = tmp_path_factory.mktemp("library")
    settings = make_settings(folder / "data", plugins=["features", "classifier", "embeddings"],
                             database_url=module_database_url)
    with TestClient(create_app(settings)) as client:
        paths = []
        for name, audio in _sounds().items():
            paths.append(af.write(folder / f"{name}.wav", audio, SR))
            paths.append(af.write(folder / f"copy_{name}.mp3", audio * 10 ** (-6 / 20), SR))
        af.write(folder / "hum.aiff", _sounds()["hum"], SR)
        for path in paths:
            assert client.post("/analyze", json={"file_path": str(path)}).json()["status"] == "ok"
        yield client, folder


def _regions(client: TestClient, **params) -> list[dict]:
    response = client.get("/api/regions", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize("kind", ["yamnet", "features"])
def test_the_same_sound_in_another_format_and_gain_is_the_most_similar(library, kind: str) -> None:
    client, _ = library
    originals = [r for r in _regions(client) if not r["name"].startswith("copy_")]
    assert len(originals) == 6
    for region in originals:
        response = client.get(f"/api/regions/{region['id']}/similar", params={"k": 3, "kind": kind})
        assert response.status_code == 200, response.text
        best = response.json()["items"][0]
        assert (best["name"], best["index"]) == (f"copy_{region['name'][:-4]}.mp3", region["index"]), kind
        assert best["score"] > 0.95


def test_similar_search_takes_the_search_filters(library) -> None:
    client, _ = library
    groove = _regions(client, query="groove.wav")[0]
    among_wavs = client.get(f"/api/regions/{groove['id']}/similar", params={"k": 10, "query": ".wav"}).json()
    assert among_wavs["items"] and all(r["name"].endswith(".wav") for r in among_wavs["items"])
    assert groove["id"] not in [r["id"] for r in among_wavs["items"]]
    missing = client.get("/api/regions/999999/similar")
    assert missing.status_code == 404 and "no yamnet vector" in missing.json()["error"]


def test_classifier_tags_are_listed_and_searchable(library) -> None:
    client, _ = library
    groove = _regions(client, query="groove.wav")[0]
    assert groove["tags"] and all(t["source"] == "model" for t in groove["tags"])
    top = next(t for t in groove["tags"] if t["probability"] is not None)  # "loop" and the like have none
    assert 0 < top["probability"] <= 1
    found = _regions(client, tag=top["tag"], tag_min=top["probability"] - 1e-4)
    assert groove["id"] in [r["id"] for r in found]
    stricter = _regions(client, tag=top["tag"], tag_min=min(1.0, top["probability"] + 0.01))
    assert groove["id"] not in [r["id"] for r in stricter]
    detail = client.get(f"/api/regions/{groove['id']}").json()
    assert len(detail["tags"]) >= len(groove["tags"])


def test_a_region_is_served_as_a_wav_cut_at_the_files_own_rate(library) -> None:
    client, _ = library
    region = _regions(client, query="hum.wav")[1]
    response = client.get(f"/api/regions/{region['id']}/audio")
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert 'filename="hum_region02.wav"' in response.headers["content-disposition"]
    audio, rate = sf.read(io.BytesIO(response.content))
    assert rate == SR and len(audio) / rate == pytest.approx(region["duration_s"], abs=0.01)
    again = client.get(f"/api/regions/{region['id']}/audio", headers={"Range": "bytes=0-99"})
    assert again.status_code == 206 and again.content == response.content[:100]
    flac = client.get(f"/api/regions/{region['id']}/audio", params={"format": "flac"})
    assert flac.headers["content-type"] == "audio/flac" and sf.info(io.BytesIO(flac.content)).format == "FLAC"
    assert client.get("/api/regions/999999/audio").status_code == 404


def test_any_library_file_is_served_in_a_format_browsers_play(library, tmp_path) -> None:
    client, folder = library
    path = folder / "hum.aiff"
    whole = client.get(f"/api/processed_audio{path}")
    assert whole.status_code == 200, whole.text
    audio, rate = sf.read(io.BytesIO(whole.content))
    assert rate == SR and len(audio) == len(_sounds()["hum"])
    cut = client.get(f"/api/processed_audio{path}", params={"start_s": 1.0, "end_s": 1.5, "format": "flac"})
    cut_audio, _ = sf.read(io.BytesIO(cut.content))
    assert len(cut_audio) == SR // 2
    assert np.allclose(cut_audio, audio[SR: SR + SR // 2], atol=1e-4)
    beyond = client.get(f"/api/processed_audio{path}", params={"start_s": 100.0})
    assert beyond.status_code == 400 and "ends before" in beyond.json()["error"]
    broken = af.write(folder / "broken.wav", _sounds()["hum"], SR)
    broken.write_bytes(broken.read_bytes()[:2000])
    response = client.get(f"/api/processed_audio{broken}")
    assert response.status_code == 422 and "truncated" in response.json()["error"]
    outside = client.get("/api/processed_audio/etc/passwd")
    assert outside.status_code == 403
    assert client.get(f"/api/processed_audio{folder}/nothing.wav").status_code == 404
