"""The HTTP API over a real engine (the app's own lifespan, real workers)."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.bridge import CHECKING
from core.engine import AudioSamplerEngine
from database.session import Database
from tests import audio_factory as af
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("api"), plugins=["features"], database_url=module_database_url)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_root_lists_the_endpoints(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["docs"] == "/docs"
    assert {"/", "/health", "/status", "/plugins", "/analyze"} <= set(body["endpoints"])


def test_health(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}


def test_plugins(client: TestClient) -> None:
    plugins = client.get("/plugins").json()
    assert [p["name"] for p in plugins] == ["features"]
    assert plugins[0]["version"] and plugins[0]["timeout_s"] > 0


def test_analyze_a_file_then_status_counts_it(client: TestClient, gaps_wav: Path) -> None:
    response = client.post("/analyze", json={"file_path": str(gaps_wav)})
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok" and len(report["regions"]) == 2
    assert report["regions"][1]["analysis"]["features"]["status"] == "ok"
    status = client.get("/status").json()
    assert status["status"] == "ok" and status["plugins"] == ["features"]
    assert status["database"]["files"] >= 1 and status["sandbox"]["workers"] == 2
    assert status["bridge"]["present"] == status["bridge"]["available"]  # built by make test: both true


def test_without_the_experimental_environment_keys_still_come_and_status_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", plugins=["key_finder"],
                             experimental_python=tmp_path / "no-env" / "bin" / "python")
    path = af.write(tmp_path / "cadence.wav", af.progression(7, "major", 6.0))
    with TestClient(create_app(settings)) as test_client:
        status = test_client.get("/status").json()
        bridge = status["bridge"]
        assert (bridge["present"], bridge["available"]) == (False, False) and "does not exist" in bridge["reason"]
        assert status["musicnn"] is None  # no classifier in the chain: its child is not checked
        report = test_client.post("/analyze", json={"file_path": str(path)}).json()
    key = report["regions"][0]["analysis"]["key_finder"]
    assert (key["status"], key["key"], key["method"]) == ("ok", "G major", "librosa")


@pytest.mark.parametrize("environment", ["built", "missing"])
def test_status_says_whether_the_classifier_s_musicnn_child_answers(tmp_path: Path, environment: str) -> None:
    settings = make_settings(tmp_path / "data", plugins=["classifier"])
    if environment == "missing":
        settings = settings.model_copy(update={"experimental_python": tmp_path / "no-env" / "bin" / "python"})
    elif not settings.experimental_python.exists():
        pytest.skip("the experimental environment is built by `make test`")
    with TestClient(create_app(settings)) as test_client:
        musicnn = test_client.get("/status").json()["musicnn"]
        assert musicnn["environment"] == str(settings.experimental_python.parent.parent)
        while musicnn["available"] is None:  # checked in the background: TensorFlow takes seconds to start
            assert musicnn["reason"] == CHECKING
            time.sleep(0.2)
            musicnn = test_client.get("/status").json()["musicnn"]
    if environment == "built":
        assert musicnn["present"] and musicnn["available"] and musicnn["reason"] is None
        assert {"musicnn", "tensorflow-cpu"} <= set(musicnn["versions"])
    else:
        assert not musicnn["present"] and not musicnn["available"] and "does not exist" in musicnn["reason"]


def test_a_broken_file_is_a_recorded_error_not_a_server_error(client: TestClient, tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + bytes(100))
    report = client.post("/analyze", json={"file_path": str(path)}).json()
    assert report["status"] == "error" and report["error_code"] and report["id"] is not None


def test_errors_are_json_with_a_message(client: TestClient, tmp_path: Path) -> None:
    missing = client.post("/analyze", json={"file_path": str(tmp_path / "none.wav")})
    assert missing.status_code == 404 and "no such file" in missing.json()["error"]
    invalid = client.post("/analyze", json={"path": "x"})
    assert invalid.status_code == 422 and "file_path" in invalid.json()["error"]
    unknown = client.post("/analyze", json={"file_path": str(tmp_path), "plugins": ["nope"]})
    assert unknown.status_code == 400 and "unknown plugin" in unknown.json()["error"]
    assert client.get("/no/such/route").json() == {"error": "Not Found"}


def test_unexpected_errors_are_json_without_a_trace(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    settings.ensure_dirs()
    app = create_app(settings, engine=_ExplodingEngine(Database(settings.effective_database_url)))  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/status")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error: RuntimeError"}


def test_openapi_describes_the_reports(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "FileReport" in schema["components"]["schemas"]
    assert "/analyze" in schema["paths"]


class _ExplodingEngine:
    def __init__(self, database: Database) -> None:
        self.database = database
        database.migrate()

    def status(self) -> dict:
        raise RuntimeError("secret internals")

    def close(self) -> None:
        pass


def test_make_settings_engine_is_shareable(tmp_path: Path) -> None:
    """An app given an engine does not close it: the owner does."""
    engine = AudioSamplerEngine(make_settings(tmp_path / "data", plugins=["features"]))
    with TestClient(create_app(engine.settings, engine=engine)) as test_client:
        assert test_client.get("/plugins").status_code == 200
    report = engine.analyze_file(af.write(tmp_path / "after.wav", af.tone(440, 0.5)))
    assert report["status"] == "ok"
    engine.close()


def test_what_lives_from_start_up_is_kept_out_of_full_collections(tmp_path: Path) -> None:
    """The server's start-up objects are frozen, so that a full collection scans only
    what requests made (a full pass over everything stalled a search ~80 ms)."""
    gc.unfreeze()
    engine = AudioSamplerEngine(make_settings(tmp_path / "data", plugins=["features"]))
    app = create_app(engine.settings, engine=engine)
    try:
        with TestClient(app):
            assert gc.get_freeze_count() > 0
            assert not any(obj is app for obj in gc.get_objects())  # the app is among the frozen
    finally:
        gc.unfreeze()
        engine.close()


def test_beyond_loopback_a_token_is_required(tmp_path: Path) -> None:
    from api.app import InsecureBinding

    with pytest.raises(InsecureBinding, match="AUDIO_SAMPLER_API_TOKEN"):
        create_app(make_settings(tmp_path / "open", host="0.0.0.0"))
    settings = make_settings(tmp_path / "data", plugins=["features"], host="0.0.0.0", api_token="s3cret")
    assert "s3cret" not in repr(settings)
    with TestClient(create_app(settings)) as test_client:
        assert test_client.get("/health").status_code == 200
        refused = test_client.get("/status")
        assert refused.status_code == 401 and "API token" in refused.json()["error"]
        assert test_client.get("/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert test_client.get("/status", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_cors_is_closed(client: TestClient) -> None:
    preflight = client.options("/database/stats", headers={"Origin": "https://evil.example",
                                                            "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://evil.example"}).headers
