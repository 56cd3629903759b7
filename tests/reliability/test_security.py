"""Security: every path a client names stays inside the library roots and the upload
folder; uploads are checked before they are written; no shell ever sees user input;
secrets stay out of logs and child processes. (CORS closed and the token required off
loopback: tests/api/test_api.py; the server refusing to start without it: tests/test_cli.py.)
"""

from __future__ import annotations

import ast
import json
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from core.config import PROJECT_ROOT
from core.engine import AudioSamplerEngine
from core.sandbox import INITIALIZER_ENV
from plugins.features import Features
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.live_server import free_port
from tests.postgres import SUPERUSER, PostgresServer
from tests.reliability.test_faults import serve_process
from tests.test_cli import cli_env

#: Ways to name /etc/passwd from inside the library: encoded, double-encoded, absolute, NUL.
ESCAPES = ["..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
           "..%252f..%252fetc%252fpasswd", "%2fetc%2fpasswd", "etc/passwd", "link/passwd", "escape.wav",
           "in.wav%00.txt", "..%5c..%5cetc%5cpasswd"]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library")
    af.write(folder / "in.wav", af.tone(440, 1.0))
    (folder / "escape.wav").symlink_to("/etc/passwd")
    (folder / "link").symlink_to("/etc")
    return folder


@pytest.fixture(scope="module")
def client(library: Path, tmp_path_factory: pytest.TempPathFactory,
           module_database_url: str) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("secure"), plugins=["features"], library_roots=[library],
                             database_url=module_database_url)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("escape", ESCAPES)
def test_processed_audio_stays_inside_the_library(client: TestClient, library: Path, escape: str) -> None:
    response = client.get(f"/api/processed_audio/{library.relative_to('/')}/{escape}")
    assert response.status_code in (403, 404), response.text
    assert "root:" not in response.text and response.json()["error"]


@pytest.mark.parametrize("escape", ESCAPES)
def test_stored_reports_are_looked_up_never_read_from_disk(client: TestClient, library: Path, escape: str) -> None:
    response = client.get(f"/database/files/{library.relative_to('/')}/{escape}")
    assert response.status_code in (403, 404) and "root:" not in response.text, response.text


@pytest.mark.parametrize("escape", [*ESCAPES, "..", "%2e%2e", "..%00"])
def test_tagger_names_stay_inside_the_tagger_folder(client: TestClient, escape: str) -> None:
    for path in (f"/api/taggers/{escape}/report", f"/api/taggers/{escape}/confusion.png"):
        response = client.get(path)
        assert response.status_code in (404, 422) and "root:" not in response.text, (path, response.text)


@pytest.mark.parametrize("path", ["/etc/passwd", "../../../../etc/passwd", "link/passwd", "escape.wav",
                                  "in.wav\x00.txt", "~/.ssh/id_rsa", "//etc/passwd", "/proc/self/environ"])
def test_analyze_and_jobs_stay_inside_the_library(client: TestClient, path: str) -> None:
    assert client.post("/analyze", json={"file_path": path}).status_code == 403
    assert client.post("/api/jobs", json={"paths": [path]}).status_code == 403


def test_a_home_folder_of_no_such_user_is_a_path_like_any_other(client: TestClient) -> None:
    """``~name`` of no user is a relative name inside the library, not a server error."""
    response = client.post("/analyze", json={"file_path": "~no-such-user-0/kick.wav"})
    assert response.status_code == 404 and "no such file" in response.text, response.text
    assert client.post("/api/jobs", json={"paths": ["~no-such-user-0"]}).status_code == 202


def test_a_folder_job_skips_what_leads_outside(client: TestClient, library: Path) -> None:
    created = client.post("/api/jobs", json={"paths": [str(library)]}).json()
    files = client.get(f"/api/jobs/{created['job_id']}").json()["files"]
    assert [Path(f["path"]).name for f in files] == ["in.wav"]  # escape.wav and link/ lead outside


@pytest.mark.parametrize("name", ["../../../etc/cron.d/evil.wav", "/etc/cron.d/evil.wav", "..\\..\\evil.wav",
                                  "evil.wav\x00.sh", "-rf .wav", ".hidden.wav", "a/../../b.wav"])
def test_uploads_land_inside_the_upload_folder_under_a_harmless_name(client: TestClient, name: str) -> None:
    settings = client.app.state.settings
    data = af.write(settings.data_dir / "up.wav", af.tone(440, 0.2)).read_bytes()
    response = client.post("/api/analyze/upload", files=[("files", (name, data, "audio/wav"))])
    if response.status_code == 400:  # refused: the name has no audio extension once made harmless
        return
    assert response.status_code == 202, response.text
    path = Path(client.get(f"/api/jobs/{response.json()['job_id']}").json()["files"][0]["path"])
    assert path.resolve().parent.parent == settings.upload_dir.resolve()
    assert not path.name.startswith(("-", ".")) and "\x00" not in path.name


