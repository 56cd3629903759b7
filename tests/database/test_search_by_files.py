"""Searches a user types, read the fast way (database.queries): a text, whose matches are whole
files (by name, or by a tag on the file) and the regions tagged with it, in name or analysis-date
order from the first matches of each part; the analysis date's order read along the files' index;
a text or a tag alone counted by its parts. Whichever way a page is read, it holds the rows, the
order (ties, descending, the end of the matches) and the total that a search by hand finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import inspect

from database import queries
from database.models import File, FileStatus, Region, Tag
from database.session import Database
from tests.migrations import downgrade

MOMENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
#: The list row's field of each facet sort.
FACETS = {"bpm": "bpm", "duration": "duration_s"}


def _library(database: Database, rng: np.random.Generator) -> list[dict]:
    """Files of 0–25 regions: names with "kick" in them and without (two files of one name
    in two folders; a file that failed and one without regions, both named and tagged "kick"),
    analysis dates drawn from five moments (files analysed at the same moment: ties, and the
    files' regions written in turns, so that their ids interleave), "kick" as a file's tag on a
    snare file and on one of the two of a name, and each region's own tags (from a person and
    a model at once on some: two rows of one tag). Returns each region as a search by hand sees it."""
    names = [f"/lib/kick_{f:02d}.wav" for f in range(5)] + [f"/lib/snare_{f:02d}.wav" for f in range(5)]
    names += [f"/lib/Pad 100%_{f}.wav" for f in range(3)] + ["/a/dup.wav", "/b/dup.wav", "/lib/KICK_loud.wav"]
    file_tagged = {"/lib/snare_01.wav": "kick", "/b/dup.wav": "kick", "/lib/Pad 100%_1.wav": "vinyl"}
    regions = []
    with database.session() as session:
        broken = File(path="/lib/kick_broken.wav", name="kick_broken.wav", content_hash="b", size_bytes=1,
                      status=FileStatus.ERROR, error="unreadable", analyzed_at=MOMENT)
        silent = File(path="/lib/kick_silent.wav", name="kick_silent.wav", content_hash="s", size_bytes=1,
                      status=FileStatus.OK, analyzed_at=MOMENT)
        session.add_all([broken, silent])
        session.flush()
        session.add_all([Tag(file_id=broken.id, tag="kick", source="user"), Tag(file_id=silent.id, tag="kick",
                                                                                  source="user")])
        files = []
        for f in rng.permutation(len(names)):
            file = File(path=names[f], name=names[f].rsplit("/", 1)[1], content_hash=f"{f}", size_bytes=1,
                        status=FileStatus.OK, analyzed_at=MOMENT + timedelta(minutes=int(rng.integers(0, 5))))
            session.add(file)
            session.flush()
            if file.path in file_tagged:
                session.add(Tag(file_id=file.id, tag=file_tagged[file.path], source="user"))
            files += [file] * int(rng.integers(0, 26))
        indexes = dict.fromkeys(names, 0)
        for file in rng.permutation(np.array(files, dtype=object)):  # the regions of files side by side interleave
            path, name, moment, index = file.path, file.name, file.analyzed_at, indexes[file.path]
            indexes[path] += 1
            bpm = None if rng.random() < 0.15 else round(float(rng.choice([90.0, 120.0, rng.uniform(60, 180)])), 1)
            region = Region(file_id=file.id, file_name=name, index=index, start_s=0.0, end_s=1.0,
                            duration_s=round(float(rng.uniform(0.1, 5)), 2), bpm=bpm,
                            content=str(rng.choice(["music", "noise"])))
            session.add(region)
            session.flush()
            own = {str(t): round(float(rng.uniform()), 3)
                   for t in rng.choice(["kick", "vinyl", "warm"], int(rng.integers(0, 3)), replace=False)}
            for tag, confidence in own.items():
                session.add(Tag(region_id=region.id, tag=tag, source="model", confidence=confidence))
            for tag in own:
                if rng.random() < 0.3:
                    session.add(Tag(region_id=region.id, tag=tag, source="user"))
                    own[tag] = None  # a person's tag: certain
            regions.append({"id": region.id, "name": name, "index": index, "analyzed": moment, "bpm": bpm,
                            "duration_s": region.duration_s, "content": region.content,
                            "tags": {**own, **({file_tagged[path]: None} if path in file_tagged else {})}})
    return regions


def _by_hand(regions: list[dict], query: queries.RegionQuery) -> list[int]:
    """The ids ``query`` should find, in order."""
    def has(region: dict, tag: str, least: float | None) -> bool:
        return tag in region["tags"] and (least is None or region["tags"][tag] is None or region["tags"][tag] >= least)

    found = [r for r in regions
             if (not query.text or query.text.lower() in r["name"].lower() or has(r, query.text.lower(), None))
             and (not query.tag or has(r, query.tag, query.tag_min))
             and (query.content is None or r["content"] == query.content)
             and (query.bpm_min is None or (r["bpm"] is not None and r["bpm"] >= query.bpm_min))]
    if query.sort == "name":
        return [r["id"] for r in sorted(found, key=lambda r: (r["name"], r["index"], r["id"]),
                                        reverse=query.descending)]
    if query.sort == "analyzed":  # every file has its date: no NULLs
        return [r["id"] for r in sorted(found, key=lambda r: (r["analyzed"], r["id"]), reverse=query.descending)]
    value = FACETS[query.sort]
    known = sorted((r for r in found if r[value] is not None), key=lambda r: (r[value], r["id"]),
                   reverse=query.descending)
    return [r["id"] for r in known] + sorted((r["id"] for r in found if r[value] is None), reverse=query.descending)


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often each fast way was taken; a small cap and sort limit, so that a library of a
    few hundred regions takes them (and gives totals that are lower bounds)."""
    monkeypatch.setattr(queries, "COUNT_MAX", 60)
    monkeypatch.setattr(queries, "SORTABLE_MAX", 12)
    calls = {"text_page": 0, "by_date": 0, "parts_counted": 0}

    def spy(name: str, function):
        def counted(*args, **kwargs):
            result = function(*args, **kwargs)
            if name != "parts_counted" or result is not None:
                calls[name] += 1
            return result
        monkeypatch.setattr(queries, function.__name__, counted)

    spy("text_page", queries._text_page)
    spy("by_date", queries._by_date)
    spy("parts_counted", queries._union_count)
    return calls


