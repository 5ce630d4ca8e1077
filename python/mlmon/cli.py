"""The ``mlmon`` command: fit baselines and check files for drift from a shell or a CI job.

``mlmon baseline fit`` reads a whole CSV/Parquet file (quantiles need all of it); ``mlmon drift`` streams
the current file in record batches through a :class:`mlmon.Monitor` with a progress bar, prints the
table, writes JSON/HTML, and exits 0 (ok), 1 (severity at or above ``--fail-on``) or 2 (bad input, with
a one-line message). pyarrow is needed for files and imported only by the file-reading commands.
"""

from __future__ import annotations

import argparse
import importlib
import io
import logging
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mlmon import demo
from mlmon.core import _native
from mlmon.core._compat import require
from mlmon.core.baseline import Baseline
from mlmon.core.drift import SEVERITY_ORDER, DriftReport, Thresholds
from mlmon.core.monitor import Monitor
from mlmon.core.schema import FeatureSpec
from mlmon.exceptions import MlmonError
from mlmon.store import cli as store_cli

__all__ = ["main"]

BATCH_ROWS = 256 * 1024


class CliError(MlmonError):
    """A user-facing failure: printed as one line, exit code 2."""


def _arrow() -> tuple[Any, Any, Any]:
    try:
        pa = require("pyarrow", "arrow")
        pacsv = require("pyarrow.csv", "arrow")
        pq = require("pyarrow.parquet", "arrow")
    except ImportError as exc:  # pragma: no cover - pyarrow is installed in the test environment
        raise CliError("reading files needs pyarrow: pip install 'mlmon[io]'") from exc
    return pa, pacsv, pq


def _format(path: Path) -> str:
    if not path.exists():
        raise CliError(f"no such file: {path}")
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        return "parquet"
    if suffix.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    raise CliError(f"cannot read {path}: unknown format (expected .csv or .parquet)")


def read_table(path: Path) -> Any:
    """A whole CSV or Parquet file as a pyarrow Table."""
    pa, pacsv, pq = _arrow()
    fmt = _format(path)
    try:
        if fmt == "parquet":
            return pq.read_table(path)
        return pacsv.read_csv(path, parse_options=_csv_parse(pacsv, path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CliError(f"cannot read {path} as {fmt}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv_parse(pacsv: Any, path: Path) -> Any:
    return pacsv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",")


def _csv_types(pa: Any, features: Sequence[FeatureSpec]) -> dict[str, Any]:
    """Column types from the baseline, so a column does not change type between CSV blocks."""
    types: dict[str, Any] = {}
    for f in features:
        if f.kind == "numerical":
            types[f.name] = pa.float64()
        elif f.dtype.startswith(("int", "uint")):
            types[f.name] = pa.int64()
        elif f.dtype == "bool":
            types[f.name] = pa.bool_()
        else:
            types[f.name] = pa.string()
    return types


def iter_batches(
    path: Path, features: Sequence[FeatureSpec], as_string: set[str]
) -> Iterator[tuple[Any, float]]:
    """Record batches of a file with the fraction read so far, streaming (bounded memory)."""
    pa, pacsv, pq = _arrow()
    fmt = _format(path)
    if fmt == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise CliError(f"cannot read {path} as parquet: {_first_line(exc)}") from exc
        total = max(pf.metadata.num_rows, 1)
        done = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS):
            done += batch.num_rows
            yield batch, done / total
        return
    types = _csv_types(pa, features)
    types.update(dict.fromkeys(as_string, pa.string()))
    size = max(path.stat().st_size, 1)
    with open(path, "rb") as fh:
        # A conversion error (ArrowInvalid) propagates: _monitor_file re-reads that column as text.
        options = pacsv.ConvertOptions(column_types=types)
        reader = pacsv.open_csv(fh, parse_options=_csv_parse(pacsv, path), convert_options=options)
        for batch in reader:
            yield batch, min(fh.tell() / size, 1.0)


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet or not sys.stderr.isatty(),
    )


def _monitor_file(baseline: Baseline, path: Path, thresholds: Thresholds, quiet: bool) -> Monitor:
    """Streams ``path`` into a monitor; a CSV column that fails its baseline type is re-read as text
    (so it is counted as invalid values rather than failing the run)."""
    pa, _, _ = _arrow()
    as_string: set[str] = set()
    names = [f.name for f in baseline.features.values()]
    for _attempt in range(len(names) + 1):
        # A drift gate reports schema drift (absent columns, wrong types) rather than stopping at it.
        monitor = Monitor(baseline, thresholds, on_error="count")
        try:
            with _progress(quiet) as progress:
                task = progress.add_task(f"reading {path.name}", total=1.0, rows=0)
                for batch, fraction in iter_batches(path, list(baseline.features.values()), as_string):
                    monitor.update(batch)
                    progress.update(task, completed=fraction, rows=monitor.rows)
            return monitor
        except pa.ArrowInvalid as exc:
            bad = _csv_column(str(exc), path)
            if not bad or set(bad) <= as_string:
                raise CliError(f"cannot read {path} as {_format(path)}: {_first_line(exc)}") from exc
            as_string.update(bad)
    raise CliError(f"cannot read {path}: too many columns of unexpected types")


