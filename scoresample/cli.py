"""The ``scoresample`` command: thin argument parsing over the library.

Errors a user can cause print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from .errors import ScoresampleError


def _cmd_targets(args: argparse.Namespace) -> int:
    from .targets import builtin_targets

    rows = [
        (
            t.name,
            str(t.dim),
            ", ".join(t.capabilities) or "-",
            ", ".join(t.parameters) or "-",
            t.summary,
        )
        for t in builtin_targets()
    ]
    header = ("name", "dim", "capabilities", "parameters", "description")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .selfcheck import run_selfcheck

    return 0 if run_selfcheck(n=args.n, seed=args.seed) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scoresample",
        description="Sample probability densities through their scores.",
        epilog="examples:\n  scoresample targets\n  scoresample check --n 20000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("targets", help="list the built-in targets with dim and capabilities")
    p.set_defaults(func=_cmd_targets)
    p = sub.add_parser(
        "check",
        help="check every built-in exact score against its exact sampler (Stein identities)",
        epilog="example:\n  scoresample check --n 20000 --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", type=int, default=20_000, help="samples per target (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScoresampleError as exc:
        print(f"scoresample: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