def _check(session, regions: list[dict], query: queries.RegionQuery) -> None:
    expected = _by_hand(regions, query)
    total, page, exact = queries.search_regions(session, query)
    if exact:
        assert total == len(expected), query
    else:
        assert total == query.offset + queries.COUNT_MAX < len(expected), query
    assert [row["id"] for row in page] == expected[query.offset:query.offset + query.limit], query


def test_text_searches_in_name_and_date_order_find_what_a_search_by_hand_finds(database: Database,
                                                                               spied: dict) -> None:
    regions = _library(database, np.random.default_rng(11))
    assert len(regions) > 150
    with database.session() as session:
        for text in ("kick", "KICK_0", "dup", "vinyl", "wav", "100%", "_", "warm", "zzz"):
            for sort in ("name", "analyzed", "bpm"):
                for descending in (False, True):
                    for offset, limit in ((0, 5), (0, 50), (7, 20), (60, 20), (len(regions) - 10, 20),
                                          (len(regions) + 5, 5)):
                        _check(session, regions, queries.RegionQuery(text=text, sort=sort, descending=descending,
                                                                     offset=offset, limit=limit))
    assert spied["text_page"] > 50 and spied["by_date"] > 50 and spied["parts_counted"] > 50


def test_text_searches_with_other_filters(database: Database, spied: dict) -> None:
    regions = _library(database, np.random.default_rng(12))
    rng = np.random.default_rng(5)
    with database.session() as session:
        for _ in range(80):
            query = queries.RegionQuery(
                text=str(rng.choice(["kick", "dup", "wav", "vinyl"])),
                content=str(rng.choice(["music", "noise"])) if rng.random() < 0.5 else None,
                bpm_min=float(rng.uniform(60, 150)) if rng.random() < 0.4 else None,
                tag=str(rng.choice(["warm", "vinyl"])) if rng.random() < 0.3 else None,
                sort=str(rng.choice(["name", "analyzed"])), descending=bool(rng.random() < 0.5),
                offset=int(rng.choice([0, 3, 30, 90])), limit=int(rng.choice([5, 20])))
            _check(session, regions, query)
    assert spied["text_page"] > 10


def test_analysis_date_order_walks_the_files_with_ties_and_filters(database: Database, spied: dict) -> None:
    """Files analysed at the same moment: their regions by id across both files, in either order."""
    regions = _library(database, np.random.default_rng(13))
    moments = [r["analyzed"] for r in regions]
    assert len(set(moments)) < len({r["name"] for r in regions})  # some files share a moment
    with database.session() as session:
        for descending in (False, True):
            for filters in ({}, {"content": "music"}, {"bpm_min": 100.0}, {"tag": "warm"}, {"tag": "vinyl"}):
                for offset in (0, 1, 19, 100, len(regions) - 3, len(regions), len(regions) + 1):
                    _check(session, regions, queries.RegionQuery(sort="analyzed", descending=descending,
                                                                 offset=offset, limit=20, **filters))
    assert spied["by_date"] > 30


def test_a_text_or_a_tag_alone_is_counted_by_its_parts(database: Database, spied: dict) -> None:
    """One part past the cap gives an "at least"; a tag a person and a model both gave a
    region counts the region once; a failed file's and an empty file's tags count nothing."""
    regions = _library(database, np.random.default_rng(14))
    with database.session() as session:
        for query in (queries.RegionQuery(text="kick"), queries.RegionQuery(text="wav"),
                      queries.RegionQuery(text="kick", offset=40), queries.RegionQuery(tag="kick"),
                      queries.RegionQuery(tag="vinyl"), queries.RegionQuery(tag="kick", tag_min=0.5),
                      queries.RegionQuery(text="broken"), queries.RegionQuery(text="silent"),
                      queries.RegionQuery(text="dup", limit=100)):
            _check(session, regions, query)
        assert queries.search_regions(session, queries.RegionQuery(text="broken")).total == 0
    assert spied["parts_counted"] >= 5


def test_files_are_indexed_by_analysis_date(unmigrated: Database) -> None:
    """Migration 0012 up and down, on each backend."""

    def indexes() -> set[str]:
        return {index["name"] for index in inspect(unmigrated.engine).get_indexes("files")}

    unmigrated.migrate()
    assert "ix_files_analyzed_at" in indexes()
    downgrade(unmigrated, "0011")
    assert "ix_files_analyzed_at" not in indexes()
    unmigrated.migrate()
    assert "ix_files_analyzed_at" in indexes()
