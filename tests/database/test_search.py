"""Region facets and the search queries behind /database/files and /api/regions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from database import queries, store, taggers
from database.models import Region, Tag
from database.session import Database
from plugins.embeddings import decode, encode

PEAKS = {"sample_rate": 22_050, "samples_per_pixel": 1, "length": 1, "min": [0.0], "max": [0.1]}


def _analyses(bpm: float, key: str, lufs: float, status: str = "ok") -> list[store.AnalysisRecord]:
    return [store.AnalysisRecord("tempo_meter", "1", status, {"bpm": bpm}),
            store.AnalysisRecord("key_finder", "1", "ok", {"key": key}),
            store.AnalysisRecord("features", "1", "ok", {"loudness_lufs": lufs})]


@pytest.fixture
def library(database: Database) -> Database:
    """Three files: a loop at 90 bpm in A minor (two regions), 128 in E minor, 100 in F# major."""
    files = {
        "/lib/loop_am.wav": [(90.0, "A minor", -10.0), (91.0, "A minor", -20.0)],
        "/lib/loop_em.wav": [(128.0, "E minor", -12.0)],
        "/lib/pad_fs.wav": [(100.0, "F# major", -30.0)],
    }
    with database.session() as session:
        for path, rows in files.items():
            records = [store.RegionRecord(i, 2.0 * i, 2.0 * i + 1.5 + i, PEAKS, _analyses(*row))
                       for i, row in enumerate(rows)]
            store.replace_file(session, store.FileFacts(path, path[-10:].ljust(64, "0"), 10, {}), regions=records)
    return database


def _search(database: Database, **filters) -> tuple[int, list[dict]]:
    with database.session() as session:
        found = queries.search_regions(session, queries.RegionQuery(**filters))
    assert found.exact
    return found.total, found.items


def test_facets_are_copied_from_successful_results_only(library: Database) -> None:
    with library.session() as session:
        region = session.scalar(select(Region).where(Region.bpm == 128.0))
        assert (region.key, region.loudness_lufs, region.content) == ("E minor", -12.0, None)
        store.upsert_analyses(region, [store.AnalysisRecord("tempo_meter", "2", "timeout", error="slow")])
        assert region.bpm is None and region.key == "E minor"


def test_ranges_keys_text_sort_and_pages(library: Database) -> None:
    assert _search(library, bpm_min=85, bpm_max=95)[0] == 2
    assert _search(library, loudness_min=-15)[0] == 2
    assert _search(library, duration_min=2.0)[0] == 1
    assert [r["key"] for r in _search(library, keys=("E minor", "F# major"))[1]] == ["E minor", "F# major"]
    assert _search(library, text="LOOP")[0] == 3
    total, page = _search(library, sort="bpm", descending=True, limit=2, offset=1)
    assert total == 4 and [r["bpm"] for r in page] == [100.0, 91.0]
    row = _search(library, keys=("A minor",), limit=1)[1][0]
    assert row["camelot"] == "8A" and row["name"] == "loop_am.wav" and row["index"] == 0


def test_a_tag_finds_its_region_and_a_file_tag_its_regions(library: Database) -> None:
    with library.session() as session:
        region = session.scalar(select(Region).where(Region.bpm == 100.0))
        session.add(Tag(region_id=region.id, tag="Warm Pad", source="user"))
        am = session.scalar(select(Region).where(Region.bpm == 90.0))
        session.add(Tag(file_id=am.file_id, tag="vinyl", source="user"))
    assert [r["bpm"] for r in _search(library, text="warm pad")[1]] == [100.0]
    assert sorted(r["bpm"] for r in _search(library, text="vinyl")[1]) == [90.0, 91.0]


def test_files_with_matching_regions(library: Database) -> None:
    with library.session() as session:
        total, files, _ = queries.search_files(session, queries.RegionQuery(bpm_min=89))
        assert total == 3 and [f["matching_regions"] for f in files] == [2, 1, 1]
        for offset, shown in ((2, 1), (3, 0), (5, 0)):  # the last page, and past it: the same total
            found = queries.search_files(session, queries.RegionQuery(bpm_min=89, limit=1, offset=offset))
            assert (found.total, len(found.items)) == (3, shown)
        total, files, _ = queries.search_files(session, queries.RegionQuery(keys=("A minor",), descending=True))
        assert total == 1 and files[0]["path"] == "/lib/loop_am.wav"
        assert queries.plugin_status_counts(session)["tempo_meter"] == {"ok": 4}


