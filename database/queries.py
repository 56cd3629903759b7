"""Reading the database, and the stable JSON report of a file (DESIGN.md, "CLI JSON")."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import ARRAY, Integer, bindparam, func, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.functions import FunctionElement

from core import fingerprint, keys
from database.models import (
    File,
    FileSummary,
    Region,
    RegionAnalysis,
    RegionVector,
    Tag,
    TagSource,
    Waveform,
    normalise_tag,
)
from database.vector_index import VectorIndex, as_vector

#: Keys of an analysis entry in a report that plugin results may not use.
RESERVED_ANALYSIS_KEYS = ("status", "version", "elapsed_s", "error")
#: Tags a list row carries (the region detail carries all).
LIST_TAGS = 5


def get_file(session: Session, path: str) -> File | None:
    """The file stored at ``path`` with its regions, analyses and summary loaded."""
    return session.scalar(
        select(File)
        .where(File.path == path)
        .options(selectinload(File.regions).selectinload(Region.analyses), selectinload(File.summary))
    )


def file_report(file: File) -> dict[str, Any]:
    """The stable JSON object of one analysed file (``main.py analyze --json``)."""
    return {
        "id": file.id,
        "path": file.path,
        "name": file.name,
        "status": file.status,
        "error": file.error,
        "error_code": file.error_code,
        "duration_s": file.duration_s,
        "format": file.format,
        "codec": file.codec,
        "sample_rate": file.sample_rate,
        "channels": file.channels,
        "size_bytes": file.size_bytes,
        "content_hash": file.content_hash,
        "analyzed_at": file.analyzed_at.isoformat() if file.analyzed_at else None,
        "regions": [
            {
                "index": region.index,
                "start_s": round(region.start_s, 4),
                "end_s": round(region.end_s, 4),
                "duration_s": round(region.duration_s, 4),
                "analysis": {row.plugin: analysis_entry(row) for row in region.analyses},
            }
            for region in file.regions
        ],
        "summary": file.summary.summary if file.summary else {},
    }


def analysis_entry(row: RegionAnalysis) -> dict[str, Any]:
    """``{"status", "version", "elapsed_s", ["error"], **result}`` for one plugin outcome."""
    entry: dict[str, Any] = {"status": row.status, "version": row.plugin_version, "elapsed_s": round(row.elapsed_s, 4)}
    if row.error is not None:
        entry["error"] = row.error
    for key, value in (row.result or {}).items():
        if key not in RESERVED_ANALYSIS_KEYS:
            entry[key] = value
    return entry


def status_counts(session: Session) -> dict[str, int]:
    """Number of files per status."""
    rows = session.execute(select(File.status, func.count()).group_by(File.status))
    return {status: count for status, count in rows}


def totals(session: Session) -> dict[str, Any]:
    """Counts of files, regions and analyses, and the seconds of audio stored."""
    return {
        "files": session.scalar(select(func.count()).select_from(File)) or 0,
        "regions": session.scalar(select(func.count()).select_from(Region)) or 0,
        "analyses": session.scalar(select(func.count()).select_from(RegionAnalysis)) or 0,
        "audio_s": float(session.scalar(select(func.coalesce(func.sum(File.duration_s), 0.0))) or 0.0),
        "files_by_status": status_counts(session),
    }


#: Sort orders of a search: name → columns.
SORTS = {
    "name": (Region.file_name, Region.index),
    "bpm": (Region.bpm,),
    "duration": (Region.duration_s,),
    "loudness": (Region.loudness_lufs,),
    "key": (Region.key,),
    "analyzed": (File.analyzed_at,),
}


@dataclass(frozen=True)
class RegionQuery:
    """What a search asks for. Ranges are inclusive; ``None`` leaves a filter out.

    text: part of the file name, or a tag of the region or its file (case-insensitive).
    file_id: the regions of that file only.
    tag: a tag of the region or its file; ``tag_min``: the least model confidence (0 … 1)
    it must have (a person's tag, and a rule's, always pass).
    keys: key names ("A minor") any of which the region's key may be.
    bpm_*: beats per minute; duration_*: seconds; loudness_*: LUFS.
    """

    text: str | None = None
    file_id: int | None = None
    tag: str | None = None
    tag_min: float | None = None
    bpm_min: float | None = None
    bpm_max: float | None = None
    duration_min: float | None = None
    duration_max: float | None = None
    loudness_min: float | None = None
    loudness_max: float | None = None
    keys: tuple[str, ...] | None = None
    content: str | None = None
    sort: str = "name"
    descending: bool = False
    limit: int = 50
    offset: int = 0


#: Candidates the index proposes per neighbour asked for, before exact re-scoring.
SIMILAR_OVERSAMPLE = 4
SIMILAR_MIN_CANDIDATES = 64
#: With filters, the index proposes this many times more candidates, for the filters to thin.
SIMILAR_FILTER_WIDEN = 16
#: A filter that leaves too few of those is searched again among exactly the regions it
#: matches, when there are at most this many.
SIMILAR_SELECT_MAX = 200_000
#: The vectors that tell the same recording (core.fingerprint), stored by the embeddings plugin.
FINGERPRINT_KIND = "fingerprint"
#: Fingerprints compared: of this many of the nearest by cosine (the same recording in
#: another format has a cosine of 0.83–0.99; sounds of one kind can be nearer).
FINGERPRINT_CANDIDATES = 64
#: Least fingerprint similarity (2·share of agreeing bits − 1) of the same recording;
#: chosen on tuning clips (bench: 0.4–0.5 gave the same top hits, 0.6 lost noises).
SAME_AUDIO_MIN = 0.5


def region_filters(session: Session, query: RegionQuery, narrowed: bool = False) -> list:
    """The SQL conditions on ``regions`` that ``query``'s filters make (none for no filter).

    The tag and text conditions take one of two forms. When a column condition (or
    ``narrowed``: the caller's own, such as a list of ids) picks the rows first, each row
    left is probed with EXISTS in the tags' per-region index, and in its file's tags only
    when some file carries the tag (PostgreSQL makes a lone EXISTS a join it can walk; of an
    OR of two, it builds every row of both tags' sets first). When they are the only
    conditions, they are one set of region ids the database starts from (a union: an OR of
    sets, PostgreSQL checks against every region)."""
    filters = column_filters(query)
    probe = narrowed or bool(filters)
    if query.text:
        filters.append(_texted(session, query.text, probe))
    if query.tag:
        filters.append(_tagged(session, query.tag, query.tag_min, probe))
    return filters


def column_filters(query: RegionQuery) -> list:
    """The conditions of ``query`` on the columns of ``regions`` itself (``SEARCH_COLUMNS``)."""
    ranges = (
        (Region.bpm, query.bpm_min, query.bpm_max),
        (Region.duration_s, query.duration_min, query.duration_max),
        (Region.loudness_lufs, query.loudness_min, query.loudness_max),
    )
    filters: list = []
    for column, low, high in ranges:
        if low is not None:
            filters.append(column >= low)
        if high is not None:
            filters.append(column <= high)
    if query.keys is not None:
        filters.append(Region.key.in_(query.keys))
    if query.content is not None:
        labelled = Region.content == query.content
        # one of five labels; SQLite, without statistics, would rather read a label's regions than a key's
        filters.append(_Likely(labelled, CONTENT_SHARE) if query.keys is not None else labelled)
    if query.file_id is not None:
        filters.append(Region.file_id == query.file_id)
    return filters


#: The share of regions a content label is taken to hold, where a key (one of 24) is asked for too.
CONTENT_SHARE = 0.2


class _Likely(FunctionElement):
    """A condition and how likely it holds: on SQLite ``likelihood(condition, share)``, which
    its planner weighs in choosing an index; the condition alone elsewhere."""

    inherit_cache = True
    name = "likely"


@compiles(_Likely)
def _condition_alone(element: _Likely, compiler, **kw) -> str:
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(_Likely, "sqlite")
def _likelihood(element: _Likely, compiler, **kw) -> str:
    condition, share = list(element.clauses)
    return f"likelihood({compiler.process(condition, **kw)}, {float(share.value)!r})"


#: A text's probe checks a region's file against the named files' ids when they are at most
#: this many (one array, no lookup per region), else looks the file's name up.
NAMED_FILES_MAX = 1_000


def _texted(session: Session, text: str, probe: bool):
    """Whether the region's file name contains ``text`` (case-insensitive), or the region or
    its file has it as a tag."""
    named = _named(text)
    if probe:
        files = session.scalars(named.limit(NAMED_FILES_MAX + 1)).all()
        tagged = _tagged(session, text, None, True)
        if len(files) > NAMED_FILES_MAX:
            return or_(named.where(File.id == Region.file_id).correlate(Region).exists(), tagged)
        return or_(_among(session, Region.file_id, files), tagged) if files else tagged
    conditions = _tag_conditions(text, None)
    return Region.id.in_(union_all(_regions_of(union_all(named, _tag_files(conditions))), _tag_regions(conditions)))


def _named(text: str):
    """The select of the ids of the files whose name contains ``text`` (case-insensitive)."""
    return select(File.id).where(_contains(File.name, text))


def _contains(name, text: str):
    """Whether the name (a column of names) contains ``text``, case-insensitive."""
    return func.lower(name).contains(text.lower(), autoescape=True)


def _tag_conditions(tag: str, min_confidence: float | None) -> list:
    """Conditions on ``tags``: the tag, with at least ``min_confidence`` (a tag without
    one, a person's or a rule's, always passes)."""
    conditions = [Tag.tag == normalise_tag(tag)]
    if min_confidence is not None:
        conditions.append(or_(Tag.confidence.is_(None), Tag.confidence >= min_confidence))
    return conditions


def _tagged(session: Session, tag: str, min_confidence: float | None, probe: bool):
    """Whether the region, or its file, has ``tag`` (with at least ``min_confidence``)."""
    conditions = _tag_conditions(tag, min_confidence)
    if not probe:
        return Region.id.in_(union_all(_tag_regions(conditions), _regions_of(_tag_files(conditions))))
    region = _region_tagged(conditions)
    if not _files_tagged(session, conditions):
        return region
    return or_(region, select(Tag.id).where(Tag.file_id == Region.file_id, *conditions).correlate(Region).exists())


def _region_tagged(conditions: list):
    """Whether the region itself has a tag that passes ``conditions`` (a probe of the tags' per-region index)."""
    # SQLite, without statistics, would rather scan the tag's rows of every confidence
    return (select(Tag.id).where(Tag.region_id == Region.id, *conditions).correlate(Region)
            .with_hint(Tag, "INDEXED BY ix_tags_region_tag", "sqlite").exists())


def _tag_regions(conditions: list):
    """The ids of the regions whose own tag passes ``conditions``."""
    return select(Tag.region_id).where(*conditions, Tag.region_id.is_not(None))


def _tag_files(conditions: list):
    """The ids of the files whose tag passes ``conditions``."""
    return select(Tag.file_id).where(*conditions, Tag.file_id.is_not(None))


def _files_tagged(session: Session, conditions: list) -> bool:
    """Whether some file has a tag that passes ``conditions`` (its regions match too)."""
    return session.scalar(_tag_files(conditions).limit(1)) is not None


def _regions_of(files):
    """The ids of the regions of the files ``files`` (a select of file ids)."""
    return select(Region.id).where(Region.file_id.in_(files))


class Page(NamedTuple):
    """One page of a search: its ``items``, and ``total``, how many match in all: exact, or when
    ``exact`` is false, a lower bound (:data:`COUNT_MAX`)."""

    total: int
    items: list[dict[str, Any]]
    exact: bool = True


#: A search counts its matches exactly up to this many past its page's offset, and says "at
#: least" beyond: counting every match of a broad search costs time in proportion to the
#: library (a million regions: 150 ms on PostgreSQL), to tell a number nobody pages through.
COUNT_MAX = 10_000
#: A search that counts by looking up each candidate region's tags (a tag or a text with
#: other filters) counts up to this many: each match costs a lookup (about 3 µs on SQLite),
#: so a tag with a bpm range among a million regions took 110 ms to count to 10 000.
PROBED_COUNT_MAX = 1_000


def search_regions(session: Session, query: RegionQuery) -> Page:
    """Regions that match ``query``: one page of list rows, and how many match (:class:`Page`).

    A page of few matches (:func:`_sortable`) is sorted from their ids (:func:`_matching`); a
    page of many is read along the index of its sort order until it is full, each region
    passed checked on the way (:func:`_walk`), or for a text in name or date order, from the
    first matches of the files it names and of the regions it tags, read apart (:func:`_text_page`)."""
    filters = region_filters(session, query)
    most = _sortable(session, query) if filters else 0
    cap = count_cap(query)
    ids, found = _matching(session, query, filters, most, cap)
    total, exact = min(found, cap), found <= cap
    if total <= query.offset:
        return Page(total, [], exact)
    if exact and total <= most:
        rows = session.execute(_page(query).where(_among(session, Region.id, ids) if ids else
                                                  Region.id.in_(select(Region.id).where(*filters)))).all()
    elif _by_files(query):
        rows = _text_page(session, query)
    elif _walkable(query):
        probes = filters if column_filters(query) else region_filters(session, query, narrowed=True)
        rows = _walk(session, query, probes)
    else:
        rows = session.execute(_page(query).where(*filters)).all()
    return Page(total, region_rows(session, rows), exact)


def count_cap(query: RegionQuery) -> int:
    """How far ``query``'s matches are counted: its offset and ``COUNT_MAX``, or
    ``PROBED_COUNT_MAX`` where each candidate's tags are looked up (a tag or a text with
    other filters)."""
    return query.offset + (PROBED_COUNT_MAX if _probed(query) else COUNT_MAX)


def _probed(query: RegionQuery) -> bool:
    """Whether ``query``'s matches are found by looking up each candidate's tags: a tag or a
    text with other filters."""
    return bool(query.tag or query.text) and bool(column_filters(query))


def _page(query: RegionQuery):
    """The select of ``query``'s page of list rows (``ROW_COLUMNS``) in its order (:func:`_order`)."""
    return select(*ROW_COLUMNS).join(File).order_by(*_order(query)).limit(query.limit).offset(query.offset)


def _order(query: RegionQuery) -> list:
    """``query``'s order: the sort's columns, then the id, all in the order asked; regions
    without the sorted facet (not analysed, or failed) last either way, on every backend."""
    order = _directed(query, (*SORTS[query.sort], Region.id))
    if query.sort != "name":  # a file's name is never NULL
        order[0] = order[0].nulls_last()
    return order


def _walk(session: Session, query: RegionQuery, filters: list) -> list:
    """The list rows of ``query``'s page, read along the index of its sort order
    (``SORT_INDEXES``): the regions with the sorted facet, then, when the page reaches past
    them, those without. Apart, each part is one walk of the index on either backend (with
    NULLs between them, "NULLs last" is, in one direction, the reverse of the index's order).
    The analysis date's order reads the files along theirs, and each one's regions (:func:`_by_date`)."""
    if query.sort == "analyzed":  # never NULL: a file row gets its date as it is written
        ids = _by_date(query, filters).offset(query.offset).limit(query.limit)
        return session.execute(select(*ROW_COLUMNS).join(File).where(Region.id.in_(ids)).order_by(*_order(query))).all()
    if query.sort == "name":  # a file's name is never NULL
        return _rows_along(session, query, filters, (*SORTS["name"], Region.id), query.offset, query.limit)
    facet = SORTS[query.sort][0]
    known = [*filters, facet.is_not(None)]
    rows = _rows_along(session, query, known, (facet, Region.id), query.offset, query.limit)
    if len(rows) == query.limit:
        return rows
    before = query.offset + len(rows) if rows else _count_up_to(session, select(Region.id).where(*known), query.offset)
    return rows + _rows_along(session, query, [*filters, facet.is_(None)], (Region.id,),
                              max(0, query.offset - before), query.limit - len(rows))


def _rows_along(session: Session, query: RegionQuery, filters: list, columns: tuple, offset: int,
                limit: int) -> list:
    """List rows (``ROW_COLUMNS``) of the regions that pass ``filters``, in the order of
    ``columns`` (each in the order asked) from ``offset``, at most ``limit``: their ids read
    along the sort's index (the index alone, on both backends), then their rows."""
    ids = _along(query, filters, columns).offset(offset).limit(limit)
    return session.execute(select(*ROW_COLUMNS).join(File).where(Region.id.in_(ids))
                           .order_by(*_directed(query, columns))).all()


def _directed(query: RegionQuery, columns: tuple) -> list:
    """``columns``, each in the order ``query`` asks (descending or ascending)."""
    return [c.desc() if query.descending else c.asc() for c in columns]


def _along(query: RegionQuery, filters: list, columns: tuple):
    """The select of the ids of the regions that pass ``filters`` in the order of ``columns``
    (each in the order asked), read along the index of ``query``'s sort (the index alone)."""
    return (select(Region.id).where(*filters).order_by(*_directed(query, columns))
            .with_hint(Region, f"INDEXED BY {SORT_INDEXES[query.sort]}", "sqlite"))


def _by_date(query: RegionQuery, filters: list):
    """The select of the ids of the regions that pass ``filters`` (on ``regions`` and ``files``)
    in the order of their files' analysis dates (then their ids, both in the order asked): the
    files read along their index of dates, each one's regions by ``file_id`` (in id order; the
    regions of files analysed at the same moment are sorted together), until enough pass."""
    return (select(Region.id).select_from(File).join(Region, Region.file_id == File.id).where(*filters)
            .order_by(*_directed(query, (File.analyzed_at, Region.id)))
            .with_hint(File, "INDEXED BY ix_files_analyzed_at", "sqlite")
            .with_hint(Region, "INDEXED BY ix_regions_file_id", "sqlite"))


def _text_page(session: Session, query: RegionQuery) -> list:
    """The list rows of the page of a text search of many matches sorted by name or by
    analysis date (:func:`_by_files`). Its matches are whole files, those whose name contains
    the text or that carry it as a tag, side by side in either order, and the regions that
    carry it themselves: the first offset + limit of each part, read apart, hold those of
    the page, which is sorted from them. The files' part is read along the names (or dates)
    of the matching files only; the tagged regions' as a tag search would be (:func:`_walk`),
    or sorted when they are few."""
    first = query.offset + query.limit
    others = region_filters(session, replace(query, text=None), narrowed=True)
    conditions = _tag_conditions(query.text, None)
    tagged = _files_tagged(session, conditions)
    named = _contains(File.name, query.text)
    files = or_(named, File.id.in_(_tag_files(conditions))) if tagged else named
    if query.sort == "name":  # the index seeks each matching name; the region's copy of it tells the rest
        whole = [Region.file_name.in_(select(File.name).where(files))]
        if tagged:
            whole.append(or_(_contains(Region.file_name, query.text), Region.file_id.in_(_tag_files(conditions))))
        wholes = _along(query, [*whole, *others], (*SORTS["name"], Region.id))
    else:
        wholes = _by_date(query, [files, *others])
    ids = set(session.scalars(wholes.limit(first)))
    owned = _count_up_to(session, _tag_regions(conditions).distinct(), SORTABLE_MAX + 1, stop=True)
    few = SORTABLE_MAX if owned > SORTABLE_MAX else min(SORTABLE_MAX, math.isqrt(first * _regions_at_most(session)))
    if owned > few:  # many carry the tag: as a tag search, read along the order, each region probed
        own = [*others, _region_tagged(conditions)]
        ids.update(session.scalars((_by_date(query, own) if query.sort == "analyzed" else
                                    _along(query, own, (*SORTS["name"], Region.id))).limit(first)))
    elif owned:  # few: sorted from their ids
        own = [Region.id.in_(_tag_regions(conditions)), *others]
        ids.update(session.scalars(select(Region.id).join(File).where(*own).order_by(*_order(query)).limit(first)))
    return session.execute(_page(query).where(_among(session, Region.id, sorted(ids)))).all()


#: The index that holds the regions in each sort order, along which a page of many
#: matches is read; SQLite, which keeps no statistics of how many rows a range matches,
#: is told so with ``INDEXED BY``.
SORT_INDEXES = {"name": "ix_regions_listing", "bpm": "ix_regions_bpm", "duration": "ix_regions_duration_s",
                "loudness": "ix_regions_loudness_lufs", "key": "ix_regions_key"}
#: The most matching ids a search collects to sort its page from.
SORTABLE_MAX = 1_000


def _matching(session: Session, query: RegionQuery, filters: list, most: int, cap: int) -> tuple[list[int], int]:
    """The ids of up to ``most`` + 1 regions that match ``filters`` (``query``'s), and how many
    match, counted up to ``cap`` + 1. PostgreSQL does both in one pass (a search of a thousand
    matches among a million regions probes the tags of thousands: twice was 2 × 40 ms).
    SQLite, where a statement costs no round trip, collects ids only where a column condition
    streams them from an index (a tag's or a name's set is built whole before its first row:
    there the count alone), and counts only when there are more and fewer than ``cap`` were
    collected. A text or a tag alone is first counted by its parts (:func:`_parts`): one
    past the cap, or the only one, is the count, and no set of all its matches is built."""
    parts = _parts(query)
    if parts is not None:
        found = _union_count(session, parts, cap + 1)
        if found is not None and (found > most or not _postgres(session)):
            return [], found
    matching = _matches(session, query, filters)
    if _postgres(session):
        found = matching.limit(cap + 1).subquery()
        count, ids = session.execute(select(func.count(), func.array_agg(found.c[0])[1:most + 1])).one()
        return ids or [], count
    if not column_filters(query):
        return [], _count_up_to(session, matching, cap + 1)
    ids = session.scalars(matching.limit(most + 1)).all()
    if len(ids) <= most or len(ids) > cap:
        return ids, len(ids)
    # each region looked up in the tags: stopping costs less than counting all
    return ids, _count_up_to(session, matching, cap + 1, stop=_probed(query))


def _matches(session: Session, query: RegionQuery, filters: list):
    """The select of the ids of the regions that match ``filters`` (``query``'s). A search by
    a tag alone, when no file carries the tag, reads the tag's rows in its index, in region
    order: their regions exist (a region's tags go with it), so none is looked up."""
    if query.tag and not query.text and not column_filters(query):
        conditions = _tag_conditions(query.tag, query.tag_min)
        if not _files_tagged(session, conditions):
            return _tag_regions(conditions).distinct()
    return select(Region.id).where(*filters)


def _parts(query: RegionQuery) -> list | None:
    """The selects of the region ids (each without repeats) whose union the matches of a search
    by a text or a tag alone are: the regions that carry it, those of the files that carry it,
    and for a text those of the files whose name contains it; None for other searches."""
    if column_filters(query) or bool(query.text) == bool(query.tag):
        return None
    conditions = _tag_conditions(query.text or query.tag, None if query.text else query.tag_min)
    parts = [_tag_regions(conditions).distinct(), _regions_of(_tag_files(conditions))]
    if query.text:
        parts.append(_regions_of(_named(query.text)))
    return parts


def _union_count(session: Session, parts: list, most: int) -> int | None:
    """How many regions the union of ``parts`` holds, up to ``most``, where its parts' own
    counts tell (one reaches ``most``, or only one has any), each stopped there: a common tag's
    300 000 regions are not all read, nor a set of them built. None where the union must be
    counted. All parts are counted in one statement (one round trip to PostgreSQL)."""
    counts = session.execute(select(*(select(func.count()).select_from(part.limit(most).subquery()).scalar_subquery()
                                      for part in parts))).one()
    if max(counts) >= most or sum(1 for count in counts if count) <= 1:
        return max(counts)
    return None


def _count_up_to(session: Session, matching, most: int, stop: bool = False) -> int:
    """How many rows the select ``matching`` gives, up to ``most``. PostgreSQL stops counting
    there; SQLite (unless told to ``stop``) counts them all, which its tight loop does faster
    than stopping early for up to tens of thousands of rows (and a count of a whole table reads
    no row at all)."""
    if stop or _postgres(session):
        matching = matching.limit(most)
    return min(session.scalar(select(func.count()).select_from(matching.subquery())) or 0, most)


def _postgres(session: Session) -> bool:
    """Whether ``session`` reads PostgreSQL (for the forms of a query only it has)."""
    return session.get_bind().dialect.name == "postgresql"


def _among(session: Session, column, ids: list[int]):
    """``column IN ids``; on PostgreSQL one array parameter (``= ANY``): a list of a thousand
    parameters costs 10 ms to bind and plan."""
    if _postgres(session):
        return column.in_(select(func.unnest(bindparam(None, list(ids), type_=ARRAY(Integer)))))
    return column.in_(ids)


def _walkable(query: RegionQuery) -> bool:
    """Whether ``query``'s matches may be read in sort order: its order has an index (the
    analysis date's: the files'), and they spread along it. A file name's matches are whole
    files, side by side in name order (and likely in date order: files come in folders): a
    walk would read every region up to them (:func:`_by_files`)."""
    return (query.sort in SORT_INDEXES or query.sort == "analyzed") and not _by_files(query)


def _by_files(query: RegionQuery) -> bool:
    """Whether ``query``'s page of many matches is read as whole files and tagged regions
    apart (:func:`_text_page`): a text, in name or date order."""
    return bool(query.text) and query.sort in ("name", "analyzed")


def _sortable(session: Session, query: RegionQuery) -> int:
    """Up to how many matches sorting them beats reading regions in sort order until the
    page is full. Matches spread evenly, that walk reads about (offset + limit) · N / total
    of the N regions, the sort reads the ``total`` matches: they cross at √((offset + limit) · N)."""
    if not _walkable(query):
        return SORTABLE_MAX
    return min(SORTABLE_MAX, math.isqrt((query.offset + query.limit) * _regions_at_most(session)))


def _regions_at_most(session: Session) -> int:
    """N, the number of regions, or more (the largest id: ids only grow)."""
    return session.scalar(select(func.max(Region.id))) or 0


#: The columns of a list row (no ORM objects: a page of rows costs one light query).
ROW_COLUMNS = (Region.id, Region.file_id, File.path, File.name, Region.index, Region.start_s, Region.end_s,
               Region.duration_s, Region.bpm, Region.key, Region.loudness_lufs, Region.content)


def region_rows(session: Session, rows: list) -> list[dict[str, Any]]:
    """List rows (see :func:`region_row`) of ``rows`` selected with ``ROW_COLUMNS``, with their tags."""
    tags = region_tags(session, [row.id for row in rows], LIST_TAGS)
    return [region_row(row._mapping, tags.get(row.id, [])) for row in rows]


def tag_order(row: Any) -> tuple:
    """Sort key of a tag row (``source``, ``ordinal``, ``confidence``, ``tag``): a person's
    tags first, then trained taggers' from the most probable, then the classifier's in its
    own order (``ordinal``: its first tags are the telling ones, not always its most
    probable: Music and the instrument families come last). Model tags stored without an
    order (before migration 0013, until the region is analysed again) count as taggers'; a
    rule's tag, without probability, as certain."""
    return (row.source != TagSource.USER, row.ordinal is not None, row.ordinal or 0,
            -(1.0 if row.confidence is None else row.confidence), row.tag)


def region_tags(session: Session, region_ids: list[int], limit: int | None = None) -> dict[int, list[dict]]:
    """Per region, its tags ``{tag, probability, source}`` in :func:`tag_order`; at most
    ``limit`` each."""
    if not region_ids:
        return {}
    found: dict[int, list[dict]] = {}
    rows = session.execute(select(Tag.region_id, Tag.tag, Tag.confidence, Tag.source, Tag.ordinal)
                           .where(_among(session, Tag.region_id, region_ids))).all()
    rows.sort(key=tag_order)
    for region_id, tag, confidence, source, _ordinal in rows:
        found.setdefault(region_id, [])
        if limit is None or len(found[region_id]) < limit:
            found[region_id].append({"tag": tag, "probability": confidence, "source": source})
    return found


def region_row(region: Any, tags: list[dict]) -> dict[str, Any]:
    """What a list view shows of a region. region: a mapping of ``ROW_COLUMNS``' names."""
    return {
        "id": region["id"], "file_id": region["file_id"], "path": region["path"], "name": region["name"],
        "index": region["index"], "start_s": round(region["start_s"], 4), "end_s": round(region["end_s"], 4),
        "duration_s": round(region["duration_s"], 4), "bpm": region["bpm"], "key": region["key"],
        "camelot": keys.camelot(*keys.parse_key(region["key"])) if region["key"] else None,
        "loudness_lufs": region["loudness_lufs"], "content": region["content"], "tags": tags,
    }


def search_files(session: Session, query: RegionQuery) -> Page:
    """Files with at least one region that matches ``query`` (sorted by name), with
    their summary and how many of their regions matched. The page and the number of
    files matching come from one pass over the matching regions."""
    filters = region_filters(session, query)
    matching = (select(Region.file_id, func.count().label("matches")).where(*filters)
                .group_by(Region.file_id).subquery())
    name = File.name.desc() if query.descending else File.name.asc()
    rows = session.execute(
        select(File.id, File.path, File.name, File.duration_s, File.format, matching.c.matches, FileSummary.summary,
               func.count().over().label("total"))
        .join(matching, matching.c.file_id == File.id).outerjoin(FileSummary)
        .order_by(name, File.id).limit(query.limit).offset(query.offset)
    ).all()
    if not rows and query.offset:  # past the last page: how many there are
        return Page(session.scalar(select(func.count()).select_from(matching)) or 0, [])
    return Page(rows[0].total if rows else 0, [
        {"id": row.id, "path": row.path, "name": row.name, "duration_s": row.duration_s, "format": row.format,
         "matching_regions": row.matches, "summary": row.summary or {}} for row in rows])


def plugin_status_counts(session: Session) -> dict[str, dict[str, int]]:
    """Per plugin, the number of region analyses per outcome."""
    counts: dict[str, dict[str, int]] = {}
    rows = session.execute(select(RegionAnalysis.plugin, RegionAnalysis.status, func.count())
                           .group_by(RegionAnalysis.plugin, RegionAnalysis.status))
    for plugin, status, count in rows:
        counts.setdefault(plugin, {})[status] = count
    return counts


def get_region(session: Session, region_id: int) -> dict[str, Any] | None:
    """A region's list row with all its tags, every plugin outcome and its own peaks, or None."""
    row = session.execute(select(*ROW_COLUMNS, Region.peaks).join(File).where(Region.id == region_id)).first()
    if row is None:
        return None
    analyses = session.scalars(select(RegionAnalysis).where(RegionAnalysis.region_id == region_id)
                               .order_by(RegionAnalysis.id))
    tags = region_tags(session, [region_id]).get(region_id, [])
    return {**region_row(row._mapping, tags), "peaks": row.peaks,
            "analysis": {analysis.plugin: analysis_entry(analysis) for analysis in analyses}}


def get_waveform(session: Session, file_id: int) -> dict[str, dict] | None:
    """The file's stored ``{"overview", "zoom"}`` peaks (core.waveform dicts), or None."""
    waveform = session.get(Waveform, file_id)
    return {"overview": waveform.overview, "zoom": waveform.zoom} if waveform is not None else None


def similar_regions(session: Session, index: VectorIndex, region_id: int, count: int,
                    query: RegionQuery | None = None) -> list[dict[str, Any]] | None:
    """The ``count`` regions nearest to ``region_id`` by the cosine of their vectors of
    ``index.kind`` (same model only), each a list row with ``score`` (−1 … 1), best
    first, among those matching ``query``'s filters. None when the region has no such vector.

    The index proposes candidates (``SIMILAR_OVERSAMPLE`` times more than asked for, and
    as many again per filter's worth of thinning); they are re-scored exactly and
    filtered here. When a narrow filter leaves too few, the index is searched again among
    exactly the regions that match it (at most ``SIMILAR_SELECT_MAX``).

    The same recording comes first: of the ``FINGERPRINT_CANDIDATES`` nearest, those whose
    fingerprint (core.fingerprint) agrees with the region's by at least ``SAME_AUDIO_MIN``
    lead, best agreement first, and carry ``same_audio: true``; the rest follow by cosine.
    """
    target = session.scalar(select(RegionVector).where(RegionVector.region_id == region_id,
                                                       RegionVector.kind == index.kind))
    if target is None:
        return None
    index.sync(session)
    vector = as_vector(target.vector)
    filters = region_filters(session, query) if query is not None else []
    filtered = bool(filters)
    checks = region_filters(session, query, narrowed=True) if filtered else []  # on candidates only
    wanted = max(SIMILAR_OVERSAMPLE * (count + 1), SIMILAR_MIN_CANDIDATES) * (SIMILAR_FILTER_WIDEN if filtered else 1)
    best = _rescore(session, index, target, vector, index.search(vector, wanted), checks, count)
    if filtered and len(best) < count:
        allowed = session.scalars(select(Region.id).where(*filters).limit(SIMILAR_SELECT_MAX + 1)).all()
        if len(allowed) <= SIMILAR_SELECT_MAX:
            candidates = index.search(vector, wanted, allowed=np.array(allowed, np.int64))
            best = _rescore(session, index, target, vector, candidates, checks, count)
    same = _same_audio(session, region_id, best)
    order = sorted(best, key=lambda found: (-same.get(found, -2.0), -best[found], found))[:count]
    rows = {row["id"]: row for row in region_rows(session, session.execute(
        select(*ROW_COLUMNS).join(File).where(Region.id.in_(order))).all())}
    return [{**rows[found], "score": round(best[found], 5), "same_audio": found in same}
            for found in order if found in rows]


def _same_audio(session: Session, region_id: int, best: dict[int, float]) -> dict[int, float]:
    """Region id → fingerprint similarity, for those of the ``FINGERPRINT_CANDIDATES`` best
    of ``best`` (id → cosine) that are the same recording as ``region_id`` (none when it
    has no fingerprint)."""
    nearest = sorted(best, key=lambda found: -best[found])[:FINGERPRINT_CANDIDATES]
    if not nearest:
        return {}
    rows = session.execute(select(RegionVector.region_id, RegionVector.model, RegionVector.vector).where(
        RegionVector.kind == FINGERPRINT_KIND, RegionVector.region_id.in_([region_id, *nearest]))).all()
    mine = next((row for row in rows if row.region_id == region_id), None)
    others = [row for row in rows if mine is not None and row.region_id != region_id and row.model == mine.model
              and len(row.vector) == len(mine.vector)]
    if not others:
        return {}
    scores = fingerprint.similarity(mine.vector, [row.vector for row in others])
    return {row.region_id: float(score) for row, score in zip(others, scores, strict=True) if score >= SAME_AUDIO_MIN}


def _rescore(session: Session, index: VectorIndex, target: RegionVector, vector: np.ndarray,
             candidates: np.ndarray, filters: list, count: int) -> dict[int, float]:
    """The best of ``candidates`` that pass ``filters`` (``count`` of them, or
    ``FINGERPRINT_CANDIDATES`` when more): region id → exact cosine."""
    rows = session.execute(
        select(Region.id, RegionVector.vector).join(RegionVector)
        .where(Region.id.in_(np.unique(candidates).tolist()), Region.id != target.region_id,
               RegionVector.kind == index.kind, RegionVector.model == target.model, *filters)).all()
    scored = sorted(((float(as_vector(blob) @ vector), found) for found, blob in rows),
                    reverse=True)[:max(count, FINGERPRINT_CANDIDATES)]
    return {found: value for value, found in scored}
