"""``mlmon demo`` / ``make demo`` / ``python -m mlmon.demo``.

By default the whole loop (:mod:`mlmon.demo.loop`): train, deploy with ``mlmon deploy``'s code, serve,
send clean then drifted traffic, show the drift table, the alerts and where to look. ``--in-process``
runs the library-only job instead (:mod:`mlmon.demo.inprocess`: no server, generated churn data).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from mlmon.demo.inprocess import caught, make_data, run

__all__ = ["add_demo_arguments", "caught", "main", "make_data", "run", "run_demo"]


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """``--out``, ``--keep-running``, ``--in-process`` and ``--rows`` (in-process only)."""
    parser.add_argument(
        "--out", type=Path, default=Path("demo-output"), help="where to write reports and logs"
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="leave the services up until Ctrl-C (whole loop only)"
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run the library-only job on generated data (no servers)"
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows per data set (--in-process only)")


def run_demo(args: argparse.Namespace) -> int:
    """Runs the demo the arguments ask for; 0 when the staged drift was caught (and, for the whole loop,
    clean traffic raised no alert)."""
    if args.in_process:
        return 0 if caught(run(args.out, rows=args.rows)) else 1
    from mlmon.demo.loop import run_loop  # needs the service, serving and deploy extras

    return run_loop(args.out, keep_running=args.keep_running)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m mlmon.demo``."""
    parser = argparse.ArgumentParser(prog="mlmon demo", description=__doc__)
    add_demo_arguments(parser)
    return run_demo(parser.parse_args(argv))
