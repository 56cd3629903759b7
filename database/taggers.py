"""What a trainable tagger reads from and writes to the library: the regions a person
tagged with one of its classes (their stored vectors of one kind), the negatives (regions
a person tagged with none of its classes), the regions to label, and its model tags."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from database.models import Region, RegionVector, Tag, TagSource
from database.vector_index import as_matrix

#: Regions labelled per query while scanning.
SCAN_BATCH = 2000


@dataclass(frozen=True)
class TrainingSet:
    """region_ids [n], vectors float32 [n, dim], labels [n]: the regions with exactly one of
    the classes among their (or their file's) user tags; negative_ids / negative_vectors:
    regions a person tagged, with none of the classes; ambiguous: regions left out for
    carrying two classes; model: the vectors' model (one model per kind is compared)."""

    region_ids: list[int]
    vectors: np.ndarray
    labels: list[str]
    negative_ids: list[int]
    negative_vectors: np.ndarray
    ambiguous: int
    model: str | None

    def counts(self, classes: list[str]) -> dict[str, int]:
        found = Counter(self.labels)
        return {tag: found.get(tag, 0) for tag in classes}


def vector_model(session: Session, kind: str) -> str | None:
    """The model most of the stored vectors of ``kind`` come from (None: no such vectors)."""
    return session.scalar(select(RegionVector.model).where(RegionVector.kind == kind)
                          .group_by(RegionVector.model).order_by(func.count().desc(), RegionVector.model).limit(1))


def user_tags_by_region(session: Session, region_ids: list[int] | None = None) -> dict[int, set[str]]:
    """Region id → the user tags of the region and of its file (all regions, or ``region_ids``)."""
    found: dict[int, set[str]] = {}
    own = select(Tag.region_id, Tag.tag).where(Tag.source == TagSource.USER, Tag.region_id.is_not(None))
    inherited = (select(Region.id, Tag.tag).join(Tag, Tag.file_id == Region.file_id)
                 .where(Tag.source == TagSource.USER))
    if region_ids is not None:
        own = own.where(Tag.region_id.in_(region_ids))
        inherited = inherited.where(Region.id.in_(region_ids))
    for statement in (own, inherited):
        for region_id, tag in session.execute(statement):
            found.setdefault(region_id, set()).add(tag)
    return found


def training_set(session: Session, classes: list[str], kind: str, negatives: list[str] | None = None) -> TrainingSet:
    """The labelled regions and the negatives (regions with a user tag in ``negatives``,
    or with any user tag when None, and none of the classes), each with its vector."""
    model = vector_model(session, kind)
    wanted = set(classes)
    labelled: dict[int, str] = {}
    negative: list[int] = []
    ambiguous = 0
    for region_id, tags in user_tags_by_region(session).items():
        hits = tags & wanted
        if len(hits) == 1:
            labelled[region_id] = hits.pop()
        elif len(hits) > 1:
            ambiguous += 1
        elif negatives is None or tags & set(negatives):
            negative.append(region_id)
    ids, vectors = _vectors(session, sorted(labelled), kind, model)
    negative_ids, negative_vectors = _vectors(session, sorted(negative), kind, model)
    return TrainingSet(ids, vectors, [labelled[i] for i in ids], negative_ids, negative_vectors, ambiguous, model)


def unlabelled(session: Session, classes: list[str], kind: str, model: str) -> Iterator[tuple[list[int], np.ndarray]]:
    """Batches (region ids, vectors [n, dim]) of the regions with a vector of ``kind`` by
    ``model`` and none of ``classes`` among their or their file's user tags."""
    wanted = set(classes)
    last = 0
    while True:
        rows = session.execute(select(RegionVector.region_id, RegionVector.vector)
                               .where(RegionVector.kind == kind, RegionVector.model == model,
                                      RegionVector.region_id > last)
                               .order_by(RegionVector.region_id).limit(SCAN_BATCH)).all()
        if not rows:
            return
        last = rows[-1].region_id
        tagged = user_tags_by_region(session, [r.region_id for r in rows])
        keep = [r for r in rows if not tagged.get(r.region_id, set()) & wanted]
        if keep:
            yield [r.region_id for r in keep], _matrix([r.vector for r in keep])


def write_tags(session: Session, version: str, predictions: dict[int, tuple[str, float] | None]) -> dict[str, int]:
    """Replace the model tags of ``version`` (a tagger's "tagger NAME vN") on the regions of
    ``predictions`` with its prediction (tag, probability); None (unknown) leaves none.
    A region that has a model tag of that name from elsewhere (the classifier) keeps it.
    Returns ``{"tagged", "kept"}`` counts."""
    prefix = version.rsplit(" v", 1)[0] + " v"
    ids = list(predictions)
    for start in range(0, len(ids), SCAN_BATCH):
        chunk = ids[start:start + SCAN_BATCH]
        session.execute(delete(Tag).where(Tag.region_id.in_(chunk), Tag.source == TagSource.MODEL,
                                          Tag.model_version.startswith(prefix, autoescape=True)))
    existing = {(row.region_id, row.tag) for row in session.execute(select(Tag.region_id, Tag.tag).where(
        Tag.region_id.in_(ids), Tag.source == TagSource.MODEL))} if ids else set()
    tagged = kept = 0
    for region_id, prediction in predictions.items():
        if prediction is None:
            continue
        tag, probability = prediction
        if (region_id, tag) in existing:
            kept += 1
            continue
        session.add(Tag(region_id=region_id, tag=tag, source=TagSource.MODEL, confidence=probability,
                        model_version=version[:64]))
        tagged += 1
    session.flush()
    return {"tagged": tagged, "kept": kept}


def _vectors(session: Session, region_ids: list[int], kind: str, model: str | None) -> tuple[list[int], np.ndarray]:
    """(the ids among ``region_ids`` that have a vector of kind and model, their vectors [n, dim])."""
    rows = []
    for start in range(0, len(region_ids), SCAN_BATCH):
        rows += session.execute(select(RegionVector.region_id, RegionVector.vector)
                                .where(RegionVector.region_id.in_(region_ids[start:start + SCAN_BATCH]),
                                       RegionVector.kind == kind, RegionVector.model == model)
                                .order_by(RegionVector.region_id)).all()
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    return [r.region_id for r in rows], _matrix([r.vector for r in rows])


def _matrix(blobs: list[bytes]) -> np.ndarray:
    """float32 [n, dim] of stored vectors of one model (so of one length)."""
    return as_matrix(blobs, len(blobs[0]) // 2)
