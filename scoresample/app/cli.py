"""The ``scoresample`` command: thin argument parsing over the pipeline.

Errors a user can cause print one line on stderr and exit with status 2; Ctrl-C keeps
what is finished and prints how to resume (exit status 130). Anything else is a bug: one
line on stderr names it and a crash log in the temporary directory holds the traceback
(exit status 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .. import __version__
from .._io import write_text
from ..errors import ScoresampleError

EXAMPLES = """examples:
  scoresample demo --quick                      the main job, in under a minute
  scoresample run models/gmm40.toml             a ready experiment from the zoo
  scoresample run models/gmm40.toml --set score.training.steps=500 --out runs/short
  scoresample run models/gmm40.toml --resume    continue an interrupted run
  scoresample diagnose runs/gmm40               summary and metrics of finished chains
  scoresample targets                           built-in targets and what they offer
  scoresample reference dw4                     a checked long-MCMC reference set, cached
"""


def _cmd_targets(args: argparse.Namespace) -> int:
    from ..targets import builtin_targets

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
    print(_format_table(("name", "dim", "capabilities", "parameters", "description"), rows))
    return 0


def _cmd_samplers(args: argparse.Namespace) -> int:
    from ..samplers import SAMPLERS, sampler_settings

    for name in SAMPLERS:
        print(f'[[sampler]] name = "{name}"')
        for key, (default, doc) in sampler_settings(name).items():
            print(f"  {key} = {default!r:<10}  {doc}")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .selfcheck import run_selfcheck

    return 0 if run_selfcheck(n=args.n, seed=args.seed, names=args.targets) else 1


def _cmd_run(args: argparse.Namespace) -> int:
    from .config import load_config

    config = load_config(args.config, args.set)
    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    resume_hint = f"scoresample run {args.config} --out {out} --resume"
    return _run(config, out, args, resume_hint, base=Path(args.config).resolve().parent)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import demo_config

    config = demo_config(quick=args.quick, overrides=args.set)
    out = Path(args.out) if args.out else Path("runs") / ("demo_quick" if args.quick else "demo")
    hint = f"scoresample demo --out {out} --resume" + (" --quick" if args.quick else "")
    return _run(config, out, args, hint, base=Path.cwd(), title="scoresample demo")


def _run(config, out: Path, args, resume_hint: str, base: Path, title: str | None = None) -> int:
    from .pipeline import run_experiment
    from .pipeline.console import print_results

    try:
        result = run_experiment(
            config,
            out,
            resume=args.resume,
            force=args.force,
            progress=not args.quiet,
            base=base,
            title=title,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished outputs in {out} are kept; continue with\n  {resume_hint}",
            file=sys.stderr,
        )
        return 130
    print_results(result)
    return 0


def _cmd_diagnose(args: argparse.Namespace) -> int:
    from .pipeline.console import diagnose_path

    diagnose_path(Path(args.path), target_name=args.target, seed=args.seed)
    return 0


def _cmd_reference(args: argparse.Namespace) -> int:
    import dataclasses

    from ..reference import default_settings, reference

    given = {
        "sampler": args.sampler,
        "n_chains": args.chains,
        "num_warmup": args.warmup,
        "num_samples": args.samples,
        "thinning": args.thin,
        "seed": args.seed,
    }
    settings = dataclasses.replace(
        default_settings(args.target), **{k: v for k, v in given.items() if v is not None}
    )
    root = Path(args.cache_dir) if args.cache_dir else None
    ref = reference(args.target, settings, root=root, force=args.force, progress=not args.quiet)
    print(f"reference {ref.target}: {ref.samples.shape[0]} draws of dim {ref.samples.shape[1]}")
    print(f"made in {ref.seconds:.1f} s with {ref.energy_evals:,} energy gradients")
    print(ref.checks)
    print(f"stored in {ref.path}")
    return 0 if ref.checks.passed else 1


def _format_table(header, rows) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, str(row[-1])]))
    return "\n".join(lines)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help="run directory (default runs/<name>)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override a config value (repeatable); sampler.KEY sets every sampler,"
        " sampler.N.KEY the N-th (from 0)",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--resume", action="store_true", help="continue an interrupted run in --out (same config)"
    )
    group.add_argument("--force", action="store_true", help="overwrite the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="scoresample",
        description="Sample probability densities through their scores.",
        epilog=EXAMPLES,
        formatter_class=fmt,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "demo",
        formatter_class=fmt,
        help="train a TSM score and compare score-based samplers with MCMC",
        epilog="examples:\n  scoresample demo\n  scoresample demo --quick --out /tmp/d",
    )
    p.add_argument("--quick", action="store_true", help="a small version (under a minute)")
    _add_run_options(p)
    p.set_defaults(func=_cmd_demo)
    p = sub.add_parser(
        "run", formatter_class=fmt, help="run a TOML experiment config end to end", epilog=EXAMPLES
    )
    p.add_argument("config", help="the TOML config (see models/)")
    _add_run_options(p)
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser(
        "diagnose",
        formatter_class=fmt,
        help="summary and metrics of a run directory or a netCDF file",
        epilog="examples:\n  scoresample diagnose runs/demo\n"
        "  scoresample diagnose runs/demo/chains/mala.nc --target ncsn_toy",
    )
    p.add_argument("path", help="a run directory or a chains .nc file")
    p.add_argument("--target", help="built-in target for metrics of a lone .nc file")
    p.add_argument("--seed", type=int, default=0, help="seed of the exact reference sets")
    p.set_defaults(func=_cmd_diagnose)
    p = sub.add_parser("targets", help="list the built-in targets with dim and capabilities")
    p.set_defaults(func=_cmd_targets)
    p = sub.add_parser("samplers", help="list the samplers with their settings and defaults")
    p.set_defaults(func=_cmd_samplers)
    p = sub.add_parser(
        "check",
        formatter_class=fmt,
        help="check every exact score against its exact sampler (Stein identities)",
        epilog="examples:\n  scoresample check --n 20000 --seed 1\n"
        "  scoresample check gmm40 so3_mixture",
    )
    p.add_argument(
        "targets", nargs="*", help="built-in targets to check (default: all with a sampler)"
    )
    p.add_argument("--n", type=int, default=20_000, help="samples per target (default 20000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_check)
    _add_reference_parser(sub, fmt)
    return parser


def _add_reference_parser(sub, fmt) -> None:
    p = sub.add_parser(
        "reference",
        formatter_class=fmt,
        help="make (or reuse) a checked long-MCMC reference set of a particle target",
        epilog="Stored with its settings, seed and checks in the user cache directory\n"
        "($SCORESAMPLE_CACHE, else ~/.cache/scoresample) and reused by every later call with\n"
        "the same settings; options left out take the target's defaults\n"
        "(scoresample.reference.DEFAULTS). Exit status 1 when a check fails.\n\n"
        "examples:\n  scoresample reference dw4\n  scoresample reference lj13 --chains 32",
    )
    p.add_argument("target", choices=("dw4", "lj13", "lj55"), help="the particle target")
    p.add_argument("--sampler", choices=("nuts", "hmc", "mala"))
    p.add_argument("--chains", type=int, help="number of chains (even, >= 4)")
    p.add_argument("--warmup", type=int, help="warm-up steps per chain")
    p.add_argument("--samples", type=int, help="draws kept per chain")
    p.add_argument("--thin", type=int, help="steps per kept draw")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--cache-dir", metavar="DIR", help="store references here")
    p.add_argument("--force", action="store_true", help="make it again even if stored")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_reference)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status:
    0, 1 (a crash, logged), 2 (bad input) or 130 (interrupted)."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScoresampleError as exc:
        print(f"scoresample: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nscoresample: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line here, the traceback in a crash log
        return _report_crash(exc, sys.argv[1:] if argv is None else argv)


def _report_crash(exc: Exception, argv: list[str]) -> int:
    """Write the traceback to a crash log and print one line that points to it."""
    lines = str(exc).strip().splitlines()
    summary = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    trace = traceback.format_exc()
    try:
        path = write_crash_log(trace, argv)
    except ScoresampleError as failure:  # no log: the traceback goes to stderr instead
        print(trace, end="", file=sys.stderr)
        print(f"scoresample: internal error ({summary}); no crash log ({failure})", file=sys.stderr)
        return 1
    print(f"scoresample: internal error ({summary}); the traceback is in {path}", file=sys.stderr)
    return 1


def write_crash_log(trace: str, argv: list[str]) -> Path:
    """``<tempdir>/scoresample-crash-<date>-<time>-<pid>.log``, written atomically: the
    command line, versions and the traceback."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(tempfile.gettempdir()) / f"scoresample-crash-{stamp}-{os.getpid()}.log"
    header = [
        f"command: scoresample {' '.join(argv)}",
        f"time: {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"scoresample {__version__}, Python {platform.python_version()}, {platform.platform()}",
        "",
    ]
    write_text(path, "\n".join(header) + trace)
    return path


if __name__ == "__main__":
    sys.exit(main())
