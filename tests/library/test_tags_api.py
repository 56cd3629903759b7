"""The tag endpoints over a library stored straight into the app's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import make_settings
from tests.library.helpers import add_file, classified


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("tags") / "data", plugins=["features"],
                             database_url=module_database_url, workers=1)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_tag_a_region_and_a_file_then_count_and_remove(client: TestClient) -> None:
    kick, pad = add_file(client.app.state.engine.database, "/lib/api_tags.wav", [classified("kick", 0.8), []])
    added = client.post(f"/api/regions/{kick}/tags", json={"tags": ["Kick", "punchy"]})
    assert added.status_code == 200, added.text
    assert added.json() == {"region_id": kick, "file_id": None, "tags": [
        {"tag": "kick", "probability": None, "source": "user"},
        {"tag": "punchy", "probability": None, "source": "user"},
        {"tag": "kick", "probability": 0.8, "source": "model"}]}
    file_id = client.get(f"/api/regions/{pad}").json()["file_id"]
    assert client.post(f"/api/files/{file_id}/tags", json={"tags": ["Drum Loop"]}).json()["tags"][0]["tag"] == \
        "drum loop"
    assert client.get("/api/regions", params={"tag": "drum loop"}).json()["total"] == 2
    assert client.get(f"/api/files/{file_id}/tags").json() == {"region_id": None, "file_id": file_id, "tags": [
        {"tag": "drum loop", "probability": None, "source": "user"}]}

    counts = {e["tag"]: e for e in client.get("/api/tags").json()["items"]}
    assert counts["kick"]["user"] == {"regions": 1, "files": 0} and counts["kick"]["model"]["regions"] == 1
    assert counts["drum loop"]["user"] == {"regions": 0, "files": 1}
    assert [e["tag"] for e in client.get("/api/tags", params={"source": "user", "prefix": "pu"}).json()["items"]] \
        == ["punchy"]

    removed = client.delete(f"/api/regions/{kick}/tags", params=[("tag", "kick"), ("tag", "punchy")])
    assert removed.json()["tags"] == [{"tag": "kick", "probability": 0.8, "source": "model"}]
    assert client.delete(f"/api/files/{file_id}/tags", params={"tag": "drum loop"}).json()["tags"] == []


def test_errors_say_what_is_wrong(client: TestClient) -> None:
    missing = client.post("/api/regions/999999/tags", json={"tags": ["kick"]})
    assert missing.status_code == 404 and missing.json() == {"error": "no region with id 999999"}
    assert client.delete("/api/files/999999/tags", params={"tag": "x"}).status_code == 404
    assert client.get("/api/files/999999/tags").json() == {"error": "no file with id 999999"}
    (region,) = add_file(client.app.state.engine.database, "/lib/api_tags_2.wav", [[]])
    empty = client.post(f"/api/regions/{region}/tags", json={"tags": [" "]})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]
    assert client.post(f"/api/regions/{region}/tags", json={"tags": []}).status_code == 422
    assert client.delete(f"/api/regions/{region}/tags").status_code == 422
