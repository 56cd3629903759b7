"""A selection of regions by id (a pack, an export) read back as list rows, in the order given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from database.models import File, Region
from database.queries import ROW_COLUMNS, region_rows


def rows_by_id(session: Session, region_ids: list[int]) -> tuple[list[dict[str, Any]], list[int]]:
    """(the list rows of ``region_ids`` in that order, each id once; the ids not found).
    A row: database.queries.region_row, with all its tags."""
    found = session.execute(select(*ROW_COLUMNS).join(File).where(Region.id.in_(region_ids))).all()
    rows = {row["id"]: row for row in region_rows(session, found)}
    ordered = list(dict.fromkeys(region_ids))
    return [rows[i] for i in ordered if i in rows], [i for i in ordered if i not in rows]
