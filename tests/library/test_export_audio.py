"""Export end to end: generated grooves analysed by the engine, exported through the
sandbox stretched and shifted, and the exported files analysed again."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.engine import AudioSamplerEngine
from core.export import ExportError, ExportOptions
from core.exporter import export_regions
from tests import audio_factory as af
from tests.conftest import make_settings

PLUGINS = ["features", "tempo_meter", "key_finder"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioSamplerEngine]:
    folder = tmp_path_factory.mktemp("export")
    with AudioSamplerEngine(make_settings(folder / "data", plugins=PLUGINS)) as running:
        yield running


def _analysed(engine: AudioSamplerEngine, path: Path) -> dict:
    report = engine.analyze_file(path, force=True)
    assert report["status"] == "ok" and len(report["regions"]) == 1, report
    return report


def _region_id(engine: AudioSamplerEngine, path: Path) -> int:
    from database import queries

    with engine.database.session() as session:
        file_id = queries.get_file(session, str(path)).id
        return queries.search_regions(session, queries.RegionQuery(file_id=file_id))[1][0]["id"]


@pytest.mark.slow
def test_a_stretched_groove_measures_the_target_tempo(engine: AudioSamplerEngine, tmp_path: Path) -> None:
    source = af.write(tmp_path / "drums_120.wav", af.rhythm(120, 4, 16.0))
    assert _analysed(engine, source)["regions"][0]["analysis"]["tempo_meter"]["bpm"] == pytest.approx(120, rel=0.01)
    out = tmp_path / "out"
    result = export_regions(engine.database, engine.sandbox, [_region_id(engine, source)], out,
                            ExportOptions(target_bpm=128.0, normalise="peak"))
    (item,) = result.items
    assert item["status"] == "ok" and item["file"].startswith("drums_120_128bpm_") and item["file"].endswith("_001.wav")
    assert item["stretch"] == pytest.approx(128 / item["source_bpm"], rel=1e-6)
    assert item["duration_s"] == pytest.approx(16.0 * item["source_bpm"] / 128, rel=0.01)
    again = _analysed(engine, out / item["file"])["regions"][0]["analysis"]["tempo_meter"]
    assert again["bpm"] == pytest.approx(128.0, rel=0.01)


@pytest.mark.slow
def test_a_shifted_progression_is_found_in_the_target_key(engine: AudioSamplerEngine, tmp_path: Path) -> None:
    source = af.write(tmp_path / "chords_am.wav", af.progression(9, "minor", 8.0))
    assert _analysed(engine, source)["regions"][0]["analysis"]["key_finder"]["key"] == "A minor"
    out = tmp_path / "out"
    result = export_regions(engine.database, engine.sandbox, [_region_id(engine, source)], out,
                            ExportOptions(target_key="C minor", fmt="flac", template="{name}_{key}_{index}"))
    (item,) = result.items
    assert (item["status"], item["file"], item["semitones"], item["key"]) == \
        ("ok", "chords_am_Cm_001.flac", 3, "C minor")
    assert _analysed(engine, out / item["file"])["regions"][0]["analysis"]["key_finder"]["key"] == "C minor"


def test_manifests_list_samples_and_failures(engine: AudioSamplerEngine, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    tone = af.write(tmp_path / "tone.wav", af.tone(440.0, 1.0))
    gone = af.write(tmp_path / "gone.wav", af.tone(220.0, 1.0))
    for path in (tone, gone):
        _analysed(engine, path)
    ids = [_region_id(engine, tone), _region_id(engine, gone), _region_id(engine, tone)]
    gone.unlink()
    out = tmp_path / "out"
    (out / "tone_001.wav").parent.mkdir()
    (out / "tone_001.wav").write_bytes(b"already there")
    result = export_regions(engine.database, engine.sandbox, ids, out, ExportOptions(template="{name}_{index}"),
                            extra={"pack": {"seed": 7}})
    assert [i["status"] for i in result.items] == ["ok", "error"] and result.failed == 1  # duplicate ids once
    assert result.items[0]["file"] == "tone_001-2.wav"  # an existing file is never overwritten
    assert "No such file" in result.items[1]["error"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["exported"] == 1 and manifest["failed"] == 1 and manifest["pack"] == {"seed": 7}
    assert manifest["options"]["template"] == "{name}_{index}"
    rows = list(csv.DictReader((out / "manifest.csv").open()))
    assert [r["file"] for r in rows] == ["tone_001-2.wav", ""] and rows[0]["source_path"] == str(tone)
    assert not list(out.glob(".*part*"))
    monkeypatch.setattr("core.exporter.MAX_REGION_S", 0.5)
    (long,) = export_regions(engine.database, engine.sandbox, ids[:1], tmp_path / "long", ExportOptions()).items
    assert long["error"] == "region is 1.0 s long; at most 0.5 s are exported"
    with pytest.raises(ExportError, match="no region with id 999999"):
        export_regions(engine.database, engine.sandbox, [999_999], out, ExportOptions())
    with pytest.raises(ExportError, match="nothing to export"):
        export_regions(engine.database, engine.sandbox, [], out, ExportOptions())
    with pytest.raises(ExportError, match="unknown field"):
        export_regions(engine.database, engine.sandbox, ids, out, ExportOptions(template="{bogus}"))
