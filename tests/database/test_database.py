"""Schema, pragmas, atomic writes and reports."""

from __future__ import annotations

import multiprocessing
from datetime import datetime, timedelta

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from database import queries, store
from database.models import File, Region, RegionAnalysis, Tag
from database.session import MIGRATIONS_DIR, Database

FACTS = store.FileFacts(path="/music/a.wav", content_hash="ab" * 32, size_bytes=1234,
                        info={"format": "wav", "codec": "pcm_s16le", "sample_rate": 44_100, "channels": 2,
                              "duration_s": 3.5})
PEAKS = {"sample_rate": 22_050, "samples_per_pixel": 1, "length": 1, "min": [0.0], "max": [0.1]}


def regions() -> list[store.RegionRecord]:
    return [
        store.RegionRecord(0, 0.5, 1.5, PEAKS, [store.AnalysisRecord("features", "1.0.0", "ok", {"rms_dbfs": -12.0})]),
        store.RegionRecord(1, 2.0, 3.0, PEAKS, [store.AnalysisRecord("features", "1.0.0", "timeout", error="slow")]),
    ]


def test_migrations_build_every_table_and_are_idempotent(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert {"files", "regions", "region_analysis", "file_summary", "waveforms", "tags", "region_vectors", "jobs",
            "alembic_version"} <= tables
    database.migrate()  # a second run changes nothing
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    with database.session() as session:
        assert session.scalar(text("SELECT version_num FROM alembic_version")) == head


def _migrate(url: str) -> None:
    Database(url).migrate()


def test_processes_starting_together_migrate_one_after_another(settings) -> None:
    """Workers of a scan, or a scan beside the server, start at once on one new database."""
    settings.ensure_dirs()
    starts = [multiprocessing.get_context("fork").Process(target=_migrate, args=(settings.effective_database_url,))
              for _ in range(4)]
    for start in starts:
        start.start()
    for start in starts:
        start.join(60)
    assert [start.exitcode for start in starts] == [0] * 4
    database = Database(settings.effective_database_url)
    with database.session() as session:
        assert session.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    database.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'audio.db'}")
    assert database.is_sqlite
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    database.dispose()


def test_postgresql_connections_plan_each_search_for_its_parameters_without_jit(postgres) -> None:
    database = Database(postgres.url() + "?options=-c%20work_mem%3D8MB")  # the URL's own options are kept
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW jit").scalar() == "off"
            assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar() == "force_custom_plan"
            assert connection.exec_driver_sql("SHOW work_mem").scalar() == "8MB"
    finally:
        database.dispose()


def test_a_file_is_stored_with_regions_analyses_and_summary(database: Database) -> None:
    with database.session() as session:
        file = store.replace_file(session, FACTS, regions=regions(), waveform={"overview": PEAKS, "zoom": PEAKS})
        store.set_summary(session, file, {"regions": 2})
    with database.session() as session:
        report = queries.file_report(queries.get_file(session, FACTS.path))
    assert (report["status"], report["duration_s"], report["name"]) == ("ok", 3.5, "a.wav")
    assert datetime.fromisoformat(report["analyzed_at"]).utcoffset() == timedelta(0)  # UTC, said so, on every backend
    first, second = report["regions"]
    assert first["analysis"]["features"] == {"status": "ok", "version": "1.0.0", "elapsed_s": 0.0, "rms_dbfs": -12.0}
    assert second["analysis"]["features"]["error"] == "slow"
    assert report["summary"] == {"regions": 2}


def test_replacing_a_file_removes_its_old_children(database: Database) -> None:
    with database.session() as session:
        store.replace_file(session, FACTS, regions=regions())
    with database.session() as session:
        store.replace_file(session, FACTS, error_code="empty", error="the file is empty")
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Region)) == 0
        assert session.scalar(select(func.count()).select_from(RegionAnalysis)) == 0
        file = queries.get_file(session, FACTS.path)
        assert (file.status, file.error_code) == ("error", "empty")
        assert queries.status_counts(session) == {"error": 1}


def test_a_failure_inside_the_transaction_stores_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        store.replace_file(session, FACTS, regions=regions())
        raise RuntimeError("killed halfway")
    with database.session() as session:
        assert queries.totals(session)["files"] == 0
        assert session.scalar(select(func.count()).select_from(RegionAnalysis)) == 0


def test_upsert_replaces_one_plugin_and_keeps_the_others(database: Database) -> None:
    with database.session() as session:
        store.replace_file(session, FACTS, regions=regions())
    with database.session() as session:
        region = queries.get_file(session, FACTS.path).regions[0]
        store.upsert_analyses(region, [store.AnalysisRecord("features", "2.0.0", "ok", {"rms_dbfs": -11.0}),
                                       store.AnalysisRecord("tempo", "1.0.0", "not_applicable", error="too short")])
    with database.session() as session:
        analysis = queries.file_report(queries.get_file(session, FACTS.path))["regions"][0]["analysis"]
    assert analysis["features"]["version"] == "2.0.0" and analysis["features"]["rms_dbfs"] == -11.0
    assert analysis["tempo"]["status"] == "not_applicable"


def test_tags_belong_to_exactly_one_target(database: Database) -> None:
    with database.session() as session:
        file = store.replace_file(session, FACTS, regions=regions())
        session.add(Tag(file_id=file.id, tag="drums", source="user"))
        session.add(Tag(region_id=file.regions[0].id, tag="kick", source="model", confidence=0.9))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Tag(tag="orphan", source="user"))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Tag(file_id=1, tag="x", source="robot"))
    with database.session() as session:  # deleting a file deletes its tags (foreign keys cascade)
        session.delete(session.scalar(select(File)))
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Tag)) == 0


def test_reserved_keys_of_a_result_do_not_override_the_outcome(database: Database) -> None:
    with database.session() as session:
        record = store.RegionRecord(0, 0.0, 1.0, PEAKS,
                                    [store.AnalysisRecord("odd", "1", "ok", {"status": "lies", "value": 1})])
        store.replace_file(session, FACTS, regions=[record])
    with database.session() as session:
        entry = queries.file_report(queries.get_file(session, FACTS.path))["regions"][0]["analysis"]["odd"]
    assert entry["status"] == "ok" and entry["value"] == 1


def test_nul_characters_are_stored_as_replacement_characters(database: Database) -> None:
    """PostgreSQL stores no NUL, in text or in JSON: a plugin's message or result holding one is
    kept all the same, with U+FFFD in its place, on every backend."""
    with database.session() as session:
        record = store.AnalysisRecord("odd", "1", "error", {"k\x00": "a\x00b", "escaped": "\\u0000"}, "bad\x00byte")
        store.replace_file(session, FACTS, regions=[store.RegionRecord(0, 0.0, 1.0, PEAKS, [record])])
    with database.session() as session:
        entry = queries.file_report(queries.get_file(session, FACTS.path))["regions"][0]["analysis"]["odd"]
    assert (entry["error"], entry["k\ufffd"], entry["escaped"]) == ("bad\ufffdbyte", "a\ufffdb", "\\u0000")


def test_redacted_url(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert db.redacted_url() == f"sqlite:///{tmp_path / 'x.db'}"
    db.dispose()
    assert Database("postgresql+psycopg://me:secret@db:5432/audio").redacted_url() == \
        "postgresql+psycopg://me:***@db:5432/audio"
