"""``main.py export``: regions (by id, or every region a search finds) written as samples
into a folder with manifest.json and manifest.csv.

    python main.py export 12 15 --out picks/
    python main.py export --tag kick --out kicks/ --format flac --normalise lufs --lufs -16
    python main.py export --bpm 118-124 --out loops/ --to-bpm 120 --to-key "A minor" --fade-out 10

Exit status: 0 when every region was exported, 1 when any failed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli import Hooks
from core.config import get_settings


def add_commands(commands: argparse._SubParsersAction, hooks: Hooks) -> None:
    export = commands.add_parser("export", help="write regions as samples into a folder, with a manifest")
    export.add_argument("regions", nargs="*", type=int, metavar="REGION_ID",
                        help="region ids (default: every region the filters find, up to --limit)")
    export.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write into")
    hooks.search_options(export)
    export.add_argument("--limit", type=int, default=100, help="most regions a search exports (default 100)")
    add_render_options(export)
    export.set_defaults(command=lambda args: _export(args, hooks))


def add_render_options(parser: argparse.ArgumentParser) -> None:
    """How samples are rendered (core.export.ExportOptions)."""
    group = parser.add_argument_group("rendering")
    group.add_argument("--format", choices=["wav", "flac", "mp3"], default="wav")
    group.add_argument("--normalise", choices=["none", "peak", "lufs"], default="none")
    group.add_argument("--peak", type=float, default=-1.0, metavar="DBFS", help="peak level (default -1 dBFS)")
    group.add_argument("--lufs", type=float, default=-14.0, help="loudness (default -14 LUFS)")
    group.add_argument("--fade-in", type=float, default=0.0, metavar="MS")
    group.add_argument("--fade-out", type=float, default=0.0, metavar="MS")
    group.add_argument("--to-bpm", type=float, metavar="BPM", help="time-stretch regions with a tempo to this one")
    group.add_argument("--to-key", metavar="KEY", help='pitch-shift regions with a key to this one ("C minor", "5A")')
    group.add_argument("--template", default="{name}_{bpm}bpm_{key}_{index}",
                       help="file names; fields: name bpm key index region id content tag")


def render_options(args: argparse.Namespace):
    """The parsed rendering options as ExportOptions. Raises core.export.ExportError."""
    from core.export import ExportOptions

    return ExportOptions(fmt=args.format, normalise=args.normalise, peak_dbfs=args.peak, lufs=args.lufs,
                         fade_in_ms=args.fade_in, fade_out_ms=args.fade_out, target_bpm=args.to_bpm,
                         target_key=args.to_key, template=args.template)


def run_export(hooks: Hooks, region_ids: list[int], folder: Path, options: Any, as_json: bool,
               extra: dict[str, Any] | None = None) -> int:
    """Export ``region_ids`` through a sandbox of the configured size, print the outcome;
    the exit status."""
    from core.export import ExportError
    from core.exporter import export_regions
    from core.sandbox import Sandbox

    settings = get_settings()
    database, _ = hooks.library()
    sandbox = Sandbox(settings.effective_workers, preload=("core.export",))
    try:
        result = export_regions(database, sandbox, region_ids, folder, options, settings.max_duration_s, extra)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        sandbox.close()
    if as_json:
        print(json.dumps(result.items, indent=2))
    else:
        for item in result.items:
            print(f"ok     {item['file']}" if item["status"] == "ok"
                  else f"{item['status']:<6} region {item['region_id']}: {item['error']}")
        print(f"{len(result.items) - result.failed} samples in {folder} (manifest.json, manifest.csv), "
              f"{result.failed} failed", file=sys.stderr)
    return 1 if result.failed else 0


def _export(args: argparse.Namespace, hooks: Hooks) -> int:
    from database import queries

    try:
        options = render_options(args)
        query = hooks.region_query(args)
    except ValueError as exc:  # core.export.ExportError is one
        print(f"error: {exc}", file=sys.stderr)
        return 2
    region_ids = args.regions
    if not region_ids:
        database, _ = hooks.library()
        with database.session() as session:
            region_ids = [row["id"] for row in queries.search_regions(session, query).items]
        if not region_ids:
            print("error: no region matches the filters", file=sys.stderr)
            return 1
    return run_export(hooks, region_ids, args.out, options, args.json)
