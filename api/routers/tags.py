"""A person's tags: ``POST/DELETE /api/regions/{id}/tags``, ``GET/POST/DELETE
/api/files/{id}/tags``, and ``GET /api/tags`` (every tag with its counts per source).
Model tags are read-only here."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, RowId
from api.schemas import ErrorResponse
from core.engine import AudioSamplerEngine
from database import tags as user_tags
from database.tags import Target

router = APIRouter(tags=["tags"])
ERRORS = {code: {"model": ErrorResponse} for code in (400, 404)}


class TagsRequest(BaseModel):
    tags: list[str] = Field(min_length=1, max_length=100, description="Tags to add (stored lower case)")


class TagOut(BaseModel):
    tag: str
    probability: float | None = Field(description="A model's probability 0-1; null for a person's tag")
    source: Literal["user", "model"]


class TargetTags(BaseModel):
    region_id: int | None = None
    file_id: int | None = None
    tags: list[TagOut] = Field(description="A person's tags first, then the models' by probability")


class SourceCount(BaseModel):
    regions: int
    files: int


class TagCount(BaseModel):
    tag: str
    user: SourceCount
    model: SourceCount
    regions: int = Field(description="Regions carrying the tag from either source")


class TagCounts(BaseModel):
    items: list[TagCount]


TagQuery = Annotated[list[str], Query(min_length=1, description="A tag to remove (repeat for several)")]


def _change(engine: AudioSamplerEngine, change, target: Target, tags: list[str]) -> TargetTags:
    try:
        with engine.database.session() as session:
            found = change(session, target, tags)
    except user_tags.NoSuchTarget as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc
    except user_tags.InvalidTag as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return TargetTags(region_id=target.region_id, file_id=target.file_id, tags=found)


@router.post("/api/regions/{region_id}/tags", response_model=TargetTags, responses=ERRORS)
async def tag_region(region_id: RowId, request: TagsRequest, engine: EngineDep) -> TargetTags:
    """Add a person's tags to a region; answers the region's tags afterwards."""
    return await run_in_threadpool(_change, engine, user_tags.add_user_tags, Target(region_id=region_id),
                                   request.tags)


@router.delete("/api/regions/{region_id}/tags", response_model=TargetTags, responses=ERRORS)
async def untag_region(region_id: RowId, tag: TagQuery, engine: EngineDep) -> TargetTags:
    """Remove a person's tags from a region (a model's tags stay)."""
    return await run_in_threadpool(_change, engine, user_tags.remove_user_tags, Target(region_id=region_id), tag)


@router.get("/api/files/{file_id}/tags", response_model=TargetTags, responses=ERRORS)
async def file_tags(file_id: RowId, engine: EngineDep) -> TargetTags:
    """A file's own tags (a person's first, then the models')."""
    return await run_in_threadpool(_change, engine, lambda session, target, _tags: user_tags.existing_target_tags(
        session, target), Target(file_id=file_id), [])


@router.post("/api/files/{file_id}/tags", response_model=TargetTags, responses=ERRORS)
async def tag_file(file_id: RowId, request: TagsRequest, engine: EngineDep) -> TargetTags:
    """Add a person's tags to a file (its regions are found by them too)."""
    return await run_in_threadpool(_change, engine, user_tags.add_user_tags, Target(file_id=file_id), request.tags)


@router.delete("/api/files/{file_id}/tags", response_model=TargetTags, responses=ERRORS)
async def untag_file(file_id: RowId, tag: TagQuery, engine: EngineDep) -> TargetTags:
    """Remove a person's tags from a file."""
    return await run_in_threadpool(_change, engine, user_tags.remove_user_tags, Target(file_id=file_id), tag)


@router.get("/api/tags", response_model=TagCounts)
async def tag_counts(engine: EngineDep,
                     source: Annotated[Literal["user", "model"] | None, Query(description="Only this source")] = None,
                     prefix: Annotated[str | None, Query(max_length=128, description="Tags starting so")] = None,
                     ) -> TagCounts:
    """Every tag with how many regions and files carry it, per source, most used first."""
    def count():
        with engine.database.session() as session:
            return user_tags.tag_counts(session, source, prefix)

    return TagCounts(items=await run_in_threadpool(count))
