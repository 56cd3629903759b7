"""``main.py pack``: a sample pack drawn by category weights (database.packs), with a
report of the distribution drawn next to the one asked, optionally exported.

    python main.py pack --size 40 --weights kick=0.5,snare=0.3,hat=0.2 --seed 7
    python main.py pack --size 40                       # the weights saved last time
    python main.py pack --size 12 --category kick --bpm 120-130
    python main.py pack --size 30 --balanced --export my_pack/ --normalise peak

Weights given are saved as the library's. Exit status: 0, 1 when the pack is short of
the size asked or an export failed, 2 for a usage error or a pack that cannot be drawn.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cli import Hooks
from cli.export import add_render_options, render_options, run_export


def add_commands(commands: argparse._SubParsersAction, hooks: Hooks) -> None:
    pack = commands.add_parser("pack", help="draw a sample pack by category weights")
    pack.add_argument("--size", type=int, required=True, help="how many regions")
    pack.add_argument("--weights", metavar="TAG=W,...", help="category weights, e.g. kick=0.5,snare=0.3 (saved)")
    pack.add_argument("--category", action="append", metavar="TAG",
                      help="draw from this category only (repeat for several, equal shares; overrides weights)")
    pack.add_argument("--balanced", action="store_true", help="equal shares for every category")
    pack.add_argument("--seed", type=int, help="repeat a draw (the report names the seed used)")
    hooks.search_options(pack)
    pack.add_argument("--export", type=Path, metavar="DIR", help="also export the pack into this folder")
    add_render_options(pack)
    pack.set_defaults(command=lambda args: _pack(args, hooks))


def _pack(args: argparse.Namespace, hooks: Hooks) -> int:
    from database import packs

    try:
        weights = packs.parse_weights(args.weights) if args.weights else None
        query = hooks.region_query(args)
        options = render_options(args) if args.export else None
    except ValueError as exc:  # PackError, ExportError, a bad key
        print(f"error: {exc}", file=sys.stderr)
        return 2
    request = packs.PackRequest(size=args.size, weights=weights, categories=tuple(args.category or ()) or None,
                                balanced=args.balanced, query=query, tag_min=args.tag_min, seed=args.seed)
    database, _ = hooks.library()
    try:
        with database.session() as session:
            if weights is not None:
                packs.save_weights(session, weights)
            pack = packs.draw_pack(session, request)
    except packs.PackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json and not args.export:
        print(json.dumps({"report": pack.report, "region_ids": pack.region_ids}, indent=2))
    elif not args.json:
        _print_report(pack.report)
        print("regions: " + " ".join(map(str, pack.region_ids)))
    short = 1 if pack.report["drawn"] < args.size else 0
    if args.export:
        return max(short, run_export(hooks, pack.region_ids, args.export, options, args.json,
                                     extra={"pack": pack.report}))
    return short


def _print_report(report: dict) -> None:
    print(f"{report['drawn']} of {report['size']} regions drawn ({report['mode']}, seed {report['seed']})")
    print(f"{'category':<24} {'asked':>7} {'drawn':>7} {'count':>6} {'available':>9}")
    for entry in report["categories"]:
        print(f"{entry['tag']:<24} {entry['asked']:>7.1%} {entry['drawn_share']:>7.1%} {entry['drawn']:>6} "
              f"{entry['available']:>9}")
    for message in report["messages"]:
        print(message, file=sys.stderr)
