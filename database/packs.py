"""Sample packs: N regions drawn by category (a category is a tag, a person's or a
model's, of the region or its file) with the shares asked for, and the library's
category weights kept between packs.

How a pack is drawn: the shares are the weights normalised over the categories that
have matching regions (the others are skipped, and the report says so). Each category
gets its share of the pack as a whole number of regions (largest remainders, ties
broken at random), and those regions are drawn uniformly at random, without repeats,
from the category's matching regions. A category with fewer regions than its share
gives all it has and the rest is shared out again among the others by weight. So a pack
of 1 000 at 0.5/0.3/0.2 is 500/300/200 when each category has enough regions.
Balanced mode gives every category the same share (equal probability per class, then
per item). An explicit choice of categories overrides the weights with equal shares.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from database.models import CategoryWeight, Region, Tag, TagSource
from database.queries import RegionQuery, region_filters
from database.tags import clean_tags

#: Largest pack drawn at once, and largest weight.
MAX_PACK_SIZE = 100_000
MAX_WEIGHT = 1e9


class PackError(ValueError):
    """A pack that cannot be drawn (bad weights, no categories, nothing matches)."""


def parse_weights(text: str) -> dict[str, float]:
    """``"kick=0.5,snare=0.3,hat=0.2"`` → ``{"kick": 0.5, ...}`` (tags normalised; the
    weights as given, not yet normalised). Raises PackError."""
    weights: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, value = part.rpartition("=")
        if not sep or not name.strip():
            raise PackError(f"not a weight: {part!r} (use tag=weight, e.g. kick=0.5)")
        try:
            weights[name] = float(value)
        except ValueError as exc:
            raise PackError(f"not a number: {value!r} in {part!r}") from exc
    return check_weights(weights)


def check_weights(weights: dict[str, float]) -> dict[str, float]:
    """``weights`` with tags normalised. Raises PackError: none given, a weight that is
    negative, over MAX_WEIGHT or NaN, all zero, or a bad tag."""
    if not weights:
        raise PackError("no weights given")
    cleaned: dict[str, float] = {}
    for name, weight in weights.items():
        if not 0 <= weight <= MAX_WEIGHT:  # NaN fails too
            raise PackError(f"the weight of {name!r} must be a number ≥ 0 and ≤ {MAX_WEIGHT:g}, not {weight}")
        (tag,) = _clean([name])
        cleaned[tag] = cleaned.get(tag, 0.0) + weight
    if not any(cleaned.values()):
        raise PackError("every weight is 0")
    return cleaned


def save_weights(session: Session, weights: dict[str, float]) -> None:
    """Make ``weights`` (see :func:`check_weights`) the library's category weights."""
    weights = check_weights(weights)
    session.execute(delete(CategoryWeight))
    session.add_all(CategoryWeight(tag=tag, weight=weight) for tag, weight in weights.items())
    session.flush()


def load_weights(session: Session) -> dict[str, float]:
    """The library's category weights (empty when none were saved)."""
    return {row.tag: row.weight for row in session.scalars(select(CategoryWeight).order_by(CategoryWeight.tag))}


@dataclass(frozen=True)
class PackRequest:
    """What a pack asks for.

    size: regions wanted. weights: tag → weight (None: the library's saved weights).
    categories: an explicit choice of tags, equal shares (overrides weights). balanced:
    equal shares over the weights' categories (or, with neither, every tag a person
    gave). query: filters the regions must pass (its sort and page are ignored).
    tag_min: least probability of a model's tag for a region to count in a category.
    seed: makes the draw reproducible (None: a random one, reported).
    """

    size: int
    weights: dict[str, float] | None = None
    categories: tuple[str, ...] | None = None
    balanced: bool = False
    query: RegionQuery = field(default_factory=RegionQuery)
    tag_min: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Pack:
    """region_ids: the regions drawn, grouped by category; report: asked vs drawn (see draw_pack)."""

    region_ids: list[int]
    report: dict[str, Any]


