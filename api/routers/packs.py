"""Sample packs: ``POST /api/packs`` draws one (database.packs) and reports the
distribution drawn next to the one asked; ``POST /api/packs/export`` draws and answers
it as a ZIP of samples with manifests; ``GET/PUT /api/packs/weights``: the library's
saved category weights. The search filters (``bpm_min``, ``key``, ``content`` …) are
query parameters, as for ``/api/regions``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.routers.export import ZIP, ExportSettings, export_zip
from api.routers.library import QueryDep
from api.schemas import ErrorResponse, RegionItem
from core.engine import AudioSamplerEngine
from database import packs
from database.queries import RegionQuery
from database.selection import rows_by_id

router = APIRouter(tags=["packs"])
ERRORS = {400: {"model": ErrorResponse}}


#: A category's weight, as the API takes it.
Weight = Annotated[float, Field(ge=0, le=packs.MAX_WEIGHT)]


class Weights(BaseModel):
    weights: dict[str, Weight] = Field(description="Category (tag) → weight ≥ 0; normalised when drawing")


class PackBody(BaseModel):
    size: int = Field(ge=1, le=packs.MAX_PACK_SIZE, description="How many regions")
    weights: dict[str, Weight] | None = Field(None, description="Category weights (default: the saved ones)")
    categories: list[str] | None = Field(None, max_length=100, description="Only these, equal shares")
    balanced: bool = Field(False, description="Equal shares for every category")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Repeat a draw")
    category_min: float | None = Field(None, ge=0, le=1, description="Least probability of a model's category tag")
    save_weights: bool = Field(True, description="Keep the weights given as the library's")


class CategoryReport(BaseModel):
    tag: str
    weight: float
    asked: float = Field(description="Share asked, 0-1 (weights normalised over the categories with regions)")
    available: int = Field(description="Regions matching the category and filters")
    drawn: int
    drawn_share: float


class PackReport(BaseModel):
    size: int
    drawn: int
    seed: int
    mode: Literal["weights", "categories", "balanced"]
    categories: list[CategoryReport]
    skipped: list[str] = Field(description="Categories without a matching region")
    messages: list[str]


class PackOut(BaseModel):
    report: PackReport
    items: list[RegionItem]


class PackExportBody(PackBody):
    export: ExportSettings = Field(default_factory=ExportSettings)


def _draw(engine: AudioSamplerEngine, body: PackBody, query: RegionQuery) -> tuple[packs.Pack, list[dict[str, Any]]]:
    request = packs.PackRequest(size=body.size, weights=body.weights,
                                categories=tuple(body.categories) if body.categories else None,
                                balanced=body.balanced, query=query, tag_min=body.category_min, seed=body.seed)
    try:
        with engine.database.session() as session:
            if body.weights is not None and body.save_weights:
                packs.save_weights(session, body.weights)
            pack = packs.draw_pack(session, request)
            rows, _ = rows_by_id(session, pack.region_ids)
    except packs.PackError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return pack, rows


@router.post("/api/packs", response_model=PackOut, responses=ERRORS)
async def draw(body: PackBody, search: QueryDep, engine: EngineDep) -> PackOut:
    """Draw a pack: ``size`` regions by category weights (or chosen categories, or
    balanced) among those matching the filters; the report shows asked vs drawn."""
    pack, rows = await run_in_threadpool(_draw, engine, body, search)
    return PackOut(report=pack.report, items=rows)


@router.post("/api/packs/export", response_class=FileResponse, responses={**ZIP, **ERRORS})
async def draw_and_export(body: PackExportBody, search: QueryDep, engine: EngineDep) -> FileResponse:
    """Draw a pack as ``POST /api/packs`` does and answer it as a ZIP of samples (rendered
    with ``export``) with manifest.json (holding the pack's report) and manifest.csv."""
    def run() -> FileResponse:
        pack, _ = _draw(engine, body, search)
        return export_zip(engine, pack.region_ids, body.export, "pack", extra={"pack": pack.report})

    return await run_in_threadpool(run)


@router.get("/api/packs/weights", response_model=Weights)
async def get_weights(engine: EngineDep) -> Weights:
    """The library's saved category weights (as given, not normalised)."""
    def load() -> dict[str, float]:
        with engine.database.session() as session:
            return packs.load_weights(session)

    return Weights(weights=await run_in_threadpool(load))


@router.put("/api/packs/weights", response_model=Weights, responses=ERRORS)
async def put_weights(body: Weights, engine: EngineDep) -> Weights:
    """Replace the library's category weights."""
    def save() -> dict[str, float]:
        try:
            with engine.database.session() as session:
                packs.save_weights(session, body.weights)
                return packs.load_weights(session)
        except packs.PackError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc

    return Weights(weights=await run_in_threadpool(save))
