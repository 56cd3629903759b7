"""The engine end to end: real files, real workers, deliberately bad plugins."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select

from core.config import RegionSettings
from core.engine import AudioSamplerEngine, Progress, _decode_failure, content_hash, expand_paths
from core.sandbox import Outcome, TaskResult
from database import store
from database.models import File, Region, RegionAnalysis
from plugins.features import Features
from tests import audio_factory as af
from tests import fault_plugins as bad
from tests.broken_files import BROKEN
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def faulty_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioSamplerEngine]:
    plugins = [Features, bad.Raises, bad.Hangs, bad.Aborts, bad.Hog, bad.NeedsFeatures, bad.NeedsRaises]
    engine = AudioSamplerEngine(make_settings(tmp_path_factory.mktemp("faulty")), plugins=plugins)
    yield engine
    engine.close()


def count(engine: AudioSamplerEngine, model) -> int:
    with engine.database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.slow
def test_every_failure_is_recorded_and_features_still_stored(faulty_engine: AudioSamplerEngine, gaps_wav: Path) -> None:
    report = faulty_engine.analyze_file(gaps_wav)
    assert report["status"] == "ok" and len(report["regions"]) == 2
    for region in report["regions"]:
        analysis = region["analysis"]
        assert analysis["features"]["status"] == "ok"
        assert analysis["features"]["duration_s"] == pytest.approx(region["end_s"] - region["start_s"], abs=1e-3)
        assert analysis["raises"] == {**analysis["raises"], "status": "error",
                                      "error": "RuntimeError: this plugin always fails"}
        assert analysis["hangs"]["status"] == "timeout"
        assert analysis["aborts"]["status"] == "crashed" and "SIGABRT" in analysis["aborts"]["error"]
        assert analysis["hog"]["status"] == "oom"
        assert analysis["needs_features"]["status"] == "ok"
        assert analysis["needs_features"]["seen_duration_s"] == analysis["features"]["duration_s"]
        assert analysis["needs_features"]["start_s"] == pytest.approx(region["start_s"], abs=1e-4)
        assert analysis["needs_features"]["values"] == [0, 1, 2] and analysis["needs_features"]["nan"] is None
        assert analysis["needs_raises"]["status"] == "skipped"
        assert "requires raises" in analysis["needs_raises"]["error"]
    summary = report["summary"]
    assert summary["analysis_status"]["hangs"] == {"timeout": 2}
    assert summary["regions"] == 2 and summary["loudness_lufs"] < 0
    json.dumps(report, allow_nan=False)  # strictly JSON
    # The engine is alive and keeps working after all that.
    assert faulty_engine.analyze_file(gaps_wav, force=True, plugins=["features"])["status"] == "ok"
    assert count(faulty_engine, RegionAnalysis) == 2 * 7


@pytest.mark.slow
def test_independent_plugins_run_side_by_side_and_a_dependent_one_after(tmp_path: Path) -> None:
    """Two workers, a file of one region: naps and naps_too at once, needs_naps after naps."""
    path = af.write(tmp_path / "one.wav", af.tone(440.0, 2.0, af.SR))
    with AudioSamplerEngine(make_settings(tmp_path), plugins=[bad.Naps, bad.NapsToo, bad.NeedsNaps]) as engine:
        engine.analyze_file(path)  # workers started and warm
        (region,) = engine.analyze_file(path, force=True)["regions"]
    naps, naps_too, needs = (region["analysis"][name] for name in ("naps", "naps_too", "needs_naps"))
    assert max(naps["started"], naps_too["started"]) < min(naps["ended"], naps_too["ended"])
    assert needs["started"] >= naps["ended"]
    assert list(region["analysis"]) == ["naps", "naps_too", "needs_naps"]


def test_report_follows_the_stable_json(features_engine: AudioSamplerEngine, gaps_wav: Path) -> None:
    report = features_engine.analyze_file(gaps_wav)
    assert {"path", "status", "error", "duration_s", "regions", "summary"} <= set(report)
    assert report["path"] == str(gaps_wav) and report["duration_s"] == pytest.approx(4.0, abs=0.01)
    region = report["regions"][0]
    assert {"index", "start_s", "end_s", "analysis"} <= set(region)
    assert region["analysis"]["features"]["status"] == "ok"
    assert region["analysis"]["features"]["version"] == Features.version


def test_unchanged_files_are_not_analysed_again(features_engine: AudioSamplerEngine, tmp_path: Path) -> None:
    path = af.write(tmp_path / "same.wav", af.with_gaps([(0.2, 1.0)], 1.5))
    first = features_engine.analyze_file(path)
    calls = features_engine.sandbox.status()["calls"]
    events: list[Progress] = []
    second = features_engine.analyze_file(path, progress=events.append)
    assert features_engine.sandbox.status()["calls"] == calls  # nothing decoded, nothing run
    assert [e.stage for e in events] == ["hashing", "skipped"]
    assert second["id"] == first["id"] and second["regions"] == first["regions"]
    features_engine.analyze_file(path, force=True)
    assert features_engine.sandbox.status()["calls"] == calls + 2  # decode + one region


def test_a_changed_file_replaces_its_old_results(features_engine: AudioSamplerEngine, tmp_path: Path) -> None:
    path = tmp_path / "changing.wav"
    af.write(path, af.with_gaps([(0.2, 1.0)], 1.5))
    assert len(features_engine.analyze_file(path)["regions"]) == 1
    af.write(path, af.with_gaps([(0.2, 1.0), (2.0, 2.5), (3.0, 3.5)], 4.0))
    report = features_engine.analyze_file(path)
    assert len(report["regions"]) == 3 and report["content_hash"] == content_hash(path)
    with features_engine.database.session() as session:
        file = session.scalar(select(File).where(File.path == str(path)))
        assert session.scalar(select(func.count()).where(Region.file_id == file.id)) == 3


def test_a_new_plugin_version_reruns_only_that_plugin(tmp_path: Path, gaps_wav: Path, database_url: str) -> None:
    class FeaturesV2(Features):
        version = "2.0.0"

    settings = make_settings(tmp_path / "data", database_url=database_url)
    with AudioSamplerEngine(settings, plugins=[Features, bad.ShortOnly]) as engine:
        first = engine.analyze_file(gaps_wav)
        assert [r["analysis"]["short_only"]["status"] for r in first["regions"]] == ["ok", "not_applicable"]
    with AudioSamplerEngine(settings, plugins=[FeaturesV2, bad.ShortOnly]) as engine:
        events: list[Progress] = []
        second = engine.analyze_file(gaps_wav, progress=events.append)
        assert max(e.total for e in events) == 2  # two regions × features only
    assert [r["analysis"]["features"]["version"] for r in second["regions"]] == ["2.0.0", "2.0.0"]
    assert second["regions"][0]["analysis"]["short_only"] == first["regions"][0]["analysis"]["short_only"]
    assert second["id"] == first["id"]


def test_new_region_thresholds_redo_the_file(tmp_path: Path, gaps_wav: Path) -> None:
    with AudioSamplerEngine(make_settings(tmp_path / "data"), plugins=[Features]) as engine:
        assert len(engine.analyze_file(gaps_wav)["regions"]) == 2
    merged = make_settings(tmp_path / "data", region=RegionSettings(min_silence_s=1.0))
    with AudioSamplerEngine(merged, plugins=[Features]) as engine:
        report = engine.analyze_file(gaps_wav, force=False)
    assert len(report["regions"]) == 2  # unchanged file, same thresholds' result is kept...
    with AudioSamplerEngine(merged, plugins=[Features]) as engine:
        report = engine.analyze_file(gaps_wav, force=True)
    assert len(report["regions"]) == 1  # ...until it is analysed again


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_are_recorded_with_their_error(features_engine: AudioSamplerEngine, tmp_path: Path,
                                                    name: str) -> None:
    make, code = BROKEN[name]
    path = make(tmp_path)
    report = features_engine.analyze_file(path)
    assert (report["status"], report["error_code"]) == ("error", code)
    assert report["error"] and report["regions"] == [] and report["id"] is not None
    again = features_engine.analyze_file(path)  # an unchanged broken file is not retried
    assert again["id"] == report["id"] and again["error"] == report["error"]


def test_a_missing_path_is_reported_not_stored(features_engine: AudioSamplerEngine, tmp_path: Path) -> None:
    report = features_engine.analyze_file(tmp_path / "nothing-here.wav")
    assert (report["status"], report["error_code"], report["id"]) == ("error", "not_found", None)
    assert features_engine.analyze_file(tmp_path)["error"] == "not a regular file"
    # a home folder of no such user stays the path it was (pathlib's expanduser raised)
    report = features_engine.analyze_file("~no-such-user-0/kick.wav")
    assert (report["status"], report["error_code"], report["error"]) == ("error", "not_found", "no such file")


def test_an_unknown_plugin_is_a_clear_error(features_engine: AudioSamplerEngine, gaps_wav: Path) -> None:
    report = features_engine.analyze_file(gaps_wav, plugins=["nope"])
    assert report["error_code"] == "plugin_error" and "unknown plugin" in report["error"]


def test_a_silent_file_is_ok_with_no_regions(features_engine: AudioSamplerEngine, tmp_path: Path) -> None:
    report = features_engine.analyze_file(af.write(tmp_path / "silence.flac", af.silence(3.0)))
    assert report["status"] == "ok" and report["regions"] == [] and report["duration_s"] == pytest.approx(3.0)
    assert report["summary"]["regions"] == 0


def test_decoding_past_its_time_limit_is_recorded(tmp_path: Path, gaps_wav: Path) -> None:
    with AudioSamplerEngine(make_settings(tmp_path / "data", decode_timeout_s=0.01), plugins=[Features]) as engine:
        report = engine.analyze_file(gaps_wav)
    assert (report["status"], report["error_code"]) == ("error", "decode_timeout")
    assert not list((tmp_path / "data" / "tmp").glob("*.f32"))  # the partial decode is cleaned up


def test_a_failed_write_leaves_nothing_behind(features_engine: AudioSamplerEngine, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = af.write(tmp_path / "atomic.wav", af.with_gaps([(0.2, 1.0)], 1.5))
    files_before = count(features_engine, File)
    regions_before = count(features_engine, Region)

    def broken_summary(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store, "set_summary", broken_summary)
    report = features_engine.analyze_file(path)
    assert report["error_code"] == "internal_error" and "disk full" in report["error"]
    assert (count(features_engine, File), count(features_engine, Region)) == (files_before, regions_before)
    monkeypatch.undo()
    assert features_engine.analyze_file(path)["status"] == "ok"


def test_analyze_paths_walks_folders_in_order(features_engine: AudioSamplerEngine, tmp_path: Path) -> None:
    library = tmp_path / "library"
    (library / "drums" / "kicks").mkdir(parents=True)
    af.write(library / "drums" / "kicks" / "b.wav", af.clicks(2, 1.0))
    af.write(library / "drums" / "a.flac", af.clicks(4, 1.0))
    af.write(library / "pad.mp3", af.tone(330, 1.0))
    (library / "notes.txt").write_text("not audio")
    shutil.copy(library / "pad.mp3", library / "PAD-COPY.MP3")
    found = [p.relative_to(library).as_posix() for p in expand_paths([library])]
    assert found == ["PAD-COPY.MP3", "drums/a.flac", "drums/kicks/b.wav", "pad.mp3"]
    events: list[Progress] = []
    reports = list(features_engine.analyze_paths([library, tmp_path / "missing.wav"], progress=events.append))
    assert [r["status"] for r in reports] == ["ok"] * 4 + ["error"]
    assert {e.stage for e in events} >= {"hashing", "decoding", "analysing", "storing", "done"}


def test_a_broken_progress_callback_does_not_stop_the_engine(features_engine: AudioSamplerEngine,
                                                             tmp_path: Path) -> None:
    def explode(event: Progress) -> None:
        raise RuntimeError("callback bug")

    path = af.write(tmp_path / "cb.wav", af.tone(440, 0.5))
    assert features_engine.analyze_file(path, progress=explode)["status"] == "ok"


def test_status_describes_the_engine(features_engine: AudioSamplerEngine, backend: str) -> None:
    status = features_engine.status()
    assert status["plugins"] == ["features"]
    assert status["sandbox"]["workers"] == 2
    assert make_url(status["database"]["url"]).get_backend_name() == backend
    assert status["database"]["files"] >= 0


def test_stale_decoded_audio_is_removed_at_start(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    settings.ensure_dirs()
    stale = settings.tmp_dir / "999999999-dead-0.f32"
    stale.write_bytes(os.urandom(64))
    with AudioSamplerEngine(settings, plugins=[Features]):
        assert not stale.exists()


def test_an_unreadable_file_is_recorded(features_engine: AudioSamplerEngine, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = af.write(tmp_path / "locked.wav", af.tone(440, 0.5))

    def refuse(_path: Path) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("core.engine.content_hash", refuse)
    report = features_engine.analyze_file(path)
    assert (report["status"], report["error_code"]) == ("error", "unreadable")
    assert report["error"] == "cannot read the file: Permission denied" and report["id"] is not None


@pytest.mark.parametrize(
    ("result", "code", "words"),
    [
        (TaskResult(Outcome.ERROR, error="the file is empty", error_type="EmptyAudio"), "empty", "the file is empty"),
        (TaskResult(Outcome.ERROR, error="KeyError: x", error_type="KeyError"), "decode_error", "KeyError"),
        (TaskResult(Outcome.TIMEOUT, error="did not finish within 300 s"), "decode_timeout", "decoding did not"),
        (TaskResult(Outcome.OOM, error="ran out of its memory cap of 1024 MiB"), "decode_oom", "memory cap"),
        (TaskResult(Outcome.CRASHED, error="the worker died from signal SIGSEGV"), "decoder_crashed", "SIGSEGV"),
    ],
)
def test_decode_failures_map_to_codes_and_messages(result: TaskResult, code: str, words: str) -> None:
    got_code, message = _decode_failure(result)
    assert got_code == code and words in message


def test_regions_under_a_plugins_minimum_are_not_applicable_without_a_call(tmp_path: Path, gaps_wav: Path) -> None:
    with AudioSamplerEngine(make_settings(tmp_path / "data"), plugins=[bad.LongOnly]) as engine:
        report = engine.analyze_file(gaps_wav)  # regions of about 1.04 s and 1.29 s
        assert engine.sandbox.status()["calls"] == 2  # the decode and the one long region
    short, long = (r["analysis"]["long_only"] for r in report["regions"])
    assert short["status"] == "not_applicable" and "shorter than the 1.1 s long_only needs" in short["error"]
    assert long["status"] == "ok" and long["n"] > 1.1 * 22_050