def _one_region_at(settings, revision: str) -> Database:
    """A database migrated only up to ``revision``, holding file 1 with region 1."""
    settings.ensure_dirs()
    old = Database(settings.effective_database_url)
    old.migrate(revision)
    with old.engine.begin() as connection:
        connection.execute(text("INSERT INTO files (id, path, name, content_hash, size_bytes, status, analyzed_at) "
                                "VALUES (1, '/a.wav', 'a.wav', 'x', 1, 'ok', '2026-01-01')"))
        connection.execute(text("INSERT INTO regions (id, file_id, \"index\", start_s, end_s, duration_s, peaks) "
                                "VALUES (1, 1, 0, 0, 5, 5, '{}')"))
    return old


def test_the_migration_fills_the_facets_of_earlier_analyses(settings) -> None:
    old = _one_region_at(settings, "0001")
    with old.engine.begin() as connection:
        for plugin, result in (("tempo_meter", {"bpm": 120.5}), ("key_finder", {"key": "D major"})):
            connection.execute(text("INSERT INTO region_analysis (region_id, plugin, plugin_version, status, result, "
                                    "elapsed_s, created_at) VALUES (1, :p, '1', 'ok', :r, 0, '2026-01-01')"),
                               {"p": plugin, "r": json.dumps(result)})
    old.migrate()
    with old.session() as session:
        region = session.get(Region, 1)
        assert (region.bpm, region.key, region.loudness_lufs) == (120.5, "D major", None)
    old.dispose()


def test_regions_without_the_sorted_facet_come_last_in_either_order(library: Database) -> None:
    with library.session() as session:
        region = session.scalar(select(Region).where(Region.bpm == 128.0))
        store.upsert_analyses(region, [store.AnalysisRecord("tempo_meter", "2", "timeout", error="slow")])
    assert [r["bpm"] for r in _search(library, sort="bpm")[1]] == [90.0, 91.0, 100.0, None]
    assert [r["bpm"] for r in _search(library, sort="bpm", descending=True)[1]] == [100.0, 91.0, 90.0, None]


def _classified(tags: list[tuple[str, float]], drum: str | None = None, sample_type: str = "other",
                version: str = "1.0.0") -> store.AnalysisRecord:
    result = {"tags": [{"tag": t, "probability": p, "source": "yamnet", "group": "instrument"} for t, p in tags],
              "sample_type": sample_type, "drum_type": drum,
              "drum_probabilities": {drum: 0.8, "snare": 0.1} if drum else None}
    return store.AnalysisRecord("classifier", version, "ok", result)


def test_classifier_tags_become_model_tags_that_search_finds_by_probability(library: Database) -> None:
    with library.session() as session:
        pad = session.scalar(select(Region).where(Region.bpm == 100.0))
        store.upsert_analyses(pad, [_classified([("Piano", 0.6), ("Organ", 0.2)])])
        loop = session.scalar(select(Region).where(Region.bpm == 128.0))
        store.upsert_analyses(loop, [_classified([("Piano", 0.1)], drum="kick", sample_type="one_shot")])
        session.add(Tag(region_id=loop.id, tag="  My  Favourite ", source="user"))
    assert sorted(r["bpm"] for r in _search(library, tag="piano")[1]) == [100.0, 128.0]
    assert [r["bpm"] for r in _search(library, tag="PIANO", tag_min=0.5)[1]] == [100.0]
    assert [r["bpm"] for r in _search(library, tag="kick", tag_min=0.5)[1]] == [128.0]
    assert [r["bpm"] for r in _search(library, tag="one-shot", tag_min=0.99)[1]] == [128.0]  # a rule: certain
    assert [r["bpm"] for r in _search(library, text="organ")[1]] == [100.0]
    row = _search(library, tag="kick")[1][0]
    assert [(t["tag"], t["source"]) for t in row["tags"]] == [
        ("my favourite", "user"), ("one-shot", "model"), ("kick", "model"), ("piano", "model")]
    assert row["tags"][2]["probability"] == 0.8