def test_an_upload_over_the_limit_is_refused_before_it_is_read_whole(tmp_path: Path) -> None:
    """Refused once the file passes the limit, before the rest is read (tests/api/test_uploads.py);
    nothing is written."""
    settings = make_settings(tmp_path / "data", plugins=["features"], max_upload_mb=1)
    with TestClient(create_app(settings)) as test_client:
        body = b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.wav\"\r\n\r\n"
        response = test_client.post("/api/analyze/upload", content=body + bytes(3 << 20) + b"\r\n--b--\r\n",
                                    headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert response.status_code == 413 and "MiB" in response.json()["error"]
    assert not list(settings.upload_dir.rglob("*"))


def _python_files() -> Iterator[Path]:
    for folder in ("core", "api", "database", "plugins", "cli", "envs/experimental"):
        yield from (p for p in (PROJECT_ROOT / folder).rglob("*.py") if ".venv" not in p.parts)
    yield PROJECT_ROOT / "main.py"


def test_no_shell_is_ever_started_and_processes_get_an_argument_list() -> None:
    """No shell=True, os.system, os.popen, os.exec*, os.spawn* or asyncio's shell; every
    subprocess call takes a list of arguments (no string for a shell to split), so a file
    name is never a command."""
    found = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
            if any(k.arg == "shell" for k in node.keywords) or name in ("os.system", "os.popen") \
                    or name.startswith(("os.exec", "os.spawn")) or name.endswith("create_subprocess_shell"):
                found.append(f"{where}: {ast.unparse(node)}")
            if name.startswith("subprocess.") and node.args and not isinstance(node.args[0], ast.List | ast.Tuple):
                found.append(f"{where}: {name} without an argument list")
    assert not found, found


def test_secrets_stay_out_of_logs_and_child_processes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = "tok-3f9a1c77e2"
    settings = make_settings(tmp_path / "data", host="0.0.0.0", api_token=token)
    caplog.set_level(logging.DEBUG)
    with AudioSamplerEngine(settings, plugins=[Features]) as engine:
        assert token not in os.environ.get(INITIALIZER_ENV, "")  # inherited by every worker and child
        engine.analyze_file(af.write(tmp_path / "a.wav", af.tone(440, 0.5)))
        with TestClient(create_app(settings, engine)) as client:
            assert client.get("/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
            status = client.get("/status", headers={"Authorization": f"Bearer {token}"}).json()
            assert token not in str(status)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert token not in logged


def test_a_live_server_keeps_its_secrets_out_of_logs_answers_and_child_processes(
        tmp_path: Path, postgres: PostgresServer) -> None:
    """``main.py serve`` given the token and a database password in its environment:
    neither (nor a guessed token) is in its output or in ``/status``, nor in the
    environment or command line of a process it starts (those decode untrusted files)."""
    token, password = "tok-5be1c0d9f3", "pw-77d0e1aa42"
    url = postgres.url(postgres.create_database()).replace(f"{SUPERUSER}@", f"{SUPERUSER}:{password}@", 1)
    env = {**cli_env(tmp_path / "data"), "AUDIO_SAMPLER_API_TOKEN": token, "DATABASE_URL": url,
           "AUDIO_SAMPLER_LIBRARY_ROOTS": json.dumps([str(tmp_path)])}
    song = af.write(tmp_path / "song.wav", af.with_gaps([(0.1, 0.6)], 0.8))
    guesses = [f"guess-{i}-3a7f" for i in range(3)]
    port, log = free_port(), tmp_path / "server.log"
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"}
    server = serve_process(port, env, log)
    try:
        for guess in guesses:
            assert httpx.get(f"{base}/status", headers={"Authorization": f"Bearer {guess}"}).status_code == 401
            assert httpx.post(f"{base}/api/session", json={"token": guess}).status_code == 401
        report = httpx.post(f"{base}/analyze", json={"file_path": str(song)}, headers=auth, timeout=120).json()
        assert report["status"] == "ok"
        status = httpx.get(f"{base}/status", headers=auth).text
        assert f"{SUPERUSER}:***@" in status and password not in status and token not in status
        children = psutil.Process(server.pid).children(recursive=True)
        assert len(children) >= 2  # the workers (and the template they fork from)
        leaks = [(child.pid, child.cmdline()) for child in children
                 if any(secret in str(child.environ()) + str(child.cmdline()) for secret in (token, password))]
        assert not leaks
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    output = log.read_text()
    assert "GET /status" in output  # the access log was captured
    assert not [secret for secret in (token, password, *guesses) if secret in output]


@pytest.mark.parametrize("template", ["{name:>9999999999}", "{bpm:0999999999d}", "{key:.{id}}", "{tag:x^151}"])
def test_an_export_template_cannot_make_the_server_build_a_huge_name(client: TestClient, template: str) -> None:
    """A format width is applied before the name is cut to length: unchecked, one request
    would have the server process allocate gigabytes."""
    nowhere = 2**31 - 1  # no such region (earlier tests of this module store some)
    response = client.post("/api/export", json={"region_ids": [nowhere], "template": template})
    assert response.status_code == 400 and "fixed width of at most 150" in response.json()["error"]
    fine = client.post("/api/export", json={"region_ids": [nowhere], "template": "{name:>20}_{bpm:03d}"})
    assert fine.status_code == 400 and "template" not in fine.json()["error"]  # refused for the missing region
