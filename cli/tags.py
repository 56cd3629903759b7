"""``main.py tag add|remove|list``: a person's tags on regions and files.

    python main.py tag add --region 42 kick "dusty vinyl"
    python main.py tag remove --file 7 vinyl
    python main.py tag list [--source user] [--prefix k] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys

from cli import Hooks


def add_commands(commands: argparse._SubParsersAction, hooks: Hooks) -> None:
    tag = commands.add_parser("tag", help="add, remove and list tags")
    actions = tag.add_subparsers(required=True, metavar="ACTION")
    for name, helptext in (("add", "give a region or a file tags"), ("remove", "take a person's tags off")):
        sub = actions.add_parser(name, help=helptext)
        target = sub.add_mutually_exclusive_group(required=True)
        target.add_argument("--region", type=int, metavar="ID", help="a region id, as `search` shows it")
        target.add_argument("--file", type=int, metavar="ID", help="a file id")
        sub.add_argument("tags", nargs="+", metavar="TAG")
        sub.add_argument("--json", action="store_true")
        sub.set_defaults(command=lambda args, name=name: _change(args, hooks, name))
    listing = actions.add_parser("list", help="every tag with its counts per source")
    listing.add_argument("--source", choices=["user", "model"])
    listing.add_argument("--prefix", help="only tags starting so")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(command=lambda args: _list(args, hooks))


def _change(args: argparse.Namespace, hooks: Hooks, action: str) -> int:
    from database import tags

    target = tags.Target(region_id=args.region, file_id=args.file)
    change = tags.add_user_tags if action == "add" else tags.remove_user_tags
    database, _ = hooks.library()
    try:
        with database.session() as session:
            found = change(session, target, args.tags)
    except tags.TagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, tags.NoSuchTarget) else 2
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    print(f"{target.label}: " + (", ".join(_describe(t) for t in found) or "no tags"))
    return 0


def _describe(tag: dict) -> str:
    if tag["source"] == "user":
        return tag["tag"]
    probability = "" if tag["probability"] is None else f" {tag['probability']:.2f}"
    return f"{tag['tag']} (model{probability})"


def _list(args: argparse.Namespace, hooks: Hooks) -> int:
    from database import tags

    database, _ = hooks.library()
    with database.session() as session:
        counts = tags.tag_counts(session, args.source, args.prefix)
    if args.json:
        print(json.dumps(counts, indent=2))
        return 0
    print(f"{len(counts)} tags  (regions / files, per source)", file=sys.stderr)
    for entry in counts:
        user, model = entry["user"], entry["model"]
        print(f"{entry['tag']:<32} user {user['regions']:>6} / {user['files']:<5} model {model['regions']:>6} / "
              f"{model['files']}")
    return 0
