"""``mlmon bench``: the argument parser and the command (hooked into ``mlmon.cli``)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from mlmon.exceptions import InputError

__all__ = ["add_bench_parser", "checkout_root", "docs_dir", "results_dir", "run_bench"]

DESCRIPTION = """Runs the benchmark suite in one go and writes <results>/<date>-<host>[-mode].json, a Markdown
summary and the scaling plots beside it, and (in a source checkout, or with --docs DIR) capacity-planning.md.

Runs from an installed package: pip install "mlmon[bench]". Results go to ./mlmon-bench-results/ unless
--results DIR is given; in a source checkout of mlmon (installed with pip install -e . or make install)
they go to its benches/results/ and the report to its docs/, as `make bench` does. Peer tools
(Evidently, NannyML, alibi-detect, whylogs) are installed from PyPI into their own virtualenvs under the
cache directory, in the background, on first use; an install the run ends before goes on after it and
the next run uses it, and a peer that cannot be installed is a row of the table with pip's error.
--quick takes under 5 minutes, --full under 30. --store measures only the store (row sizes, store-only
ingest, compaction through a live service) and lays its figures over the newest full run in the results
directory (or --base FILE), so the capacity report is regenerated with the rest of its figures kept."""

DEFAULT_RESULTS = Path("mlmon-bench-results")


def checkout_root() -> Path | None:
    """The source checkout mlmon was imported from (``python/mlmon`` -> the root), or ``None`` when it
    was imported from an installed package (no ``pyproject.toml``, ``benches/`` and ``docs/`` there)."""
    root = Path(__file__).resolve().parents[3]
    markers = (root / "pyproject.toml", root / "benches", root / "docs", root / "python" / "mlmon")
    return root if all(m.exists() for m in markers) else None


def results_dir(given: Path | None) -> Path:
    """``--results``, else the checkout's ``benches/results``, else ``./mlmon-bench-results``."""
    if given is not None:
        return given
    root = checkout_root()
    return root / "benches" / "results" if root is not None else DEFAULT_RESULTS


def docs_dir(given: Path | None, no_docs: bool) -> Path | None:
    """Where the capacity report goes: ``--docs``, else the checkout's ``docs/``, else nowhere."""
    if no_docs:
        return None
    if given is not None:
        return given
    root = checkout_root()
    return root / "docs" if root is not None else None


def _cache_default() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlmon-bench"


def add_bench_parser(sub: Any) -> None:
    """Adds ``bench`` to the ``mlmon`` subcommands."""
    parser = sub.add_parser(
        "bench",
        help="run the benchmark suite and write the capacity report",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick", dest="mode", action="store_const", const="quick", help="under 5 minutes (default)"
    )
    size.add_argument("--full", dest="mode", action="store_const", const="full", help="under 30 minutes")
    size.add_argument(
        "--store",
        dest="mode",
        action="store_const",
        const="store",
        help="the store steps only, laid over the newest full run's results (about 5 minutes)",
    )
    size.add_argument(
        "--tiny",
        dest="mode",
        action="store_const",
        const="tiny",
        help="seconds, mlmon and numpy only: checks the suite itself (used by the tests)",
    )
    parser.set_defaults(mode="quick", func=run_bench)
    parser.add_argument(
        "--results",
        type=Path,
        help="results directory (default: ./mlmon-bench-results, or benches/results in a source checkout)",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        help="write capacity-planning.md and img/ here (default: a source checkout's docs/, else none)",
    )
    parser.add_argument("--no-docs", action="store_true", help="write only the results JSON and summary")
    parser.add_argument(
        "--cache",
        type=Path,
        default=_cache_default(),
        help="peer virtualenvs (default: $XDG_CACHE_HOME/mlmon-bench or ~/.cache/mlmon-bench)",
    )
    parser.add_argument(
        "--base",
        type=Path,
        metavar="RESULTS_JSON",
        help="with --store: the full run whose other figures are kept (default: the newest in --results)",
    )
    parser.add_argument(
        "--report-only",
        type=Path,
        metavar="RESULTS_JSON",
        help="measure nothing: regenerate the summary, plots and report from a results file",
    )


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise InputError(f"no results file at {path}")
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not a results JSON: {exc}") from exc
    if not isinstance(results, dict) or "steps" not in results:
        raise InputError(f"{path} is not a results JSON: no steps")
    return dict(results)


def base_results(given: Path | None, directory: Path) -> tuple[Path, dict[str, Any]]:
    """The full run ``--store`` lays its figures over: ``--base``, else the newest full results file in
    ``directory`` (by start time).

    Raises:
        InputError: the file is missing or not results, or ``directory`` holds no full run.
    """
    if given is not None:
        return given, _load(given)
    runs = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            results = _load(path)
        except InputError:
            continue
        if results.get("mode") == "full":
            runs.append((str(results.get("started_at", "")), path, results))
    if not runs:
        raise InputError(
            f"--store keeps the other figures of a full run, and {directory} has none: "
            "run `mlmon bench --full` first or pass --base RESULTS_JSON"
        )
    _, path, results = max(runs, key=lambda r: r[0])
    return path, results


def run_bench(args: argparse.Namespace) -> int:
    """Runs the suite (or only the reports) and prints where the files went."""
    # The suite imports every step's workloads (pandas, polars, the store, the service): loaded when it
    # runs, so that `mlmon --help` and the other commands do not pay for them.
    from mlmon.bench.modes import MODES
    from mlmon.bench.report import write_reports
    from mlmon.bench.suite import Paths, overlay, run_suite, write_json

    if args.report_only is not None:
        results = _load(args.report_only)
        for path in write_reports(results, args.report_only, docs_dir(args.docs, args.no_docs)):
            print(f"wrote {path}")
        return 0
    paths = Paths(results=results_dir(args.results), docs=docs_dir(args.docs, args.no_docs), cache=args.cache)
    try:
        paths.results.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the results directory {paths.results}: {exc}") from exc
    mode = MODES[args.mode]
    if getattr(args, "base", None) is not None and not mode.overlay:
        raise InputError("--base goes with --store (the figures it keeps are laid under a store run)")
    base = base_results(getattr(args, "base", None), paths.results) if mode.overlay else None
    results = run_suite(mode, paths, log=lambda line: print(line, flush=True))
    if base is not None:
        print(f"keeping the other figures of {base[0]}")
        results = overlay(base[1], results, base[0].name)
    path = write_json(results, paths.results)
    print(f"wrote {path}")
    for written in write_reports(results, path, paths.docs):
        print(f"wrote {written}")
    failed = [name for name, s in results["steps"].items() if s["status"].startswith("failed")]
    if failed:
        print(f"steps that failed: {', '.join(failed)} (see the summary)")
    return 0
