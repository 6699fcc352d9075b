"""``hotzone runs list|prune``: the run folders that ``demo`` and ``serve`` leave behind."""

from __future__ import annotations

import argparse
from pathlib import Path

from hotzone.commands.common import Number, SubParsers

#: ``--keep``: how many of the newest run folders stay.
KEEP = Number(0, 1_000_000, integer=True)


def add_parser(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="list the run folders, or remove all but the newest",
        description="Each 'hotzone demo' writes a run folder under runs/ (or --out). 'list' "
        "shows them newest first with their size; 'prune --keep N' removes all but the N "
        "newest. Only folders holding hotzone.sqlite and inputs/ count as run folders.",
    )
    actions = parser.add_subparsers(dest="runs_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the run folders, newest first")
    listing.add_argument("--out", type=Path, default=Path("runs"), help="parent of run folders")
    listing.set_defaults(run=run_list)
    prune = actions.add_parser("prune", help="remove all but the newest run folders")
    prune.add_argument("--out", type=Path, default=Path("runs"), help="parent of run folders")
    prune.add_argument("--keep", type=KEEP, required=True, help="how many of the newest stay")
    prune.add_argument("--dry-run", action="store_true", help="only say what would go")
    prune.set_defaults(run=run_prune)


def _check_parent(parent: Path) -> None:
    from hotzone.commands.common import CommandError

    if parent.exists() and not parent.is_dir():
        raise CommandError(f"{parent}: not a folder")


def run_list(args: argparse.Namespace) -> int:
    from hotzone.runtime.run_folders import list_run_folders

    _check_parent(args.out)
    folders = list_run_folders(args.out)
    for folder in folders:
        what = f"{folder.scenario or '?'} seed {folder.seed if folder.seed is not None else '?'}"
        state = "" if folder.finished else "  (unfinished)"
        print(
            f"{folder.written_at:%Y-%m-%d %H:%M:%S}  {folder.size_bytes / 1e6:8.1f} MB  "
            f"{folder.path}  {what}{state}"
        )
    total = sum(folder.size_bytes for folder in folders)
    print(f"{len(folders)} run folders, {total / 1e6:.1f} MB in {args.out}")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    from hotzone.runtime.run_folders import prune_run_folders

    _check_parent(args.out)
    removed = prune_run_folders(args.out, args.keep, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for folder in removed:
        print(f"{verb} {folder.path} ({folder.size_bytes / 1e6:.1f} MB)")
    freed = sum(folder.size_bytes for folder in removed)
    print(f"{verb} {len(removed)} run folders, {freed / 1e6:.1f} MB; kept the {args.keep} newest")
    return 0
