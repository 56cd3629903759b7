"""``main.py tag`` (and the other library commands) run in this process on a test database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import main
from database.session import Database
from tests.conftest import make_settings
from tests.library.helpers import add_file, classified


@pytest.fixture
def cli_database(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The database ``main.py`` opens (the process settings point at it), migrated."""
    settings = make_settings(tmp_path / "data", database_url=database_url)
    monkeypatch.setattr("core.config._current", settings)
    settings.ensure_dirs()
    database = Database(settings.effective_database_url)
    database.migrate()
    yield database
    database.dispose()


def test_tag_add_remove_list(cli_database: Database, capsys: pytest.CaptureFixture) -> None:
    kick, _ = add_file(cli_database, "/lib/cli.wav", [classified("kick", 0.75), []])
    assert main.main(["tag", "add", "--region", str(kick), "Kick", "dry"]) == 0
    assert capsys.readouterr().out.strip() == f"region {kick}: dry, kick, kick (model 0.75)"
    assert main.main(["tag", "remove", "--region", str(kick), "dry", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"tag": "kick", "probability": None, "source": "user"},
                                                   {"tag": "kick", "probability": 0.75, "source": "model"}]
    assert main.main(["tag", "list", "--json", "--source", "user"]) == 0
    assert [e["tag"] for e in json.loads(capsys.readouterr().out)] == ["kick"]
    assert main.main(["tag", "list"]) == 0
    assert capsys.readouterr().out.split()[:8] == ["kick", "user", "1", "/", "0", "model", "1", "/"]


def test_tag_errors(cli_database: Database, capsys: pytest.CaptureFixture) -> None:
    assert main.main(["tag", "add", "--file", "999999", "kick"]) == 1
    assert "no file with id 999999" in capsys.readouterr().err
    (region,) = add_file(cli_database, "/lib/cli2.wav", [[]])
    assert main.main(["tag", "add", "--region", str(region), "  "]) == 2
    assert "empty" in capsys.readouterr().err


def test_export_by_ids_and_by_search(cli_database: Database, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from tests import audio_factory as af

    source = af.write(tmp_path / "two.wav", af.tone(300.0, 2.0, amp=0.2))
    first, second = add_file(cli_database, str(source), [classified("kick"), classified("snare")])
    out = tmp_path / "picked"
    assert main.main(["export", str(second), "--out", str(out), "--template", "{tag}_{region}", "--fade-out", "5"]) == 0
    assert capsys.readouterr().out.strip() == "ok     snare_2.wav"
    assert sorted(p.name for p in out.iterdir()) == ["manifest.csv", "manifest.json", "snare_2.wav"]
    assert main.main(["export", "--tag", "kick", "--out", str(tmp_path / "kicks"), "--format", "mp3", "--json"]) == 0
    assert [i["region_id"] for i in json.loads(capsys.readouterr().out)] == [first]
    assert main.main(["export", "--tag", "hat", "--out", str(tmp_path / "none")]) == 1
    assert "no region matches" in capsys.readouterr().err
    assert main.main(["export", "1", "--out", str(out), "--to-key", "H"]) == 2
    assert "unknown key" in capsys.readouterr().err
    assert main.main(["export", "999999", "--out", str(out)]) == 2
    assert "no region with id 999999" in capsys.readouterr().err
    source.unlink()
    assert main.main(["export", str(first), "--out", str(tmp_path / "gone")]) == 1
    assert capsys.readouterr().out.startswith(f"error  region {first}: cannot read file")


def test_pack_report_saved_weights_and_export(cli_database: Database, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    from tests import audio_factory as af
    from tests.library.helpers import user_tag_regions

    source = af.write(tmp_path / "hits.wav", af.tone(200.0, 8.0, amp=0.2))
    for tag, count in (("kick", 6), ("snare", 4)):
        user_tag_regions(cli_database, tag, count, str(source) if tag == "kick" else str(tmp_path / "other.wav"))
    assert main.main(["pack", "--size", "5", "--weights", "kick=0.6,snare=0.4,hat=0.1", "--seed", "3"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[0] == "5 of 5 regions drawn (weights, seed 3)"
    assert lines[2].split() == ["kick", "60.0%", "60.0%", "3", "6"] and lines[4].split()[3:] == ["0", "0"]
    assert "hat: no region matches, skipped" in printed.err
    assert main.main(["pack", "--size", "5", "--seed", "3", "--json"]) == 0  # the saved weights
    saved = json.loads(capsys.readouterr().out)
    assert [c["weight"] for c in saved["report"]["categories"]] == [0.6, 0.4, 0.1] and len(saved["region_ids"]) == 5
    assert main.main(["pack", "--size", "3", "--category", "kick", "--seed", "1", "--export", str(tmp_path / "p"),
                      "--template", "{tag}_{index}"]) == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["kick_001.wav", "kick_002.wav", "kick_003.wav",
                                                                  "manifest.csv", "manifest.json"]
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["pack"]["mode"] == "categories"
    assert main.main(["pack", "--size", "30", "--category", "snare"]) == 1  # short of the size asked
    assert main.main(["pack", "--size", "3", "--weights", "kick=-1"]) == 2
    assert main.main(["pack", "--size", "3", "--category", "clap"]) == 2
    assert "no region matches any of the categories clap" in capsys.readouterr().err
