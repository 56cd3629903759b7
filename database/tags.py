"""A person's tags on regions and files, and how many regions and files carry each tag.

User tags (``source = "user"``) are added and removed here; model tags (``"model"``,
with a probability and the model's version) are written only by database.store from
the classifier's results and are never touched here: a user tag "kick" next to a
model tag "kick" is a second row, and removing the user's leaves the model's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from database.models import File, Region, Tag, TagSource, normalise_tag
from database.queries import region_tags, tag_order

#: Longest tag stored (the column's width), characters.
MAX_TAG_LENGTH = 128


class TagError(ValueError):
    """A tag request that cannot be carried out."""


class InvalidTag(TagError):
    """A tag that is empty (after normalising) or longer than ``MAX_TAG_LENGTH``."""


class NoSuchTarget(TagError):
    """The region or file to tag does not exist."""


@dataclass(frozen=True)
class Target:
    """What a tag hangs on: a region or a file (exactly one of the two ids)."""

    region_id: int | None = None
    file_id: int | None = None

    def __post_init__(self) -> None:
        if (self.region_id is None) == (self.file_id is None):
            raise ValueError("a tag target is a region or a file, not both or neither")

    @property
    def label(self) -> str:
        return f"region {self.region_id}" if self.region_id is not None else f"file {self.file_id}"

    def where(self) -> list:
        """The conditions selecting this target's tags."""
        if self.region_id is not None:
            return [Tag.region_id == self.region_id]
        return [Tag.file_id == self.file_id]


def clean_tags(tags: list[str]) -> list[str]:
    """``tags`` normalised (:func:`normalise_tag`), duplicates dropped, in order.

    Raises: InvalidTag for an empty or too long tag.
    """
    cleaned: list[str] = []
    for text in tags:
        tag = normalise_tag(text)
        if not tag:
            raise InvalidTag("a tag cannot be empty")
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidTag(f"a tag has at most {MAX_TAG_LENGTH} characters: {tag[:40]!r}… has {len(tag)}")
        if any(unicodedata.category(character) == "Cc" for character in tag):
            # NUL, for one, is stored as U+FFFD (database.session): a second tag would not match the first
            raise InvalidTag(f"a tag cannot hold control characters: {tag[:40]!r}")
        if tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def add_user_tags(session: Session, target: Target, tags: list[str]) -> list[dict[str, Any]]:
    """Give ``target`` the user tags ``tags`` (those it has already are kept once).

    Returns the target's tags afterwards (see :func:`target_tags`).
    Raises: NoSuchTarget, InvalidTag.
    """
    wanted = clean_tags(tags)
    _check_exists(session, target)
    have = set(session.scalars(select(Tag.tag).where(*target.where(), Tag.source == TagSource.USER)))
    session.add_all(Tag(region_id=target.region_id, file_id=target.file_id, tag=tag, source=TagSource.USER)
                    for tag in wanted if tag not in have)
    session.flush()
    return target_tags(session, target)


def remove_user_tags(session: Session, target: Target, tags: list[str]) -> list[dict[str, Any]]:
    """Take the user tags ``tags`` off ``target`` (tags it lacks are ignored; model tags stay).

    Returns the target's tags afterwards. Raises: NoSuchTarget, InvalidTag.
    """
    unwanted = clean_tags(tags)
    _check_exists(session, target)
    session.execute(delete(Tag).where(*target.where(), Tag.source == TagSource.USER, Tag.tag.in_(unwanted)))
    return target_tags(session, target)


def target_tags(session: Session, target: Target) -> list[dict[str, Any]]:
    """The target's tags ``{tag, probability, source}`` in :func:`database.queries.tag_order`."""
    if target.region_id is not None:
        return region_tags(session, [target.region_id]).get(target.region_id, [])
    rows = session.execute(select(Tag.tag, Tag.confidence, Tag.source, Tag.ordinal).where(*target.where())).all()
    rows.sort(key=tag_order)
    return [{"tag": tag, "probability": confidence, "source": source} for tag, confidence, source, _ in rows]


def existing_target_tags(session: Session, target: Target) -> list[dict[str, Any]]:
    """:func:`target_tags` of a target that must exist (NoSuchTarget otherwise)."""
    _check_exists(session, target)
    return target_tags(session, target)


def tag_counts(session: Session, source: str | None = None, prefix: str | None = None) -> list[dict[str, Any]]:
    """Every tag with how many regions and files carry it, per source, most used first.

    Each entry: ``{"tag", "user": {"regions", "files"}, "model": {"regions", "files"},
    "regions"}`` where ``regions`` counts regions tagged by either source (once each).
    source: only tags of that source (``user`` or ``model``); prefix: only tags that
    start with it (normalised).
    """
    conditions = []
    if source is not None:
        conditions.append(Tag.source == source)
    if prefix:
        conditions.append(Tag.tag.startswith(normalise_tag(prefix), autoescape=True))
    rows = session.execute(
        select(Tag.tag, Tag.source, func.count(Tag.region_id), func.count(Tag.file_id))
        .where(*conditions).group_by(Tag.tag, Tag.source)).all()
    distinct = dict(session.execute(
        select(Tag.tag, func.count(func.distinct(Tag.region_id))).where(*conditions, Tag.region_id.is_not(None))
        .group_by(Tag.tag)).all())
    found: dict[str, dict[str, Any]] = {}
    for tag, tag_source, regions, files in rows:
        entry = found.setdefault(tag, {"tag": tag, "user": {"regions": 0, "files": 0},
                                       "model": {"regions": 0, "files": 0}, "regions": distinct.get(tag, 0)})
        entry[tag_source] = {"regions": regions, "files": files}
    return sorted(found.values(), key=lambda e: (-e["regions"] - e["user"]["files"] - e["model"]["files"], e["tag"]))


def _check_exists(session: Session, target: Target) -> None:
    model, key = (Region, target.region_id) if target.region_id is not None else (File, target.file_id)
    if session.get(model, key) is None:
        raise NoSuchTarget(f"no {target.label.split()[0]} with id {key}")
