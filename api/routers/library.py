"""Searching and reading the library: ``/database/files``, ``/database/files/{path}``,
``/database/stats``, ``/api/regions`` (search, detail, similar regions) and file waveforms."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep, IndexesDep, RowId
from api.schemas import (
    ErrorResponse,
    FilePage,
    FileReport,
    LibraryStats,
    RegionDetail,
    RegionPage,
    SimilarPage,
    WaveformPeaks,
)
from core import keys
from core.waveform import Waveform
from database import queries

router = APIRouter(tags=["library"])
NOT_FOUND = {404: {"model": ErrorResponse}}


def region_query(
    query: Annotated[str | None, Query(description="Part of the file name, or a tag")] = None,
    file_id: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="The regions of one file")] = None,
    tag: Annotated[str | None, Query(description='A tag of the region or its file ("piano", "kick", "loop")')] = None,
    tag_min: Annotated[float | None, Query(ge=0, le=1, description="Least probability of a model's tag")] = None,
    bpm_min: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    bpm_max: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
    duration_min: Annotated[float | None, Query(ge=0, allow_inf_nan=False, description="Seconds")] = None,
    duration_max: Annotated[float | None, Query(ge=0, allow_inf_nan=False, description="Seconds")] = None,
    loudness_min: Annotated[float | None, Query(allow_inf_nan=False, description="LUFS")] = None,
    loudness_max: Annotated[float | None, Query(allow_inf_nan=False, description="LUFS")] = None,
    key: Annotated[str | None, Query(description='A key ("A minor", "F#") or a Camelot code ("8A")')] = None,
    compatible: Annotated[bool, Query(description="Also the harmonically compatible keys (Camelot "
                                                  "neighbours and the relative key)")] = False,
    content: Annotated[Literal["speech", "music", "noise", "silence", "mixed"] | None, Query()] = None,
    sort: Annotated[Literal[tuple(queries.SORTS)], Query()] = "name",  # type: ignore[valid-type]
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> queries.RegionQuery:
    """The search parameters shared by the file and the region search."""
    return queries.RegionQuery(
        text=query, file_id=file_id, tag=tag, tag_min=tag_min, bpm_min=bpm_min, bpm_max=bpm_max,
        duration_min=duration_min, duration_max=duration_max, loudness_min=loudness_min, loudness_max=loudness_max,
        keys=_key_names(key, compatible) if key else None,
        content=content, sort=sort, descending=order == "desc", limit=limit, offset=offset)


def _key_names(text: str, compatible: bool) -> tuple[str, ...]:
    try:
        return keys.search_names(text, compatible)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


QueryDep = Annotated[queries.RegionQuery, Depends(region_query)]


@router.get("/database/files", response_model=FilePage)
async def search_files(search: QueryDep, engine: EngineDep) -> FilePage:
    """Files with at least one region matching every filter given."""
    found = await run_in_threadpool(_read, engine, queries.search_files, search)
    return FilePage(total=found.total, items=found.items)


@router.get("/api/regions", response_model=RegionPage)
async def search_regions(search: QueryDep, engine: EngineDep) -> RegionPage:
    """Regions matching every filter given, sorted and paged."""
    found = await run_in_threadpool(_read, engine, queries.search_regions, search)
    return RegionPage(total=found.total, total_exact=found.exact, items=found.items)


@router.get("/api/regions/{region_id}", response_model=RegionDetail, responses=NOT_FOUND)
async def region_detail(region_id: RowId, engine: EngineDep) -> RegionDetail:
    """One region: what the list shows, every plugin's outcome (failures included), its peaks."""
    region = await run_in_threadpool(_read, engine, queries.get_region, region_id)
    if region is None:
        raise HTTPException(status_code=404, detail=f"no region with id {region_id}")
    return RegionDetail(**region)


@router.get("/api/regions/{region_id}/similar", response_model=SimilarPage, responses=NOT_FOUND)
async def similar(region_id: RowId, search: QueryDep, engine: EngineDep, indexes: IndexesDep,
                  k: Annotated[int, Query(ge=1, le=200, description="How many regions")] = 20,
                  kind: Annotated[Literal["yamnet", "features"], Query(
                      description="The vectors compared: YAMNet's embedding, or the feature vector")] = "yamnet",
                  ) -> SimilarPage:
    """"More like this": the regions nearest to this one by the cosine of their vectors,
    among those matching the search filters given (sort and paging do not apply)."""
    def find():
        with engine.database.session() as session:
            return queries.similar_regions(session, indexes.get(kind), region_id, k, search)

    items = await run_in_threadpool(find)
    if items is None:
        raise HTTPException(status_code=404, detail=f"region {region_id} has no {kind} vector (no such region, "
                                                    "or the embeddings plugin has not analysed it)")
    return SimilarPage(kind=kind, items=items)


@router.get("/api/files/{file_id}/waveform", response_model=WaveformPeaks,
            responses={**NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}})
async def waveform(file_id: RowId, engine: EngineDep,
                   level: Annotated[Literal["overview", "zoom"], Query()] = "overview",
                   format: Annotated[Literal["json", "dat"], Query()] = "json") -> WaveformPeaks | Response:
    """The file's peaks: 1 000-point ``overview`` or 8 000-point ``zoom``; ``format=dat``
    gives the audiowaveform binary layout that waveform-data.js / Peaks.js read."""
    peaks = await run_in_threadpool(_read, engine, queries.get_waveform, file_id)
    if peaks is None:
        raise HTTPException(status_code=404, detail=f"no waveform for file {file_id}")
    if format == "dat":
        return Response(Waveform.from_dict(peaks[level]).to_dat(), media_type="application/octet-stream")
    return WaveformPeaks(**peaks[level])


@router.get("/database/files/{path:path}", response_model=FileReport, responses=NOT_FOUND)
async def file_detail(path: str, engine: EngineDep) -> FileReport:
    """The stored report of the file at ``path`` (as analysed: an absolute path)."""
    report = await run_in_threadpool(_report, engine, "/" + path.lstrip("/"))
    if report is None:
        raise HTTPException(status_code=404, detail=f"no analysed file at {'/' + path.lstrip('/')}")
    return FileReport(**report)


@router.get("/database/stats", response_model=LibraryStats)
async def stats(engine: EngineDep) -> LibraryStats:
    def read() -> LibraryStats:
        with engine.database.session() as session:
            return LibraryStats(**queries.totals(session), analyses_by_plugin=queries.plugin_status_counts(session))

    return await run_in_threadpool(read)


def _read(engine, read_fn, argument):
    with engine.database.session() as session:
        return read_fn(session, argument)


def _report(engine, path: str) -> dict | None:
    with engine.database.session() as session:
        file = queries.get_file(session, path)
        return queries.file_report(file) if file is not None else None
