"""Libraries stored straight through database.store (no audio decoded): regions with
facets, classifier results (model tags) and user tags, for the tag and pack tests."""

from __future__ import annotations

from database import store
from database.models import Region, Tag, TagSource
from database.session import Database

PEAKS = {"sample_rate": 22_050, "samples_per_pixel": 1, "length": 1, "min": [0.0], "max": [0.1]}


def classified(drum: str | None = None, probability: float = 0.9, bpm: float | None = None,
               key: str | None = None) -> list[store.AnalysisRecord]:
    """Analyses of a region: a classifier result naming ``drum``, and optional tempo and key."""
    records = []
    if drum is not None:
        records.append(store.AnalysisRecord("classifier", "1.0", "ok",
                                            {"drum_type": drum, "drum_probabilities": {drum: probability}}))
    if bpm is not None:
        records.append(store.AnalysisRecord("tempo_meter", "1", "ok", {"bpm": bpm}))
    if key is not None:
        records.append(store.AnalysisRecord("key_finder", "1", "ok", {"key": key}))
    return records


def add_file(database: Database, path: str, regions: list[list[store.AnalysisRecord]]) -> list[int]:
    """Store a file at ``path`` with one region per entry of ``regions``; their ids."""
    with database.session() as session:
        records = [store.RegionRecord(i, 1.0 * i, 1.0 * i + 0.5, PEAKS, analyses) for i, analyses in enumerate(regions)]
        file = store.replace_file(session, store.FileFacts(path, path[-12:].ljust(64, "0"), 10, {}), regions=records)
        return [region.id for region in file.regions]


def user_tag_regions(database: Database, tag: str, count: int, path: str, bpm: float | None = None) -> list[int]:
    """A file of ``count`` regions, each with the user tag ``tag``; their ids."""
    ids = add_file(database, path, [classified(bpm=bpm) for _ in range(count)])
    with database.session() as session:
        session.add_all(Tag(region_id=i, tag=tag, source=TagSource.USER) for i in ids)
    return ids


def region_ids(database: Database) -> list[int]:
    from sqlalchemy import select

    with database.session() as session:
        return list(session.scalars(select(Region.id).order_by(Region.id)))
