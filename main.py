"""Command line: ``serve | analyze | scan | plugins | search | similar | duplicates | tag | export | pack |
tagger``.

    python main.py serve                        # HTTP API + UI on 127.0.0.1:8000
    python main.py analyze a.wav dir/ --json    # the stable JSON of DESIGN.md
    python main.py scan ~/Samples               # recursive, with a progress bar
    python main.py scan ~/Samples --cluster tcp://HOST:8786   # on a Dask cluster (or: --cluster local)
    python main.py plugins                      # installed plugins and their order
    python main.py search --bpm 118-124 --key 8A --compatible --tag kick
    python main.py similar 42 -k 10             # regions most like region 42
    python main.py duplicates                   # the same audio stored twice
    python main.py tag add --region 42 kick dry # a person's tags (also --file ID); remove; list
    python main.py export --tag kick --out kicks/ --normalise peak --to-bpm 128
    python main.py pack --size 40 --weights kick=0.5,snare=0.3,hat=0.2 --seed 7 --export pack/
    python main.py tagger train drums --classes kick,snare,hat    # then: tagger scan drums; tagger report

Exit status: 0 when every file was analysed, 1 when any file ended in error, 2 for a
usage error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.config import get_settings

#: Environment variables holding secrets (in any case: the settings read them so).
SECRET_VARIABLES = frozenset({"AUDIO_SAMPLER_API_TOKEN", "DATABASE_URL"})


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if not args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    _hide_secrets_from_children()
    return args.command(args)


def _hide_secrets_from_children() -> None:
    """Read the settings, then drop the secrets from this process's environment, which
    every process it starts inherits (the workers that decode untrusted files among them)."""
    get_settings()
    for name in [name for name in os.environ if name.upper() in SECRET_VARIABLES]:
        del os.environ[name]


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
        sub.add_argument("--cluster", metavar="ADDRESS",
                         help="run each file as a task on the Dask cluster whose scheduler is at ADDRESS "
                              "(tcp://HOST:8786; the database must be one the workers share), or 'local' for a "
                              "LocalCluster of AUDIO_SAMPLER_WORKERS processes on this machine")
        sub.set_defaults(command=_analyze, progress_bar=name == "scan")

    plugins = commands.add_parser("plugins", help="list the installed plugins in run order")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(command=_plugins)

    search = commands.add_parser("search", help="find regions in the library")
    _search_options(search)
    search.add_argument("--sort", choices=["name", "bpm", "duration", "loudness", "key", "analyzed"], default="name")
    search.add_argument("--desc", action="store_true", help="sort in descending order")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument("--offset", type=int, default=0)
    search.set_defaults(command=_search)

    similar = commands.add_parser("similar", help="the regions most like one region (by embedding)")
    similar.add_argument("region", type=int, metavar="REGION_ID", help="a region id, as `search` shows it")
    similar.add_argument("-k", type=int, default=20, help="how many (default 20)")
    similar.add_argument("--kind", choices=["yamnet", "features"], default="yamnet", help="the vectors compared")
    _search_options(similar)
    similar.set_defaults(command=_similar)

    duplicates = commands.add_parser("duplicates", help="list near-identical regions and files")
    duplicates.add_argument("--threshold", type=float, default=0.9, help="least cosine of the vectors (default 0.9)")
    duplicates.add_argument("--kind", choices=["yamnet", "features"], default="yamnet")
    duplicates.add_argument("--json", action="store_true")
    duplicates.set_defaults(command=_duplicates)

    from cli import add_library_commands

    add_library_commands(commands, _library, _search_options, _region_query)
    return parser


def _search_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--query", help="part of the file name, or a tag")
    parser.add_argument("--tag", help="a tag of the region or its file")
    parser.add_argument("--tag-min", type=float, help="least probability of a model's tag (0-1)")
    parser.add_argument("--bpm", type=_range, metavar="LOW-HIGH", help="tempo range, e.g. 118-124")
    parser.add_argument("--duration", type=_range, metavar="LOW-HIGH", help="seconds, e.g. 0-2")
    parser.add_argument("--loudness", type=_range, metavar="LOW-HIGH", help="LUFS, e.g. -20--10")
    parser.add_argument("--key", help='"A minor", "F#" or a Camelot code, "8A"')
    parser.add_argument("--compatible", action="store_true", help="also the harmonically compatible keys")
    parser.add_argument("--content", choices=["speech", "music", "noise", "silence", "mixed"])
    parser.add_argument("--json", action="store_true")


def _range(text: str) -> tuple[float | None, float | None]:
    """``"118-124"``, ``"-20--10"``, ``"100-"`` → (low, high)."""
    import re

    match = re.fullmatch(r"\s*(-?[\d.]+)?\s*-\s*(-?[\d.]+)?\s*", text)
    if not match or not any(match.groups()):
        raise argparse.ArgumentTypeError(f"not a range: {text!r} (use LOW-HIGH, e.g. 118-124)")
    try:
        return tuple(float(v) if v is not None else None for v in match.groups())  # type: ignore[return-value]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a range: {text!r}") from exc


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
    from core.cluster import ClusterError
    from core.engine import expand_paths
    from core.plugin import PluginError

    names = [n.strip() for n in args.plugins.split(",") if n.strip()] if args.plugins else None
    reports = []
    with contextlib.ExitStack() as stack:
        try:
            analyzer = stack.enter_context(_cluster_scan(args.cluster, names) if args.cluster else _engine())
            analyzer.select_plugins(names)
        except (PluginError, ClusterError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        files = list(expand_paths(args.paths))
        bar = _progress_bar(len(files)) if args.progress_bar else None
        for report in analyzer.analyze_paths(files, plugins=names, force=args.force):
            reports.append(report)
            if bar is not None:
                bar.set_postfix_str(Path(report["path"]).name[:40], refresh=False)
                bar.update(1)
            elif not args.json:
                print(_one_line(report), flush=True)
        if bar is not None:
            bar.close()
        reran = getattr(analyzer, "attempts", {})
    if args.cluster:  # reports come as files finish: list them in the order of the files
        order = {str(path.absolute()): i for i, path in enumerate(files)}  # expand_paths expanded ~
        reports.sort(key=lambda r: order.get(r["path"], len(order)))
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        print()
    elif bar is not None:
        failed = sum(r["status"] != "ok" for r in reports)
        print(f"{len(reports)} files, {failed} with errors", file=sys.stderr)
        for report in reports:
            if report["status"] != "ok":
                print(_one_line(report), file=sys.stderr)
    if reran:
        print(f"{len(reran)} files ran more than once on the cluster (a worker lost, or a retry): "
              + ", ".join(f"{Path(path).name} ({runs}×)" for path, runs in sorted(reran.items())), file=sys.stderr)
    return 1 if any(r["status"] != "ok" for r in reports) else 0


def _engine():
    from core.engine import AudioSamplerEngine

    return AudioSamplerEngine()


def _cluster_scan(address: str, plugins: list[str] | None):
    from core import cluster

    settings = get_settings()
    settings.ensure_dirs()
    return cluster.scanning(address, settings, plugins)


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


def _region_query(args: argparse.Namespace):
    from core import keys
    from database.queries import RegionQuery

    bpm, duration, loudness = (getattr(args, name) or (None, None) for name in ("bpm", "duration", "loudness"))
    return RegionQuery(
        text=args.query, tag=args.tag, tag_min=args.tag_min, bpm_min=bpm[0], bpm_max=bpm[1],
        duration_min=duration[0], duration_max=duration[1], loudness_min=loudness[0], loudness_max=loudness[1],
        keys=keys.search_names(args.key, args.compatible) if args.key else None, content=args.content,
        sort=getattr(args, "sort", "name"), descending=getattr(args, "desc", False),
        limit=getattr(args, "limit", 50), offset=getattr(args, "offset", 0))


def _library():
    """The configured database, its schema brought up to date, and its similarity indexes."""
    from database.session import Database
    from database.vector_index import VectorIndexes

    settings = get_settings()
    settings.ensure_dirs()
    database = Database(settings.effective_database_url)
    database.migrate()
    return database, VectorIndexes(settings.cache_dir / "index")


def _parsed_query(args: argparse.Namespace):
    """The search filters of ``args``, or None after saying why they are not usable."""
    try:
        return _region_query(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _search(args: argparse.Namespace) -> int:
    from database import queries

    query = _parsed_query(args)
    if query is None:
        return 2
    database, _ = _library()
    with database.session() as session:
        found = queries.search_regions(session, query)
    rows = found.items
    matching = f"{found.total}{'' if found.exact else '+'} regions match"
    _print_regions(rows, args.json, matching + (f", showing {len(rows)}" if len(rows) < found.total else ""))
    return 0


def _similar(args: argparse.Namespace) -> int:
    from database import queries

    query = _parsed_query(args)
    if query is None:
        return 2
    database, indexes = _library()
    with database.session() as session:
        rows = queries.similar_regions(session, indexes.get(args.kind), args.region, args.k, query)
    indexes.save()
    if rows is None:
        print(f"error: region {args.region} has no {args.kind} vector (no such region, or the embeddings plugin "
              "has not analysed it)", file=sys.stderr)
        return 1
    _print_regions(rows, args.json, f"{len(rows)} regions most like region {args.region}")
    return 0


def _duplicates(args: argparse.Namespace) -> int:
    from database.duplicates import find_duplicates

    database, indexes = _library()
    with database.session() as session:
        found = find_duplicates(session, indexes.get(args.kind), args.threshold)
    indexes.save()
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    for group in found["identical_files"]:
        print("identical  " + "  =  ".join(group["paths"]))
    for pair in found["files"]:
        print(f"{pair['score']:.4f}     " + "  ~  ".join(pair["paths"]) + f"  ({pair['regions']} regions)")
    for pair in found["regions"]:
        a, b = pair["a"], pair["b"]
        print(f"{pair['score']:.4f}     {a['path']} [{a['start_s']:.2f}-{a['end_s']:.2f} s]  ~  "
              f"{b['path']} [{b['start_s']:.2f}-{b['end_s']:.2f} s]")
    if not any(found.values()):
        print("no duplicates found", file=sys.stderr)
    return 0


def _print_regions(rows: list[dict], as_json: bool, heading: str) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print(heading, file=sys.stderr)
    for row in rows:
        score = f"{row['score']:.3f}  " if "score" in row else ""
        bpm = f"{row['bpm']:.1f} bpm" if row["bpm"] is not None else "- bpm"
        tags = ", ".join(t["tag"] for t in row["tags"][:3])
        print(f"{score}{row['id']:>7}  {row['name']} #{row['index'] + 1}  {row['start_s']:.2f}-{row['end_s']:.2f} s"
              f"  {bpm}  {row['key'] or '-'}  {row['content'] or '-'}  {tags}")


def _one_line(report: dict) -> str:
    if report["status"] != "ok":
        return f"error  {report['path']}: {report['error']}"
    return f"ok     {report['path']}: {len(report['regions'])} regions, {report['duration_s']:.2f} s"


def _progress_bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, dynamic_ncols=True)


if __name__ == "__main__":
    sys.exit(main())
