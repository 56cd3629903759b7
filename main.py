"""Command line: ``serve | analyze | scan | plugins``.

    python main.py serve                        # HTTP API + UI on 127.0.0.1:8000
    python main.py analyze a.wav dir/ --json    # the stable JSON of DESIGN.md
    python main.py scan ~/Samples               # recursive, with a progress bar
    python main.py plugins                      # installed plugins and their order

Exit status: 0 when every file was analysed, 1 when any file ended in error, 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from core.config import get_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if not args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="Audio sampler engine")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the HTTP API and the UI")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(command=_serve)

    for name, helptext in (("analyze", "analyse files and folders"), ("scan", "analyse a folder recursively")):
        sub = commands.add_parser(name, help=helptext)
        sub.add_argument("paths", nargs="+", metavar="PATH")
        sub.add_argument("--plugins", help="comma-separated plugin names (default: all)")
        sub.add_argument("--force", action="store_true", help="re-analyse files even when unchanged")
        sub.add_argument("--json", action="store_true", help="print a JSON array of file reports")
        sub.set_defaults(command=_analyze, progress_bar=name == "scan")

    plugins = commands.add_parser("plugins", help="list the installed plugins in run order")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(command=_plugins)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import InsecureBinding, create_app

    settings = get_settings()
    if args.host or args.port:
        settings = settings.model_copy(update={"host": args.host or settings.host, "port": args.port or settings.port})
    try:
        app = create_app(settings)
    except InsecureBinding as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from core.engine import AudioSamplerEngine, expand_paths
    from core.plugin import PluginError

    names = [n.strip() for n in args.plugins.split(",") if n.strip()] if args.plugins else None
    try:
        engine = AudioSamplerEngine()
        engine.select_plugins(names)
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = []
    with engine:
        files = list(expand_paths(args.paths))
        bar = _progress_bar(len(files)) if args.progress_bar else None
        for report in engine.analyze_paths(files, plugins=names, force=args.force):
            reports.append(report)
            if bar is not None:
                bar.set_postfix_str(Path(report["path"]).name[:40], refresh=False)
                bar.update(1)
            elif not args.json:
                print(_one_line(report), flush=True)
        if bar is not None:
            bar.close()
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
    elif bar is not None:
        failed = sum(r["status"] != "ok" for r in reports)
        print(f"{len(reports)} files, {failed} with errors", file=sys.stderr)
        for report in reports:
            if report["status"] != "ok":
                print(_one_line(report), file=sys.stderr)
    return 1 if any(r["status"] != "ok" for r in reports) else 0


def _plugins(args: argparse.Namespace) -> int:
    from core.plugin import PluginError, discover, resolve

    try:
        chain = resolve(discover(), get_settings().plugins or None)
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([p.describe() for p in chain], indent=2))
    else:
        for plugin in chain:
            requires = f" (requires {', '.join(plugin.requires)})" if plugin.requires else ""
            print(f"{plugin.name} {plugin.version}{requires}: {plugin.description}")
    return 0


def _one_line(report: dict) -> str:
    if report["status"] != "ok":
        return f"error  {report['path']}: {report['error']}"
    return f"ok     {report['path']}: {len(report['regions'])} regions, {report['duration_s']:.2f} s"


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)


if __name__ == "__main__":
    sys.exit(main())