def test_lists_show_the_classifiers_first_tags_not_its_most_probable(library: Database) -> None:
    """Music and the instrument families are the classifier's most probable tags and its last:
    a list's five tags are a person's, a trained tagger's, then the classifier's first ones."""
    ranked = [("Bell", 0.6), ("Electric piano", 0.1), ("Church bell", 0.4), ("Keyboard (musical)", 0.9),
              ("Music", 0.99)]
    with library.session() as session:
        pad = session.scalar(select(Region).where(Region.bpm == 100.0))
        store.upsert_analyses(pad, [_classified(ranked, sample_type="one_shot")])
        taggers.write_tags(session, "tagger mood v1", {pad.id: ("warm", 0.3)})
        session.add(Tag(region_id=pad.id, tag="favourite", source="user"))
    row = _search(library, tag="bell")[1][0]
    assert [t["tag"] for t in row["tags"]] == ["favourite", "warm", "one-shot", "bell", "electric piano"]
    with library.session() as session:
        assert [t["tag"] for t in queries.get_region(session, row["id"])["tags"]][5:] == [
            "church bell", "keyboard (musical)", "music"]
        pad = session.get(Region, row["id"])
        store.upsert_analyses(pad, [_classified([("Music", 0.99), ("Bell", 0.5)], version="1.1.0")])
        assert {t.tag: t.ordinal for t in pad.tags if t.source == "model"} == {"warm": None, "music": 0, "bell": 1}


def test_new_results_replace_model_tags_and_keep_the_users(library: Database) -> None:
    with library.session() as session:
        region = session.scalar(select(Region).where(Region.bpm == 128.0))
        store.upsert_analyses(region, [_classified([("Piano", 0.6), ("Drum", 0.3)])])
        region.tags.append(Tag(tag="keeper", source="user"))
        session.flush()
        store.upsert_analyses(region, [_classified([("Drum", 0.9)], version="1.1.0")])
        tags = {(t.tag, t.source): (t.confidence, t.model_version) for t in region.tags}
        assert tags == {("drum", "model"): (0.9, "classifier 1.1.0 (yamnet)"), ("keeper", "user"): (None, None)}
        store.upsert_analyses(region, [store.AnalysisRecord("classifier", "1.2.0", "crashed", error="signal 9")])
        assert [t.tag for t in region.tags] == ["keeper"]


def _embedded(seed: int) -> store.AnalysisRecord:
    rng = np.random.default_rng(seed)
    return store.AnalysisRecord("embeddings", "1.0.0", "ok", {
        "yamnet": encode(rng.normal(size=1024), "yamnet-int8"), "features": encode(rng.normal(size=38), "features-v1"),
        "aisfx": {"status": "not_available", "reason": "not installed"}})


def test_embeddings_become_vector_rows_and_a_changed_vector_a_new_row(library: Database) -> None:
    with library.session() as session:
        region = session.scalar(select(Region).where(Region.bpm == 128.0))
        store.upsert_analyses(region, [_embedded(1)])
        session.flush()
        rows = {v.kind: v for v in region.vectors}
        assert {k: (v.dim, len(v.vector)) for k, v in rows.items()} == {"yamnet": (1024, 2048), "features": (38, 76)}
        assert np.frombuffer(rows["yamnet"].vector, "<f2").astype(np.float32) == pytest.approx(
            decode(_embedded(1).result["yamnet"]))
        first_ids = {k: v.id for k, v in rows.items()}
        store.upsert_analyses(region, [_embedded(1)])  # the same vectors: the same rows
        session.flush()
        assert {v.kind: v.id for v in region.vectors} == first_ids
        store.upsert_analyses(region, [_embedded(2)])
        session.flush()
        assert all(v.id > max(first_ids.values()) for v in region.vectors)


def test_the_migration_derives_tags_and_vectors_of_earlier_analyses(settings) -> None:
    old = _one_region_at(settings, "0003")
    with old.engine.begin() as connection:
        connection.execute(text("INSERT INTO tags (region_id, tag, source, created_at) "
                                "VALUES (1, 'Warm Pad', 'user', '2026-01-01')"))
        for record in (_classified([("Piano", 0.7)], drum="kick"), _embedded(3)):
            connection.execute(text("INSERT INTO region_analysis (region_id, plugin, plugin_version, status, result, "
                                    "elapsed_s, created_at) VALUES (1, :p, '1.0.0', 'ok', :r, 0, '2026-01-01')"),
                               {"p": record.plugin, "r": json.dumps(record.result)})
    old.migrate()
    with old.session() as session:
        region = session.get(Region, 1)
        assert sorted((t.tag, t.source) for t in region.tags) == [
            ("kick", "model"), ("piano", "model"), ("warm pad", "user")]
        assert sorted((v.kind, v.dim) for v in region.vectors) == [("features", 38), ("yamnet", 1024)]
    old.dispose()


