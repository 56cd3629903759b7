"""The pack endpoints: draw with a report, saved weights, filters, export as a ZIP."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.library.helpers import user_tag_regions


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("packs_api")
    settings = make_settings(folder / "data", plugins=["features"], database_url=module_database_url, workers=1)
    with TestClient(create_app(settings)) as test_client:
        source = str(af.write(folder / "hits.wav", af.tone(150.0, 12.0, amp=0.2)))
        database = test_client.app.state.engine.database
        user_tag_regions(database, "kick", 12, source, bpm=120.0)
        user_tag_regions(database, "snare", 8, str(folder / "snares.wav"), bpm=90.0)
        yield test_client


def test_draw_reports_asked_and_drawn_and_saves_weights(client: TestClient) -> None:
    response = client.post("/api/packs", json={"size": 10, "weights": {"Kick": 3, "snare": 2, "hat": 5}, "seed": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["report"]["skipped"] == ["hat"] and body["report"]["seed"] == 4
    assert {c["tag"]: (c["asked"], c["drawn"]) for c in body["report"]["categories"]} == \
        {"hat": (0.0, 0), "kick": (0.6, 6), "snare": (0.4, 4)}
    assert len(body["items"]) == 10 and all(item["tags"] for item in body["items"])
    assert client.get("/api/packs/weights").json() == {"weights": {"hat": 5.0, "kick": 3.0, "snare": 2.0}}
    again = client.post("/api/packs", json={"size": 10, "seed": 4}).json()  # with the saved weights
    assert [i["id"] for i in again["items"]] == [i["id"] for i in body["items"]]
    filtered = client.post("/api/packs", params={"bpm_max": 100}, json={"size": 4, "seed": 1}).json()
    assert {c["tag"] for c in filtered["report"]["categories"] if c["drawn"]} == {"snare"}
    assert "kick: no region matches, skipped" in filtered["report"]["messages"]


def test_weights_endpoint_and_errors(client: TestClient) -> None:
    assert client.put("/api/packs/weights", json={"weights": {"kick": 1}}).json() == {"weights": {"kick": 1.0}}
    assert client.put("/api/packs/weights", json={"weights": {"kick": -1}}).status_code == 422
    bad = client.put("/api/packs/weights", json={"weights": {"kick": 0}})
    assert bad.status_code == 400 and bad.json() == {"error": "every weight is 0"}
    none = client.post("/api/packs", json={"size": 3, "categories": ["clap"]})
    assert none.status_code == 400 and "no region matches" in none.json()["error"]
    assert client.post("/api/packs", json={"size": 0}).status_code == 422


def test_pack_export_is_a_zip_with_the_report(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/api/packs/export", json={"size": 3, "categories": ["kick"], "seed": 2,
                                                      "export": {"template": "{tag}_{index}", "format": "flac"}})
    assert response.status_code == 200, response.text
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(bundle.namelist()) == ["pack/kick_001.flac", "pack/kick_002.flac", "pack/kick_003.flac",
                                         "pack/manifest.csv", "pack/manifest.json"]
    manifest = json.loads(bundle.read("pack/manifest.json"))
    assert manifest["pack"]["mode"] == "categories" and manifest["exported"] == 3
