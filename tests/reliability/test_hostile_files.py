"""Hostile files, all made here: each ends as ``ok`` or as a recorded error with a clear
message, through the engine and through the live API, and nothing temporary is left.

The files of every category are analysed together by one engine (as a scan would), then
each report is checked against what its file deserves.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from core.engine import AUDIO_EXTENSIONS, AudioSamplerEngine
from plugins.features import Features
from tests import audio_factory as af
from tests.broken_files import BROKEN, HANDMADE, _png, wav_header
from tests.conftest import make_settings
from tests.live_server import serve

#: Error codes a file's content can earn (the others are about the engine or the name).
CONTENT_ERRORS = {"empty", "unsupported_format", "decode_error", "too_long", "invalid_samples"}
#: Expected outcomes besides an exact code: any clear error, or ok as well.
ERROR, OK_OR_ERROR = "any error", "ok or error"
#: Formats whose header states the exact length: cut short, they must be an error.
EXACT = (".wav", ".flac", ".aiff")
LOSSY = (".mp3", ".ogg", ".opus")
#: A message that leaks the implementation instead of saying what is wrong with the file.
_UNCLEAR = re.compile(r"Traceback|NoneType|has no attribute|^[A-Z]\w+(Error|Exception)\b|^internal error")


def clear_error(report: dict) -> str | None:
    """Why ``report`` is not a clear, recorded error (None when it is one)."""
    message = report["error"] or ""
    if report["status"] != "error" or report["id"] is None:
        return f"not a recorded error: {report['status']}, id {report['id']}"
    if report["error_code"] not in CONTENT_ERRORS:
        return f"code {report['error_code']}"
    if not message or len(message) > 300 or _UNCLEAR.search(message):
        return f"unclear message {message!r}"
    if report["regions"]:
        return "an error with regions"
    return None


def verdict(report: dict, expected: str) -> str | None:
    """Why ``report`` does not meet ``expected`` (None when it does)."""
    if report["status"] == "ok":
        if expected in ("ok", OK_OR_ERROR) and report["id"] is not None:
            return None
        return f"ok, expected {expected}"
    if expected == "ok":
        return f"{report['error_code']}: {report['error']}, expected ok"
    if expected not in (ERROR, OK_OR_ERROR) and report["error_code"] != expected:
        return f"{report['error_code']}: {report['error']}, expected {expected}"
    return clear_error(report)


def offsets(size: int) -> list[int]:
    """Where to cut a file of ``size`` bytes: all through the header, then across the data."""
    head = [1, 2, 3, 4, 7, 8, 11, 12, 16, 20, 24, 28, 36, 40, 43, 44, 45, 64, 100, 128, 256, 512, 1024, 4096]
    return sorted({o for o in head if o < size} | {int(size * f) for f in np.linspace(0.1, 0.95, 12)})


def _write(folder: Path) -> Callable[[str, bytes], Path]:
    def write(name: str, data: bytes) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return write


def truncated_files(folder: Path) -> Iterator[tuple[str, Path, str]]:
    write = _write(folder)
    source = np.stack([af.music(2.0), af.music(2.0, seed=1)], axis=1)
    for ext in (*EXACT, *LOSSY):
        whole = af.write(folder / f"whole{ext}", source).read_bytes()
        for cut in offsets(len(whole)):
            yield f"{ext}@{cut}", write(f"cut{cut}{ext}", whole[:cut]), ERROR if ext in EXACT else OK_OR_ERROR


def foreign_files(folder: Path) -> Iterator[tuple[str, Path, str]]:
    """Random bytes, text and a PNG under every extension the engine scans."""
    write = _write(folder)
    for i, ext in enumerate(sorted(AUDIO_EXTENSIONS)):
        noise = np.random.default_rng(i).integers(0, 256, 1 + 997 * i, dtype=np.uint8).tobytes()
        yield f"random{ext}", write(f"random{ext}", noise), ERROR
        yield f"text{ext}", write(f"text{ext}", b"Meeting notes, not audio.\n" * 50), "unsupported_format"
        yield f"png{ext}", write(f"picture{ext}", _png()), "unsupported_format"


def non_finite_files(folder: Path) -> Iterator[tuple[str, Path, str]]:
    for subtype in ("FLOAT", "DOUBLE"):
        for value in (np.nan, np.inf, -np.inf):
            samples = af.tone(440, 1.0).astype(np.float64)
            samples[5000] = value
            path = folder / f"{subtype}-{value}.wav"
            sf.write(path, samples, af.SR, subtype=subtype)
            yield path.stem, path, "invalid_samples"


def handmade_files(folder: Path) -> Iterator[tuple[str, Path, str]]:
    write = _write(folder)
    for name, (data, expected) in HANDMADE.items():
        yield name, write(name, data), expected


def extreme_signals(folder: Path) -> Iterator[tuple[str, Path, str]]:
    """Audio that is valid but extreme: each must be ``ok``."""
    for ext in (".wav", ".flac", ".aiff", ".ogg", ".mp3"):
        yield f"one-sample{ext}", af.write(folder / f"one-sample{ext}", np.array([0.5], np.float32)), "ok"
    for ext in (".wav", ".flac", ".aiff", ".ogg", ".mp3", ".m4a", ".opus"):
        yield f"50ms{ext}", af.write(folder / f"50ms{ext}", af.tone(440, 0.05)), "ok"
    channels = np.stack([af.tone(100 + 500 * i, 1.0, sr=192_000) for i in range(8)], axis=1)
    for ext in (".wav", ".flac"):
        path = folder / f"8ch-192k{ext}"
        sf.write(path, channels, 192_000, subtype="PCM_24")
        yield path.name, path, "ok"
    square = np.where(af.tone(100, 2.0) >= 0, 1.0, -1.0).astype(np.float32)
    yield "square.wav", af.write(folder / "square.wav", square), "ok"
    yield "square.mp3", af.write(folder / "square.mp3", square), "ok"
    over = folder / "square-over-full-scale.wav"
    sf.write(over, 4 * square, af.SR, subtype="FLOAT")
    yield over.name, over, "ok"
    yield "dc.wav", af.write(folder / "dc.wav", np.full(af.SR * 2, 0.5, np.float32)), "ok"
    yield "dc-full-scale.flac", af.write(folder / "dc.flac", np.full(af.SR * 2, -1.0, np.float32)), "ok"


#: Names with spaces, quotes, unicode, leading dashes, shell syntax, a line break.
ODD_NAMES = ["with space.wav", "it's \"quoted\".wav", "ünïcødé 音 🎵.flac", "-rf --help.wav", "--.mp3",
             "line\nbreak.wav", "$(touch pwned).wav", "`id`;rm -rf x.ogg", " leading space.wav"]


def odd_names(folder: Path) -> Iterator[tuple[str, Path, str]]:
    for name in ODD_NAMES:
        yield name, af.write(folder / name, af.with_gaps([(0.1, 0.6)], 0.8)), "ok"


CATEGORIES = {"truncated": truncated_files, "foreign": foreign_files, "non_finite": non_finite_files,
              "handmade": handmade_files, "extreme": extreme_signals, "names": odd_names}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioSamplerEngine]:
    with AudioSamplerEngine(make_settings(tmp_path_factory.mktemp("hostile")), plugins=[Features]) as engine:
        yield engine


@pytest.fixture(scope="module")
def outcomes(engine: AudioSamplerEngine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """category → {case: (report, expected)}, every file analysed in one batch."""
    cases = []
    for category, make in CATEGORIES.items():
        folder = tmp_path_factory.mktemp(category)
        cases += [(category, name, path, expected) for name, path, expected in make(folder)]
    reports = list(engine.analyze_paths([path for _, _, path, _ in cases]))
    found: dict[str, dict] = {category: {} for category in CATEGORIES}
    for (category, name, path, expected), report in zip(cases, reports, strict=True):
        assert report["path"] == str(path)
        found[category][name] = (report, expected)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("category", list(CATEGORIES))
def test_each_hostile_file_ends_ok_or_as_a_clear_recorded_error(outcomes: dict[str, dict], category: str) -> None:
    wrong = {name: why for name, (report, expected) in outcomes[category].items()
             if (why := verdict(report, expected))}
    assert not wrong, json.dumps(wrong, indent=1, ensure_ascii=False)
    for report, _ in outcomes[category].values():
        json.dumps(report, allow_nan=False)  # strictly JSON, whatever the file held


@pytest.mark.slow
def test_after_the_hostile_batch_the_database_is_whole_and_nothing_is_left(
        outcomes: dict[str, dict], engine: AudioSamplerEngine) -> None:
    settings = engine.settings
    with closing(sqlite3.connect(settings.data_dir / "audio.db")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = dict(db.execute("SELECT path, status FROM files").fetchall())
        partial = db.execute("SELECT COUNT(*) FROM files f WHERE f.status = 'error' AND EXISTS "
                             "(SELECT 1 FROM regions r WHERE r.file_id = f.id)").fetchone()[0]
    reports = [report for cases in outcomes.values() for report, _ in cases.values()]
    assert {r["path"]: r["status"] for r in reports} == rows  # every file recorded, as reported
    assert partial == 0
    assert not list(settings.tmp_dir.iterdir())  # no decoded audio left behind
    status = engine.sandbox.status()
    assert status["failures"].get("crashed", 0) == 0 and status["failures"].get("timeout", 0) == 0
    assert engine.analyze_file(af.write(settings.data_dir / "after.wav", af.tone(440, 0.5)))["status"] == "ok"


def test_a_name_that_is_not_utf8_is_a_clear_error(engine: AudioSamplerEngine, tmp_path: Path) -> None:
    """Latin-1 names from an old archive: reported (the database holds UTF-8 text only),
    never an internal error."""
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9 \xff.wav"))
    path.write_bytes(af.write(tmp_path / "good.wav", af.tone(440, 0.5)).read_bytes())
    report = engine.analyze_file(path)
    assert (report["status"], report["error_code"], report["id"]) == ("error", "invalid_name", None)
    assert "not valid UTF-8" in report["error"] and report["path"].endswith("caf\\xe9 \\xff.wav")
    json.dumps(report, ensure_ascii=False).encode()  # printable as the API and the CLI print it


@pytest.mark.slow
def test_four_hours_of_digital_silence_is_ok_with_no_regions(engine: AudioSamplerEngine, tmp_path: Path) -> None:
    """A 4-hour WAV at 8 kHz, made in no time as a sparse file of zeros."""
    frames = 4 * 3600 * 8000
    path = tmp_path / "four hours of nothing.wav"
    with open(path, "wb") as handle:
        handle.write(wav_header(1, 8000, data_bytes=2 * frames))
        handle.truncate(44 + 2 * frames)
    report = engine.analyze_file(path)
    assert (report["status"], report["regions"]) == ("ok", []), report["error"]
    assert report["duration_s"] == pytest.approx(4 * 3600, abs=0.01)
    assert not list(engine.settings.tmp_dir.iterdir())


@pytest.mark.slow
def test_hostile_uploads_leave_the_server_up_and_no_partial_file(tmp_path: Path) -> None:
    made = [make(tmp_path) for name, (make, _) in sorted(BROKEN.items())
            if name != "zero_bytes"]  # an empty upload is refused before it is stored (tests/api)
    upload = [(path.name, path.read_bytes()) for path in made]
    upload += [(name, data) for name, (data, _) in list(HANDMADE.items())[::4]]
    upload += [(name, af.write(tmp_path / "gaps.flac", af.with_gaps([(0.1, 0.6)], 0.8)).read_bytes())
               for name in ("it's \"quoted\".flac", "ünïcødé 音.flac", "--help.flac")]
    settings = make_settings(tmp_path / "data", plugins=["features"])
    with serve(settings) as base, httpx.Client(base_url=base, timeout=120) as client:
        created = client.post("/api/analyze/upload", files=[("files", item) for item in upload])
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
            events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
        assert events[-1] == {"type": "end", "state": "done"}
        finished = [e for e in events if e["type"] == "file"]
        assert len(finished) == len(upload)
        for event in finished:
            if event["status"] == "error":
                assert event["error_code"] in CONTENT_ERRORS and event["file_id"], event
        assert sum(e["status"] == "ok" for e in finished) >= 3
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/status").json()["database"]["files"] == len(upload)
    assert not list(settings.upload_dir.rglob("*.part")) and not list(settings.tmp_dir.iterdir())
    stored = sorted(p.name for p in settings.upload_dir.rglob("*") if p.is_file())
    assert len(stored) == len(upload) and not [n for n in stored if n.startswith(("-", "."))]