def test_the_regions_of_one_file(library: Database) -> None:
    file_id = _search(library, text="loop_am")[1][0]["file_id"]
    total, rows = _search(library, file_id=file_id, sort="duration", descending=True)
    assert total == 2 and [r["index"] for r in rows] == [1, 0] and {r["file_id"] for r in rows} == {file_id}


def test_tags_are_normalised_once_and_unique_per_target(settings) -> None:
    old = _one_region_at(settings, "0005")
    with old.engine.begin() as connection:
        for tag in ("Warm  Pad", "warm pad", "ÄRGER"):
            connection.execute(text("INSERT INTO tags (region_id, tag, source, created_at) "
                                    "VALUES (1, :tag, 'user', '2026-01-01')"), {"tag": tag})
    old.migrate()
    with old.session() as session:
        assert sorted(t.tag for t in session.get(Region, 1).tags) == ["warm pad", "ärger"]
    with pytest.raises(IntegrityError), old.session() as session:
        session.add(Tag(region_id=1, tag="Warm Pad", source="user"))
    with old.session() as session:  # the same tag by a model, or on the file, is another tag
        session.add_all([Tag(region_id=1, tag="warm pad", source="model", confidence=0.5),
                         Tag(file_id=1, tag="warm pad", source="user")])
    old.dispose()


def _random_library(database: Database, rng: np.random.Generator) -> list[dict]:
    """12 files of 30 regions with random facets (some missing) and model tags, two files
    tagged by hand; returns what each region is, for a search done by hand."""
    names = ["kick", "snare", "pad", "100%_real"]
    regions = []
    with database.session() as session:
        for f in range(12):
            rows = []
            for i in range(30):
                bpm = None if rng.random() < 0.1 else round(float(rng.uniform(60, 180)), 1)
                key = None if rng.random() < 0.1 else f"{rng.choice(['C', 'A', 'F#'])} {rng.choice(['major', 'minor'])}"
                lufs = round(float(rng.uniform(-40, -6)), 1)
                records = [store.AnalysisRecord("features", "1", "ok", {"loudness_lufs": lufs}),
                           store.AnalysisRecord("content", "1", "ok", {"label": str(rng.choice(["music", "noise"]))})]
                if bpm is not None:
                    records.append(store.AnalysisRecord("tempo_meter", "1", "ok", {"bpm": bpm}))
                if key is not None:
                    records.append(store.AnalysisRecord("key_finder", "1", "ok", {"key": key}))
                rows.append(store.RegionRecord(i, 3.0 * i, 3.0 * i + float(rng.uniform(0.2, 2.9)), PEAKS, records))
            name = f"/lib/{names[f % 4]}_{f:02d}.wav"
            stored = store.replace_file(session, store.FileFacts(name, f"{f:064d}", 10, {}), regions=rows)
            if f in (3, 8):
                session.add(Tag(file_id=stored.id, tag="vinyl", source="user"))
            for region in stored.regions:
                tags = {}
                for tag in rng.choice(["warm", "vinyl", "bright"], 2, replace=False):
                    tags[str(tag)] = round(float(rng.uniform()), 2)
                    session.add(Tag(region_id=region.id, tag=str(tag), source="model", confidence=tags[str(tag)]))
                regions.append({"id": region.id, "name": Path(name).name, "index": region.index,
                                "bpm": region.bpm, "key": region.key, "loudness_lufs": region.loudness_lufs,
                                "duration_s": region.duration_s, "content": region.content,
                                "tags": tags, "file_tagged": f in (3, 8)})
    return regions


