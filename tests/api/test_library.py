"""Searching, reading and listening through the API, over files the engine analysed."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from database import queries
from tests import audio_factory as af
from tests.conftest import make_settings

#: name → (tonic, mode, bpm) of a generated groove: chords stating the key over drums.
GROOVES = {"groove_am_90.wav": (9, "minor", 90), "groove_em_128.wav": (4, "minor", 128),
           "pad_fs_100.wav": (6, "major", 100)}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("library")
    settings = make_settings(folder / "data", plugins=["features", "tempo_meter", "key_finder"],
                             database_url=module_database_url)
    with TestClient(create_app(settings)) as test_client:
        for name, (tonic, mode, bpm) in GROOVES.items():
            audio = af.progression(tonic, mode, 12.0, chord_s=60 / bpm * 4) * 2 + 0.5 * af.rhythm(bpm, 4, 12.0)
            path = af.write(folder / name, audio)
            assert test_client.post("/analyze", json={"file_path": str(path)}).json()["status"] == "ok"
        yield test_client


def regions(client: TestClient, **params) -> dict:
    response = client.get("/api/regions", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_bpm_range_finds_the_groove_at_that_tempo(client: TestClient) -> None:
    found = regions(client, bpm_min=85, bpm_max=95)
    assert found["total"] == 1 and found["items"][0]["name"] == "groove_am_90.wav"
    assert found["items"][0]["bpm"] == pytest.approx(90, rel=0.04)


def test_key_exact_and_harmonically_compatible(client: TestClient) -> None:
    exact = regions(client, key="A minor")
    assert [r["name"] for r in exact["items"]] == ["groove_am_90.wav"] and exact["items"][0]["camelot"] == "8A"
    assert regions(client, key="8A")["total"] == 1
    compatible = {r["name"] for r in regions(client, key="8A", compatible=True)["items"]}
    assert compatible == {"groove_am_90.wav", "groove_em_128.wav"}  # 9A is a neighbour of 8A; 2B is not


def test_text_sort_and_pagination(client: TestClient) -> None:
    assert regions(client, query="GROOVE")["total"] == 2
    by_bpm = regions(client, sort="bpm", order="desc")
    assert [r["name"] for r in by_bpm["items"]] == ["groove_em_128.wav", "pad_fs_100.wav", "groove_am_90.wav"]
    page = regions(client, sort="bpm", limit=1, offset=1)
    assert page["total"] == 3 and [r["name"] for r in page["items"]] == ["pad_fs_100.wav"]
    assert page["total_exact"] is True


def test_a_total_past_counting_is_at_least(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "COUNT_MAX", 1)  # of the 3 regions, a search counts 1 past its page's offset
    totals = [(page["total"], page["total_exact"]) for page in (regions(client, offset=o) for o in (1, 2))]
    assert totals == [(2, False), (3, True)]


def test_file_search_detail_and_stats(client: TestClient) -> None:
    files = client.get("/database/files", params={"bpm_min": 95}).json()
    assert files["total"] == 2 and all(f["matching_regions"] == 1 for f in files["items"])
    assert files["items"][0]["summary"]["bpm"] > 95
    path = files["items"][0]["path"]
    detail = client.get(f"/database/files{path}")
    assert detail.status_code == 200 and detail.json()["path"] == path
    assert set(detail.json()["regions"][0]["analysis"]) == {"features", "tempo_meter", "key_finder"}
    missing = client.get("/database/files/no/such/file.wav")
    assert missing.status_code == 404 and "no analysed file" in missing.json()["error"]
    stats = client.get("/database/stats").json()
    assert stats["files"] == 3 and stats["regions"] == 3 and stats["analyses_by_plugin"]["tempo_meter"] == {"ok": 3}


def test_audio_is_served_whole_and_by_range(client: TestClient) -> None:
    item = regions(client, key="A minor")["items"][0]
    size = Path(item["path"]).stat().st_size
    whole = client.get(f"/api/audio/{item['file_id']}")
    assert whole.status_code == 200 and len(whole.content) == size
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"].startswith("audio/")
    part = client.get(f"/api/audio/{item['file_id']}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{size}"
    assert client.get("/api/audio/999999").status_code == 404


def test_bad_search_parameters_are_clear_errors(client: TestClient) -> None:
    bad_key = client.get("/api/regions", params={"key": "H minor"})
    assert bad_key.status_code == 400 and "unknown key" in bad_key.json()["error"]
    bad_sort = client.get("/api/regions", params={"sort": "colour"})
    assert bad_sort.status_code == 422 and "sort" in bad_sort.json()["error"]
    assert client.get("/api/regions", params={"limit": 0}).status_code == 422
    assert regions(client, query="groove\x00", tag="\x00")["total"] == 0  # PostgreSQL takes no NUL: no 500


def test_region_detail_and_waveforms(client: TestClient) -> None:
    item = regions(client, key="A minor")["items"][0]
    detail = client.get(f"/api/regions/{item['id']}").json()
    assert detail["name"] == item["name"] and detail["peaks"]["length"] > 0
    assert {name: entry["status"] for name, entry in detail["analysis"].items()} == {
        "features": "ok", "tempo_meter": "ok", "key_finder": "ok"}
    assert client.get("/api/regions/999999").status_code == 404
    overview = client.get(f"/api/files/{item['file_id']}/waveform").json()
    assert overview["length"] == len(overview["min"]) <= 1000 and max(overview["max"]) > 0.1
    dat = client.get(f"/api/files/{item['file_id']}/waveform", params={"level": "zoom", "format": "dat"})
    version, flags, rate, per_pixel, length, channels = struct.unpack("<iIiiIi", dat.content[:24])
    assert (version, flags, channels) == (2, 1, 1) and len(dat.content) == 24 + 2 * length
    assert length > overview["length"] and rate * 12 / per_pixel == pytest.approx(length, rel=0.01)
    assert client.get("/api/files/999999/waveform").status_code == 404
