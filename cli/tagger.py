"""``main.py tagger train|scan|report``: taggers trained from a person's tags (core.taggers).

    python main.py tagger report --classes kick,snare,hat     # the data's health before training
    python main.py tagger train drums --classes kick,snare,hat --kind yamnet --negatives pad,texture
    python main.py tagger report drums --strict                # exit 1 when a gate fails
    python main.py tagger scan drums                           # label the untagged regions

Exit status: 0; 1 when ``--strict`` finds a failed gate; 2 for a usage error or a tagger
that cannot be trained.
"""

from __future__ import annotations

import argparse
import json
import sys

from cli import Hooks
from core.config import get_settings


def add_commands(commands: argparse._SubParsersAction, hooks: Hooks) -> None:
    tagger = commands.add_parser("tagger", help="train a tagger from your tags, scan with it, report on it")
    actions = tagger.add_subparsers(required=True, metavar="ACTION")
    train = actions.add_parser("train", help="train (or retrain) a tagger")
    train.add_argument("name", help="the tagger's name (a-z, 0-9, _ or -)")
    _data_options(train, required=True)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--strict", action="store_true", help="refuse to train when a readiness gate fails")
    train.set_defaults(command=lambda args: _train(args, hooks))
    scan = actions.add_parser("scan", help="label every region without one of its classes")
    scan.add_argument("name")
    scan.add_argument("--threshold", type=float, help="least probability of a class (default: the tagger's)")
    scan.add_argument("--json", action="store_true")
    scan.set_defaults(command=lambda args: _scan(args, hooks))
    report = actions.add_parser("report", help="the health report: of a tagger, or of classes before training")
    report.add_argument("name", nargs="?", help="a trained tagger (or give --classes)")
    _data_options(report, required=False)
    report.add_argument("--strict", action="store_true", help="exit 1 when a readiness gate fails")
    report.set_defaults(command=lambda args: _report(args, hooks))


def _data_options(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--classes", required=required, metavar="TAG,...", help="the tags to learn, e.g. kick,snare")
    parser.add_argument("--kind", choices=["yamnet", "yamnet_layers", "features"], default="yamnet",
                        help="the stored vectors used: YAMNet's embedding, its multi-layer variant, the feature vector")
    parser.add_argument("--negatives", metavar="TAG,...",
                        help="tags of regions of none of the classes (default: any other user tag)")
    parser.add_argument("--json", action="store_true")


def _split(text: str | None) -> list[str] | None:
    return [part for part in (p.strip() for p in text.split(",")) if part] if text else None


def _folder():
    return get_settings().data_dir / "taggers"


def _train(args: argparse.Namespace, hooks: Hooks) -> int:
    from core import tagger_report, taggers

    database, _ = hooks.library()
    try:
        if args.strict:
            before = taggers.health(database, _split(args.classes), args.kind, _split(args.negatives))
            if not all(gate["passed"] for gate in before["gates"]):
                _print(before, args.json)
                print("error: a readiness gate failed (--strict)", file=sys.stderr)
                return 1
        report = taggers.train(database, _folder(), args.name, _split(args.classes), args.kind,
                               _split(args.negatives), args.seed)
    except ValueError as exc:  # TaggerError, InvalidTag
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2) if args.json else tagger_report.as_text(report))
    return 0


def _scan(args: argparse.Namespace, hooks: Hooks) -> int:
    from core import taggers

    database, _ = hooks.library()
    try:
        summary = taggers.scan(database, _folder(), args.name, args.threshold)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        tags = ", ".join(f"{tag} {count}" for tag, count in summary["tags"].items())
        print(f"{summary['scanned']} regions scanned: {tags}, unknown {summary['unknown']} "
              f"(threshold {summary['threshold']:.3f}); {summary['kept']} kept the classifier's tag")
    return 0


def _report(args: argparse.Namespace, hooks: Hooks) -> int:
    from core import taggers

    if not args.name and not args.classes:
        print("error: name a tagger, or give --classes", file=sys.stderr)
        return 2
    try:
        if args.classes:
            database, _ = hooks.library()
            report = taggers.health(database, _split(args.classes), args.kind, _split(args.negatives))
        else:
            report = taggers.saved_report(_folder(), args.name)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _print(report, args.json)
    return 1 if args.strict and not all(gate["passed"] for gate in report["gates"]) else 0


def _print(report: dict, as_json: bool) -> None:
    from core import tagger_report

    if as_json:
        print(json.dumps(report, indent=2))
    elif "version" in report:
        print(tagger_report.as_text(report))
    else:
        print(f"{', '.join(report['classes'])} on {report['kind']} vectors: "
              + ", ".join(f"{tag} {count}" for tag, count in report["counts"].items())
              + f"; {report['negatives']} negatives, {report['ambiguous']} regions with two classes left out")
        for gate in report["gates"]:
            print(f"  [{'ok' if gate['passed'] else 'FAIL'}] {gate['gate']}: {gate['detail']}")