def _csv_column(message: str, path: Path) -> list[str]:
    """The column name behind Arrow's "In CSV column #3: ..." message."""
    m = re.search(r"CSV column #(\d+)", message)
    if not m:
        return []
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n").split("\t" if path.suffix.lower() == ".tsv" else ",")
    idx = int(m.group(1))
    return [header[idx].strip('"')] if idx < len(header) else []


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def cmd_baseline_fit(args: argparse.Namespace) -> int:
    """``mlmon baseline fit``: fit on a file and save the baseline."""
    path = Path(args.data)
    table = read_table(path)
    baseline = Baseline.fit(
        table,
        categorical=None if args.categorical is None else _split(args.categorical),
        numerical=_split(args.numerical),
        exclude=_split(args.exclude),
        bins=args.bins,
        model=args.model,
        version=args.version,
    )
    out = Path(args.output)
    baseline.save(out)
    if not args.quiet:
        Console().print(f"[green]wrote[/] {out}: {baseline!r}")
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    """``mlmon drift``: monitor a file against a baseline and gate on severity."""
    try:
        baseline = Baseline.load(args.baseline)
    except FileNotFoundError as exc:
        raise CliError(f"no such file: {args.baseline}") from exc
    thresholds = Thresholds(warning=args.warning, critical=args.critical, min_count=args.min_count)
    if args.by:
        from mlmon.batch import _cli as history_cli  # pyarrow datasets: imported for --by only

        return history_cli.run(args, baseline, thresholds)
    path = Path(args.current)
    monitor = _monitor_file(baseline, path, thresholds, args.quiet)
    report = monitor.report()
    if len(report.missing_columns) == len(report.features):
        expected = ", ".join(list(baseline.features)[:8])
        raise CliError(f"{path} has none of the baseline's features (expected {expected}, ...)")
    _write_outputs(report, args)
    if args.fail_on == "never":
        return 0
    return 1 if SEVERITY_ORDER[report.severity] >= SEVERITY_ORDER[args.fail_on] else 0


def _write_outputs(report: DriftReport, args: argparse.Namespace) -> None:
    if args.json:
        Path(args.json).write_text(report.to_json(), encoding="utf-8")
    if args.html:
        report.to_html(args.html)
    if args.quiet:
        return
    fmt = args.format or "table"
    if fmt != "table":
        text = {"json": report.to_json, "csv": report.to_csv, "markdown": report.to_markdown}[fmt]()
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    _print_table(report)


