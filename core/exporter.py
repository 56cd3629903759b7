"""A selection of regions exported as a folder of samples with a manifest.

Each region is rendered by :func:`core.export.render_region` in a sandbox worker (it
decodes the user's file); this side reads the regions' stored analysis, names the
files from a template, and writes ``manifest.json`` and ``manifest.csv`` listing every
sample with its source, its stored analysis and what the export did to it. A region
that fails to render is listed with its error; the others are exported all the same.

File names: ``ExportOptions.template`` with the fields ``{name}`` (the source file's
name without extension), ``{bpm}`` (tempo of the exported audio, whole number),
``{key}`` ("Am", "F#"), ``{index}`` (position in the export, from 1, zero-padded),
``{region}`` (the region's number in its file, from 1), ``{id}`` (region id),
``{content}`` and ``{tag}`` (the region's first tag). A ``_``-separated part of the
template whose field has no value (a drum hit has no key) is left out:
``{name}_{bpm}bpm_{key}_{index}`` names a one-shot ``kick_003``.
"""

from __future__ import annotations

import csv
import json
import re
import string
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import keys
from core.export import ExportError, ExportOptions
from core.sandbox import Sandbox
from database.selection import rows_by_id
from database.session import Database

FIELDS = ("name", "bpm", "key", "index", "region", "id", "content", "tag")
#: Wall-clock limit (s) and memory cap (MiB) of one region's rendering; longest region exported, s.
RENDER_TIMEOUT_S = 300.0
RENDER_MEMORY_MB = 2048
MAX_REGION_S = 600.0
MAX_NAME_CHARS = 150
#: Columns of manifest.csv, in order (tags joined with "; ").
CSV_COLUMNS = ("file", "status", "error", "region_id", "source_path", "region", "start_s", "end_s", "source_bpm",
               "source_key", "loudness_lufs", "content", "tags", "duration_s", "bpm", "key", "stretch",
               "semitones", "gain_db", "normalised", "sample_rate", "channels")


@dataclass(frozen=True)
class ExportResult:
    """folder: where the samples and manifests are; items: one manifest entry per region."""

    folder: Path
    items: list[dict[str, Any]]

    @property
    def failed(self) -> int:
        return sum(item["status"] != "ok" for item in self.items)


def check_template(template: str) -> None:
    """Raises ExportError when ``template`` names a field that is not in FIELDS, or is malformed."""
    try:
        fields = [(field, spec) for _, field, spec, _ in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise ExportError(f"bad file name template {template!r}: {exc}") from exc
    unknown = sorted({name for name, _ in fields if name not in FIELDS})
    if unknown:
        raise ExportError(f"unknown field(s) {', '.join(unknown)} in the template: use {', '.join(FIELDS)}")
    for name, spec in fields:  # "{name:>9999999999}" would fill the server's memory before the name is cut
        if "{" in (spec or "") or any(int(n) > MAX_NAME_CHARS for n in re.findall(r"\d+", spec or "")):
            raise ExportError(f"the format of {{{name}}} in the template must be a fixed width of at most "
                              f"{MAX_NAME_CHARS} characters")
    try:
        file_stem(template, _EXAMPLE)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise ExportError(f"bad file name template {template!r}: {exc}") from exc


#: Values of every field, as an export fills them in (to try a template on).
_EXAMPLE = {"name": "break", "bpm": 120, "key": "Am", "index": "001", "region": 1, "id": 1, "content": "music",
            "tag": "kick"}


def file_stem(template: str, values: dict[str, Any]) -> str:
    """The template filled with ``values``; parts whose field is None or "" are left out,
    and characters unsafe in a file name become ``-``."""
    parts = []
    for part in template.split("_"):
        fields = [f for _, f, _, _ in string.Formatter().parse(part) if f is not None]
        if any(values.get(f) in (None, "") for f in fields):
            continue
        parts.append(part.format(**{f: values[f] for f in fields}))
    stem = re.sub(r"[^\w.#+-]+", "-", "_".join(parts)).strip("-._")
    return stem[:MAX_NAME_CHARS] or "sample"


def short_key(key: str | None) -> str | None:
    """"A minor" → "Am", "F# major" → "F#"."""
    if not key:
        return None
    tonic, mode = keys.parse_key(key)
    return keys.PITCH_CLASSES[tonic] + ("m" if mode == "minor" else "")


def export_regions(database: Database, sandbox: Sandbox, region_ids: list[int], folder: Path,
                   options: ExportOptions, max_duration_s: float | None = None,
                   extra: dict[str, Any] | None = None) -> ExportResult:
    """Render ``region_ids`` (in that order) into ``folder`` with ``options``, and write
    the manifests (``extra`` is added to manifest.json, e.g. a pack's report).

    Raises: ExportError (bad template, no regions, an id not found). Rendering failures
    are listed in the manifest, not raised.
    """
    check_template(options.template)
    if not region_ids:
        raise ExportError("nothing to export: no regions given")
    rows = _rows(database, region_ids)
    folder.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(rows))))
    with ThreadPoolExecutor(max(1, sandbox.size)) as pool:
        rendered = list(pool.map(lambda row: _render(sandbox, row, folder, options, max_duration_s), rows))
    items, taken = [], set()
    for position, (row, outcome) in enumerate(zip(rows, rendered, strict=True), start=1):
        items.append(_finish(row, outcome, position, width, folder, options, taken))
    _write_manifests(folder, items, options, extra)
    return ExportResult(folder, items)