def _by_hand(regions: list[dict], query: queries.RegionQuery) -> list[int]:
    """The ids ``query`` should find, in order."""
    def has(region: dict, tag: str, least: float | None) -> bool:
        if tag == "vinyl" and region["file_tagged"]:
            return True
        return tag in region["tags"] and (least is None or region["tags"][tag] >= least)

    def keep(r: dict) -> bool:
        ranges = (("bpm", query.bpm_min, query.bpm_max), ("duration_s", query.duration_min, query.duration_max),
                  ("loudness_lufs", query.loudness_min, query.loudness_max))
        for column, low, high in ranges:
            if (low is not None or high is not None) and r[column] is None:
                return False
            if (low is not None and r[column] < low) or (high is not None and r[column] > high):
                return False
        return ((query.keys is None or r["key"] in query.keys)
                and (query.content is None or r["content"] == query.content)
                and (not query.text or query.text.lower() in r["name"].lower() or has(r, query.text, None))
                and (not query.tag or has(r, query.tag, query.tag_min)))

    found = [r for r in regions if keep(r)]
    if query.sort == "name":
        found.sort(key=lambda r: (r["name"], r["index"], r["id"]), reverse=query.descending)
    else:  # ties by id, in the order asked; the regions without the facet last either way
        value = COLUMNS[query.sort]
        known = sorted((r for r in found if r[value] is not None), key=lambda r: (r[value], r["id"]),
                       reverse=query.descending)
        found = known + sorted((r for r in found if r[value] is None), key=lambda r: r["id"], reverse=query.descending)
    return [r["id"] for r in found]


#: The list row's field of each sort.
COLUMNS = {"name": "name", "bpm": "bpm", "loudness": "loudness_lufs", "key": "key", "duration": "duration_s"}


def test_every_way_of_reading_a_page_finds_what_a_search_by_hand_finds(database: Database,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of many matches are read along an index and pages of few sorted; filters are
    written as sets or as probes; a total is exact, or when counting stopped (here 150 past
    the offset, 60 where tags are probed), a lower bound; a walk may reach past the regions
    with the sorted facet to those without: whichever the query takes, the rows are the same."""
    monkeypatch.setattr(queries, "COUNT_MAX", 150)
    monkeypatch.setattr(queries, "PROBED_COUNT_MAX", 60)
    monkeypatch.setattr(queries, "NAMED_FILES_MAX", 3)  # a text's named files as ids, or looked up past 3
    rng = np.random.default_rng(7)
    regions = _random_library(database, rng)
    choices = {
        "bpm_min": lambda: float(rng.uniform(60, 150)), "bpm_max": lambda: float(rng.uniform(100, 180)),
        "loudness_min": lambda: float(rng.uniform(-40, -10)), "duration_max": lambda: float(rng.uniform(0.5, 3)),
        "keys": lambda: tuple(rng.choice(["C major", "A minor", "F# minor", "C minor"], 2, replace=False)),
        "content": lambda: str(rng.choice(["music", "noise"])),
        "text": lambda: str(rng.choice(["kick", "SNARE_0", "vinyl", "100%", "_", "warm"])),
        "tag": lambda: str(rng.choice(["warm", "vinyl", "bright"])),
        "tag_min": lambda: float(rng.uniform(0, 1)),
    }
    seen_walks, seen_exact, seen_parts, seen_caps = set(), set(), set(), set()
    with database.session() as session:
        for _ in range(200):
            picked = rng.choice(list(choices), int(rng.integers(0, 4)), replace=False)
            query = queries.RegionQuery(**{name: choices[name]() for name in picked},
                                        sort=str(rng.choice(["name", "bpm", "loudness", "key", "duration"])),
                                        descending=bool(rng.random() < 0.5), limit=int(rng.choice([5, 20])),
                                        offset=int(rng.choice([0, 0, 7, 40, 320, 330])))
            expected = _by_hand(regions, query)
            total, page, exact = queries.search_regions(session, query)
            cap = queries.count_cap(query)
            assert cap - query.offset == (60 if (query.tag or query.text) and queries.column_filters(query) else 150)
            assert total == len(expected) if exact else cap == total < len(expected), query
            seen_exact.add(exact)
            seen_caps.add((cap - query.offset, exact))
            assert [row["id"] for row in page] == expected[query.offset:query.offset + query.limit], query
            walked = queries._walkable(query) and total > queries._sortable(session, query)
            if total > query.offset and queries.region_filters(session, query):
                seen_walks.add(walked)
            if walked and page and query.sort in ("bpm", "key"):  # facets some regions lack
                seen_parts.add(tuple(row[COLUMNS[query.sort]] is None for row in (page[0], page[-1])))
    assert seen_walks == seen_exact == {True, False}  # both ways were taken, both kinds of total given
    assert {(60, False), (150, False)} <= seen_caps  # counting stopped at either cap
    assert seen_parts == {(False, False), (False, True), (True, True)}  # with the facet, across, without
