"""Uploads are refused before they are written: the declared length before the body is
read, a name without an audio extension before its file's first byte, a file over the
limit the moment it passes it (with or without Content-Length); nothing refused is left
on disk, and nothing goes through the system temp folder. Raw requests to a live server
show what the server answers while the client is still sending."""

from __future__ import annotations

import functools
import http.client
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers import jobs as jobs_router
from api.uploads import MAX_FILES, UploadLimits
from core.config import Settings
from tests import audio_factory as af
from tests.conftest import make_settings
from tests.live_server import serve

BOUNDARY = "b0und"
MIB = 1 << 20


def part(name: str, data: bytes = b"", field: str = "files") -> bytes:
    """One part of a multipart body: a file (or, with ``name`` None, a plain field)."""
    disposition = f'form-data; name="{field}"' + ("" if name is None else f'; filename="{name}"')
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()


def left_on_disk(settings: Settings) -> list[Path]:
    return sorted(settings.upload_dir.rglob("*"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    settings = make_settings(tmp_path_factory.mktemp("uploads"), plugins=["features"], max_upload_mb=1)
    with serve(settings) as base:
        yield base, settings


def send_raw(base: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    """POST an upload's headers and ``body``, which may be only the start of what the
    headers announce, and read the answer without sending more."""
    address = urlsplit(base)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in
                       {"Host": address.netloc, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                        **headers}.items())
        sock.sendall(f"POST /api/analyze/upload HTTP/1.1\r\n{head}\r\n".encode() + body)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, answer.read().decode()


def chunked(data: bytes, size: int = 64 << 10) -> bytes:
    """``data`` in the chunked transfer coding, without the last (empty) chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size]) for i in range(0, len(data), size))


def test_a_declared_length_over_the_request_limit_is_refused_before_the_body(live: tuple[str, Settings]) -> None:
    base, settings = live
    over = UploadLimits(1).request_bytes + 1
    status, text = send_raw(base, {"Content-Length": str(over)}, b"")  # no body: the answer cannot wait for it
    assert status == 413 and f"larger than {MAX_FILES} files of 1 MiB" in text
    assert not left_on_disk(settings)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_file_over_the_limit_stops_the_upload_at_once(live: tuple[str, Settings], framing: str) -> None:
    """1 MiB and a bit is sent of a 100 MiB file: the 413 comes without the rest."""
    base, settings = live
    start = part("song.wav", b"RIFF" + bytes(MIB + (128 << 10)))[:-2]  # the part goes on
    if framing == "chunked":
        status, text = send_raw(base, {"Transfer-Encoding": "chunked"}, chunked(start))
    else:
        status, text = send_raw(base, {"Content-Length": str(100 * MIB)}, start)
    assert status == 413 and "song.wav is larger than 1 MiB" in text
    assert not left_on_disk(settings)


def test_a_name_that_is_not_audio_is_refused_before_its_content(live: tuple[str, Settings]) -> None:
    base, settings = live
    status, text = send_raw(base, {"Content-Length": str(50 * MIB)}, part("notes.txt", b"hello")[:-2])
    assert status == 400 and "'notes.txt' is not an audio file" in text
    assert not left_on_disk(settings)


def test_a_chunked_body_is_limited_as_a_whole(live: tuple[str, Settings], monkeypatch: pytest.MonkeyPatch) -> None:
    """The parser allows any amount of padding after a boundary: without Content-Length
    the bytes themselves are counted (here against a limit of 2 files)."""
    base, settings = live
    monkeypatch.setattr(jobs_router, "UploadLimits", functools.partial(UploadLimits, files=2))
    padded = part("a.wav", b"RIFF")[:-2] + f"\r\n--{BOUNDARY}".encode() + b" " * (3 * MIB)
    status, text = send_raw(base, {"Transfer-Encoding": "chunked"}, chunked(padded))
    assert status == 413 and "larger than 2 files of 1 MiB" in text
    assert not left_on_disk(settings)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("uploads"), plugins=["features"], max_upload_mb=2)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def post(client: TestClient, body: bytes, content_type: str = f"multipart/form-data; boundary={BOUNDARY}"):
    return client.post("/api/analyze/upload", content=body, headers={"Content-Type": content_type})


def test_a_refused_second_file_takes_the_first_with_it(client: TestClient) -> None:
    settings = client.app.state.settings
    response = post(client, part("a.wav", b"RIFF" * 100) + part("b.wav", bytes(3 * MIB)) + END)
    assert response.status_code == 413 and "b.wav is larger than 2 MiB" in response.json()["error"]
    response = post(client, part("a.wav", b"RIFF" * 100) + part("b.wav") + END)
    assert response.status_code == 400 and response.json() == {"error": "b.wav is empty"}
    assert not left_on_disk(settings)


def test_an_upload_never_goes_through_the_system_temp_folder(client: TestClient, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette's form parser spools a file over 1 MB to the temp folder; with no temp
    folder at all, a 1.5 MB upload is still stored whole."""
    data = af.write(tmp_path / "song.wav", af.music(17.0)).read_bytes()
    assert MIB < len(data) < 2 * MIB
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no such folder"))
    response = post(client, part("song.wav", data) + part("note", b"ignored", field="comment") + END)
    assert response.status_code == 202, response.text
    job = client.get(f"/api/jobs/{response.json()['job_id']}").json()
    assert Path(job["files"][0]["path"]).read_bytes() == data


@pytest.mark.parametrize(("content_type", "body", "status", "error"), [
    ("application/json", b'{"files": []}', 422, "invalid request: files: Field required"),
    ("multipart/form-data", b"x", 400, "Missing boundary in multipart."),
    (None, b"garbage", 400, "Invalid multipart data: Expected boundary character 45, got 103 at index 2"),
    (None, part("cut.wav", b"RIFF")[:-2], 400, "the upload is cut off: its last part never ends"),
    (None, part(None, b"text") + END, 422, "invalid request: files.0: Value error, expected a file, received a "
                                           "plain field"),
    (None, part("a.wav", b"RIFF", field="other") + END, 422, "invalid request: files: Field required"),
    (None, b"".join(part(None, field="x") for _ in range(MAX_FILES + 1)) + END, 413,
     f"the upload has more than {MAX_FILES} parts"),
    (None, f"--{BOUNDARY}\r\nContent-Type: audio/wav\r\n\r\nRIFF\r\n".encode() + END, 400,
     'The Content-Disposition header field "name" must be provided.'),
    (None, part("a.wav", b"RIFF", field="other")[:-2] + bytes(3 * MIB) + b"\r\n" + END, 413,
     "other is larger than 2 MiB"),
])
def test_a_malformed_body_is_a_clear_client_error(client: TestClient, content_type: str | None, body: bytes,
                                                  status: int, error: str) -> None:
    before = left_on_disk(client.app.state.settings)
    response = post(client, body, *([content_type] if content_type else []))
    assert (response.status_code, response.json()) == (status, {"error": error})
    assert left_on_disk(client.app.state.settings) == before