def _rows(database: Database, region_ids: list[int]) -> list[dict[str, Any]]:
    with database.session() as session:
        rows, missing = rows_by_id(session, region_ids)
    if missing:
        raise ExportError(f"no region with id {', '.join(map(str, missing[:10]))}")
    return rows


def _render(sandbox: Sandbox, row: dict[str, Any], folder: Path, options: ExportOptions,
            max_duration_s: float | None) -> dict[str, Any]:
    """Render one region to a temporary file in ``folder``: ``{"status", "partial", ...}``."""
    partial = folder / f".region-{row['id']}.part.{options.fmt}"
    if row["duration_s"] > MAX_REGION_S:
        return {"status": "error", "error": f"region is {row['duration_s']:.1f} s long; at most {MAX_REGION_S:g} s "
                                            "are exported"}
    result = sandbox.call("core.export:render_region",
                          {"path": row["path"], "out_path": str(partial), "start_s": row["start_s"],
                           "end_s": row["end_s"], "bpm": row["bpm"], "key": row["key"],
                           "options": options.to_dict(), "max_duration_s": max_duration_s},
                          timeout_s=RENDER_TIMEOUT_S, memory_mb=RENDER_MEMORY_MB)
    if not result.ok:
        partial.unlink(missing_ok=True)
        return {"status": result.status.value, "error": result.error or result.status.value}
    return {"status": "ok", "partial": partial, **result.value}


def _finish(row: dict[str, Any], outcome: dict[str, Any], position: int, width: int, folder: Path,
            options: ExportOptions, taken: set[str]) -> dict[str, Any]:
    """Name the rendered file and build its manifest entry."""
    item: dict[str, Any] = {
        "file": None, "status": outcome["status"], "error": outcome.get("error"), "region_id": row["id"],
        "source_path": row["path"], "region": row["index"] + 1, "start_s": row["start_s"], "end_s": row["end_s"],
        "source_bpm": row["bpm"], "source_key": row["key"], "loudness_lufs": row["loudness_lufs"],
        "content": row["content"], "tags": [t["tag"] for t in row["tags"]]}
    if outcome["status"] != "ok":
        return item
    values = {"name": Path(row["name"]).stem, "bpm": round(outcome["bpm"]) if outcome["bpm"] else None,
              "key": short_key(outcome["key"]), "index": f"{position:0{width}d}", "region": row["index"] + 1,
              "id": row["id"], "content": row["content"], "tag": item["tags"][0] if item["tags"] else None}
    stem = file_stem(options.template, values)
    name, copy = f"{stem}.{options.fmt}", 1
    while name.lower() in taken or (folder / name).exists():
        copy += 1
        name = f"{stem}-{copy}.{options.fmt}"
    taken.add(name.lower())
    outcome["partial"].replace(folder / name)
    item["file"] = name
    item.update({k: outcome[k] for k in ("duration_s", "bpm", "key", "stretch", "semitones", "gain_db", "normalised",
                                         "sample_rate", "channels")})
    return item


def _write_manifests(folder: Path, items: list[dict[str, Any]], options: ExportOptions,
                     extra: dict[str, Any] | None) -> None:
    manifest = {"created_at": datetime.now(UTC).isoformat(), "options": options.to_dict(),
                "exported": sum(i["status"] == "ok" for i in items),
                "failed": sum(i["status"] != "ok" for i in items), **(extra or {}), "items": items}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for item in items:
            writer.writerow({**item, "tags": "; ".join(item["tags"])})