def _print_table(report: DriftReport) -> None:
    """The table laid out for the terminal; piped or redirected, every column at full width (rich would
    assume 80 columns and cut cells), without colours or trailing blanks."""
    terminal = Console()
    out = terminal if terminal.is_terminal else Console(file=io.StringIO(), width=100_000, color_system=None)
    out.print(report.to_table(width=terminal.width if terminal.is_terminal else None))
    if report.missing_columns:
        out.print(f"[yellow]missing columns:[/] {', '.join(report.missing_columns)}")
    if report.unexpected_columns:
        out.print(f"[yellow]unexpected columns:[/] {', '.join(report.unexpected_columns)}")
    if isinstance(out.file, io.StringIO):
        sys.stdout.write("".join(line.rstrip() + "\n" for line in out.file.getvalue().splitlines()))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``mlmon`` command."""
    parser = argparse.ArgumentParser(prog="mlmon", description="Exact, fast drift monitoring for ML models.")
    parser.add_argument("--version", action="version", version=f"mlmon {_native.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    base = sub.add_parser("baseline", help="fit and inspect baselines").add_subparsers(
        dest="action", required=True
    )
    fit = base.add_parser("fit", help="fit a baseline on a CSV or Parquet file")
    fit.add_argument("data", help="training data (.csv or .parquet)")
    fit.add_argument("-o", "--output", required=True, help="baseline file to write (e.g. churn-3.mlmon)")
    fit.add_argument(
        "--categorical",
        help="comma-separated features to treat as categorical (default: "
        "typed by dtype; --categorical '' declares none, refusing string columns)",
    )
    fit.add_argument("--numerical", help="comma-separated features to treat as numerical")
    fit.add_argument("--exclude", help="comma-separated columns to leave out (ids, target...)")
    fit.add_argument("--bins", type=int, default=10, help="quantile bins per numerical feature (default 10)")
    fit.add_argument("--model", help="model name")
    fit.add_argument("--version", dest="version", help="model version")
    fit.add_argument("-q", "--quiet", action="store_true")
    fit.set_defaults(func=cmd_baseline_fit)
    drift = sub.add_parser("drift", help="check a CSV or Parquet file for drift against a baseline")
    drift.add_argument("baseline", help="baseline file from `mlmon baseline fit`")
    drift.add_argument("current", help="current data (.csv or .parquet), read in chunks")
    drift.add_argument("--json", help="write the report as JSON here")
    drift.add_argument("--html", help="write the self-contained HTML report here")
    drift.add_argument(
        "--fail-on",
        choices=["warning", "critical", "never"],
        default="critical",
        help="exit 1 when the overall severity reaches this (default critical)",
    )
    drift.add_argument("--warning", type=float, default=0.2, help="PSI warning threshold (default 0.2)")
    drift.add_argument("--critical", type=float, default=0.5, help="PSI critical threshold (default 0.5)")
    drift.add_argument("--min-count", type=int, default=100, help="fewest values for a verdict (default 100)")
    drift.add_argument(
        "--format",
        choices=["table", "json", "csv", "markdown"],
        help="what to print: table (default; every column when not a terminal), json, csv "
        "(one row per feature) or markdown",
    )
    drift.add_argument("-q", "--quiet", action="store_true", help="no table, no progress bar")
    drift.add_argument(
        "--by",
        help="report drift per period of this length (1d, 6h...) instead of once; "
        "CURRENT may then be a glob or a directory",
    )
    drift.add_argument("--timestamp", default="ts", help="time column for --by (default ts)")
    drift.add_argument("--table", help="with --by: write the per-period table here (.parquet or .csv)")
    drift.set_defaults(func=cmd_drift)
    _add_db(sub)
    for command, extra, run, helptext in (
        ("serve", "service", "run_serve", "run the drift service"),
        ("serve-model", "serving", "run_serve_model", "run the production API"),
        ("deploy", "deploy", "", "validate, gate and ship a model"),  # its module sets the handler
    ):
        cmd = sub.add_parser(command, help=f"{helptext} (needs mlmon[{extra}])")
        module = f"mlmon.{extra}.cli"
        _add_optional(cmd, command, extra, module, run)
    demo_cmd = sub.add_parser("demo", help="train, deploy, serve, drift and alerts, end to end")
    demo.add_demo_arguments(demo_cmd)
    demo_cmd.set_defaults(func=cmd_demo)
    from mlmon.bench.cli import add_bench_parser  # the benchmark suite (the bench extra)

    add_bench_parser(sub)
    return parser


def _add_optional(parser: argparse.ArgumentParser, command: str, extra: str, module: str, run: str) -> None:
    """Lets ``module`` set up ``mlmon <command>`` (``add_<command>_arguments``, then ``run`` unless the
    module sets its own handler); without the extra's dependencies the command says what to install
    instead of failing the whole command line at import."""
    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or f"a dependency of mlmon[{extra}]"

        def unavailable(args: argparse.Namespace) -> int:
            raise CliError(f"`mlmon {command}` needs {missing}: pip install 'mlmon[{extra}]'")

        parser.set_defaults(func=unavailable)
        return
    if run:
        parser.set_defaults(func=getattr(found, run))
    getattr(found, f"add_{command.replace('-', '_')}_arguments")(parser)


def _add_db(sub: Any) -> None:
    db = sub.add_parser("db", help="database schema: upgrade, current").add_subparsers(
        dest="action", required=True
    )
    for action, helptext in (("upgrade", "apply pending migrations"), ("current", "show the schema version")):
        cmd = db.add_parser(action, help=helptext)
        cmd.add_argument(
            "--database-url",
            help="sqlite:///path or postgresql://... (default: MLMON_DATABASE_URL or "
            "sqlite:///./mlmon.db); prefer the environment variable for URLs with a password",
        )
        cmd.set_defaults(func=cmd_db)


def cmd_db(args: argparse.Namespace) -> int:
    """``mlmon db upgrade|current``."""
    # The pool logs each failed connection attempt; the one-line error below says it once.
    logging.getLogger("psycopg.pool").setLevel(logging.CRITICAL)
    run = store_cli.db_upgrade if args.action == "upgrade" else store_cli.db_current
    print(run(args.database_url))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``mlmon demo``: exit 0 when the staged drift is caught."""
    return demo.run_demo(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``mlmon`` command.

    Returns:
        The exit code: 0 ok, 1 drift at or above ``--fail-on``, 2 bad input.
    """
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (CliError, MlmonError) as exc:
        print(f"mlmon: error: {_first_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mlmon: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
