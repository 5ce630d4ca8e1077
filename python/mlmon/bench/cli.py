"""``mlmon bench``: the argument parser and the command (hooked into ``mlmon.cli``)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from mlmon.exceptions import InputError

__all__ = ["add_bench_parser", "checkout_root", "run_bench"]

DESCRIPTION = """Runs the benchmark suite in one go and writes benches/results/<date>-<host>[-mode].json, a
Markdown summary beside it, the scaling plots (docs/img/bench-*.png) and docs/capacity-planning.md.

Needs a SOURCE CHECKOUT of mlmon (the repository's benches/ directory, with mlmon installed from it,
e.g. `pip install -e .` or `make install`); an installed wheel alone has no benches/. Peer tools
(Evidently, NannyML, alibi-detect, whylogs) are installed from PyPI into their own virtualenvs under the
cache directory, in the background, on first use; a peer that fails to install is reported with pip's
error. --quick takes under 5 minutes, --full under 30 (peer installs on a first run come on top)."""


def checkout_root() -> Path:
    """The repository root mlmon was imported from (``python/mlmon`` -> the root)."""
    return Path(__file__).resolve().parents[3]


def _cache_default() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlmon-bench"


def add_bench_parser(sub: Any) -> None:
    """Adds ``bench`` to the ``mlmon`` subcommands."""
    parser = sub.add_parser(
        "bench",
        help="run the benchmark suite and write the capacity report (source checkout)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", dest="mode", action="store_const", const="quick", help="under 5 minutes (default)"
    )
    size.add_argument("--full", dest="mode", action="store_const", const="full", help="under 30 minutes")
    size.add_argument(
        "--tiny",
        dest="mode",
        action="store_const",
        const="tiny",
        help="seconds, mlmon and numpy only: checks the suite itself (used by the tests)",
    )
    parser.set_defaults(mode="quick", func=run_bench)
    parser.add_argument(
        "--benches", type=Path, help="the checkout's benches/ (default: found from mlmon's path)"
    )
    parser.add_argument("--results", type=Path, help="results directory (default: <benches>/results)")
    parser.add_argument(
        "--docs", type=Path, help="where capacity-planning.md and img/ go (default: <checkout>/docs)"
    )
    parser.add_argument("--no-docs", action="store_true", help="write only the results JSON and summary")
    parser.add_argument(
        "--cache",
        type=Path,
        default=_cache_default(),
        help="peer virtualenvs (default: $XDG_CACHE_HOME/mlmon-bench or ~/.cache/mlmon-bench)",
    )
    parser.add_argument(
        "--report-only",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: regenerate the summary, plots and report from a results file",
    )


def _benches(args: argparse.Namespace) -> Path:
    benches = (args.benches or checkout_root() / "benches").resolve()
    if not (benches / "_workload.py").exists() or not (benches / "peers").is_dir():
        raise InputError(
            f"mlmon bench needs a source checkout: no benches/_workload.py under {benches}; run it from the "
            "repository (pip install -e .) or pass --benches DIR"
        )
    return benches


def run_bench(args: argparse.Namespace) -> int:
    """Runs the suite (or only the reports) and prints where the files went."""
    from mlmon.bench.modes import MODES
    from mlmon.bench.report import write_reports
    from mlmon.bench.suite import Paths, run_suite, write_json

    if args.report_only is not None:
        if not args.report_only.exists():
            raise InputError(f"no results file at {args.report_only}")
        try:
            results = json.loads(args.report_only.read_text())
        except json.JSONDecodeError as exc:
            raise InputError(f"{args.report_only} is not a results JSON: {exc}") from exc
        docs = None if args.no_docs else (args.docs or checkout_root() / "docs")
        for path in write_reports(results, args.report_only, docs):
            print(f"wrote {path}")
        return 0
    benches = _benches(args)
    docs = None if args.no_docs else (args.docs or benches.parent / "docs")
    paths = Paths(
        benches=benches, results=args.results or benches / "results", docs=docs or benches, cache=args.cache
    )
    results = run_suite(MODES[args.mode], paths, log=lambda line: print(line, flush=True))
    path = write_json(results, paths.results)
    print(f"wrote {path}")
    for written in write_reports(results, path, docs):
        print(f"wrote {written}")
    failed = [name for name, s in results["steps"].items() if s["status"].startswith("failed")]
    if failed:
        print(f"steps that failed: {', '.join(failed)} (see the summary)")
    return 0