def draw_pack(session: Session, request: PackRequest) -> Pack:
    """Draw a pack (see the module docstring).

    The report: ``{"size", "drawn", "seed", "mode", "categories": [{"tag", "weight",
    "asked" (share 0-1), "available" (matching regions), "drawn", "drawn_share"}],
    "skipped": [tags with no matching region], "messages": [what a person should know]}``.
    Raises: PackError.
    """
    if not 1 <= request.size <= MAX_PACK_SIZE:
        raise PackError(f"a pack has 1 to {MAX_PACK_SIZE} regions, not {request.size}")
    mode, weights = _weights(session, request)
    weights = dict(sorted(weights.items(), key=lambda item: (-item[1], item[0])))  # the report's order
    seed = request.seed if request.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    pools = {tag: _matching(session, request, tag) for tag in weights}
    skipped = [tag for tag, pool in pools.items() if not pool]
    messages = [f"{tag}: no region matches, skipped" for tag in skipped]
    active = {tag: weight for tag, weight in weights.items() if pools[tag] and weight > 0}
    if not active:
        raise PackError("no region matches any of the categories " + ", ".join(sorted(weights)))
    total_weight = sum(active.values())
    available = {tag: len(pool) for tag, pool in pools.items()}
    for pool in pools.values():
        rng.shuffle(pool)
    drawn = _draw(pools, active, request.size, rng)
    taken = sum(len(ids) for ids in drawn.values())
    for tag in active:
        if len(drawn[tag]) < round(request.size * active[tag] / total_weight):
            messages.append(f"{tag}: only {len(drawn[tag])} matching regions; the rest was drawn from the others")
    if taken < request.size:
        messages.append(f"only {taken} regions match the categories and filters, not {request.size}")
    categories = [{"tag": tag, "weight": weights[tag], "asked": round(active.get(tag, 0.0) / total_weight, 6),
                   "available": available[tag], "drawn": len(drawn.get(tag, [])),
                   "drawn_share": round(len(drawn.get(tag, [])) / taken, 6)} for tag in weights]
    report = {"size": request.size, "drawn": taken, "seed": seed, "mode": mode, "categories": categories,
              "skipped": skipped, "messages": messages}
    return Pack([region for tag in active for region in drawn[tag]], report)


def _weights(session: Session, request: PackRequest) -> tuple[str, dict[str, float]]:
    """(mode, tag → weight) the request draws with."""
    if request.categories:
        return "categories", dict.fromkeys(_clean(list(request.categories)), 1.0)
    weights = check_weights(request.weights) if request.weights is not None else load_weights(session)
    if request.balanced:
        tags = list(weights) or list(session.scalars(select(Tag.tag).where(Tag.source == TagSource.USER)
                                                     .distinct().order_by(Tag.tag)))
        if not tags:
            raise PackError("balanced mode needs categories: give weights or categories, or tag some regions")
        return "balanced", dict.fromkeys(tags, 1.0)
    if not weights:
        raise PackError("no categories: give weights (kick=0.5,snare=0.3,…) or categories; none are saved")
    return "weights", weights


def _clean(tags: list[str]) -> list[str]:
    try:
        return clean_tags(tags)
    except ValueError as exc:
        raise PackError(str(exc)) from exc


def _matching(session: Session, request: PackRequest, tag: str) -> list[int]:
    """Ids of the regions that pass the request's filters and carry ``tag``, ascending."""
    category = RegionQuery(tag=tag, tag_min=request.tag_min)
    filters = [*region_filters(session, request.query), *region_filters(session, category)]
    return list(session.scalars(select(Region.id).where(*filters).order_by(Region.id)))


def _draw(pools: dict[str, list[int]], weights: dict[str, float], size: int,
          rng: random.Random) -> dict[str, list[int]]:
    """Per category, the regions drawn from its (shuffled) pool: quotas by weight, a
    category that runs short handing its remainder to the others; no region twice."""
    drawn: dict[str, list[int]] = {tag: [] for tag in weights}
    taken: set[int] = set()
    active = dict(weights)
    remaining = size
    while remaining > 0 and active:
        quotas = _quotas(remaining, active, rng)
        for tag in sorted(active, key=lambda t: len(pools[t])):
            pool = pools[tag]
            while quotas[tag] > 0 and pool:
                region = pool.pop()
                if region not in taken:
                    taken.add(region)
                    drawn[tag].append(region)
                    quotas[tag] -= 1
                    remaining -= 1
            if not pool:
                del active[tag]
    return drawn


def _quotas(size: int, weights: dict[str, float], rng: random.Random) -> dict[str, int]:
    """``size`` split by ``weights`` into whole numbers (largest remainders, ties at random)."""
    total = sum(weights.values())
    exact = {tag: size * weight / total for tag, weight in weights.items()}
    quotas = {tag: math.floor(value) for tag, value in exact.items()}
    order = sorted(exact, key=lambda tag: (-(exact[tag] - quotas[tag]), rng.random()))
    for tag in order[: size - sum(quotas.values())]:
        quotas[tag] += 1
    return quotas
