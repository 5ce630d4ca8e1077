"""``mlmon bench`` end to end in its tiny mode (seconds), run as an installed package would run it: from a
copy of the package outside the checkout, in a working directory of its own, with no ``benches/`` in
reach. The results JSON (in ``./mlmon-bench-results``), the Markdown summary, the plots and the capacity
report are written and well formed, the scores of mlmon and the numpy implementation agree, a peer whose
virtualenv cannot be made is a row saying why, and the cost-model line fit is right. No timing asserts:
speed is shown by the suite's figures."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

import mlmon
from mlmon.bench import capacity, cli, kernels, peers, report, suite
from mlmon.bench.fit import line_fit
from mlmon.bench.modes import MODES
from mlmon.bench.service import parse_markdown_tables
from mlmon.cli import main
from mlmon.exceptions import InputError

STEPS = {"kernels", "curves", "memory", "store", "ingest", "compaction", "labels", "service", "peers"}
ROOT = Path(__file__).resolve().parent.parent
# Runs the CLI from the copy; fails first if mlmon would come from anywhere else.
RUN_COPY = """import sys, mlmon, mlmon.cli
assert mlmon.__file__.startswith(sys.argv[1]), mlmon.__file__
raise SystemExit(mlmon.cli.main(sys.argv[2:]))"""


def _installed_copy(tmp: Path) -> Path:
    """The package as a wheel installs it: ``<tmp>/site/mlmon``, with nothing of the checkout beside it."""
    site = tmp / "site"
    shutil.copytree(
        Path(mlmon.__file__).parent, site / "mlmon", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return site


def _run_copy(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}
    cmd = [sys.executable, "-c", RUN_COPY, str(site), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=280)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the package outside the checkout and an empty working directory."""
    tmp = tmp_path_factory.mktemp("bench")
    work = tmp / "work"
    work.mkdir()
    return _installed_copy(tmp), work


@pytest.fixture(scope="module")
def tiny_run(installed: tuple[Path, Path]) -> tuple[dict[str, Any], Path, Path]:
    site, work = installed
    docs = work.parent / "docs"
    done = _run_copy(
        site, work, "bench", "--tiny", "--docs", str(docs), "--cache", str(work.parent / "cache")
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (path,) = (work / "mlmon-bench-results").glob("*-tiny.json")
    return json.loads(path.read_text()), path, docs


def test_results_json_structure(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    results, path, _ = tiny_run
    assert path.name == f"{results['started_at'][:10]}-{results['host']['host']}-tiny.json"
    assert results["mode"] == "tiny" and results["schema"] == 1
    assert set(results["steps"]) == STEPS
    assert {n for n, s in results["steps"].items() if s["status"] == "ok"} == STEPS - {"service"}
    assert results["steps"]["service"]["status"] == "skipped in tiny mode"
    assert results["host"]["cores"] >= 1 and results["host"]["cpu"]
    kernels = results["kernels"]
    assert kernels["suites"] == MODES["tiny"].kernel_sizes and kernels["failed"] == {}
    names = {(k["suite"], k["name"]) for k in kernels["benchmarks"]}
    for want in (
        ("pipeline", "mlmon_pipeline[pandas]"),
        ("pipeline", "numpy_pipeline"),
        ("pipeline", "mlmon_fit[pandas]"),
        ("pipeline", "numpy_fit"),
        ("engine", "mlmon_histogram"),
        ("engine", "numpy_nanquantile"),
        ("engine", "mlmon_update_2d[F-2]"),
        ("store", "write_partials[100]"),
        ("store", "merged_profile"),
    ):
        assert want in names
    assert all(k["min_s"] > 0 and k["rounds"] >= 1 for k in kernels["benchmarks"])


def test_curves_have_points_and_fits(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    curves = tiny_run[0]["curves"]
    assert set(curves) == {"rows", "features", "categories", "batch"}
    for name, curve in curves.items():
        xs = [p["x"] for p in curve["points"]]
        assert len(xs) + len(curve["skipped_over_budget"]) == 3, name
        assert len(xs) >= 2 and xs == sorted(xs), name
        assert all(p["seconds"] > 0 and p["peak_extra_mib"] >= 0 for p in curve["points"])
        for key in ("fit_time", "fit_memory"):
            fit = curve[key]
            assert fit["points"] == len(xs) and fit["r2"] <= 1.0 and math.isfinite(fit["per_unit"])


def test_memory_and_store_figures(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    results = tiny_run[0]
    kinds = {m["kind"]: m for m in results["memory"]}
    assert set(kinds) == {"numerical", "categorical"}
    # 100 categories weigh more than 10 bins, on the wire and in memory.
    assert (
        kinds["categorical"]["window_profile_bytes_per_feature"]
        > kinds["numerical"]["window_profile_bytes_per_feature"]
    )
    assert [s["features"] for s in results["store"]] == [25, 100]
    small, large = results["store"]
    assert large["profile_bytes"] > 3 * small["profile_bytes"]
    assert large["sqlite"]["bytes_per_partial"] >= large["profile_bytes"]  # SQLite stores it uncompressed
    # A window's aggregate after many batches weighs what one batch's delta does (counts, not rows).
    assert large["aggregate_profile_bytes"] <= 1.1 * large["profile_bytes"]


def test_store_ingest_and_service_compaction(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    results = tiny_run[0]
    ingest = {r["keys"]: r for r in results["ingest"]}
    assert set(ingest) == {"producer", "batch_id"}
    for r in ingest.values():
        assert r["backend"] == "sqlite" and r["group"] == 256 and r["batches_s"] > 0
        assert r["merge_share"] > 0 and r["commit_median_s"] > 0
        # One delta row per commit (one window), folded into one aggregate by one pass.
        assert r["delta_rows"] == r["commits"] + 1 and r["rows_after_compaction"] == 1
    (svc,) = results["compaction"]
    assert svc["batches"] == MODES["tiny"].compaction_batches and svc["rows_after_compaction"] == 1
    assert svc["counted_rows"] == svc["batches"] * svc["rows_per_batch"]  # each acknowledged batch once
    assert svc["max_rows"] <= 1 + svc["max_interval_batches"] + svc["senders"]
    # The labels step (tests/test_bench_labels.py checks its figures): SQLite only in tiny mode.
    assert [s["backend"] for s in results["labels"]["stores"]] == ["sqlite"]


def test_peers_agree_where_methods_coincide(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    peers = tiny_run[0]["peers"]
    assert set(peers["results"]) == {"mlmon", "numpy/scipy"}
    assert all(p["status"] == "ok" and p["seconds"] > 0 for p in peers["results"].values())
    psi = next(a for a in peers["agreement"] if a["tool"] == "mlmon" and a["value"] == "psi")
    assert psi["features"] == 25 and psi["max_difference"] < 1e-9
    verdict = next(v for v in peers["verdicts"] if v["tool"] == "mlmon")
    assert verdict["true_alarms"] == 13 and verdict["missed"] == 0


def test_markdown_summary_and_capacity_report(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    results, path, docs = tiny_run
    summary = path.with_suffix(".md").read_text()
    for heading in (
        "## Steps",
        "## In-process kernels",
        "## Scaling curves",
        "## Memory per model",
        "## Store growth",
        "## Model outputs and labels",
        "## Peers",
    ):
        assert heading in summary
    tables = parse_markdown_tables(summary)
    peer_rows = next(t for t in tables if "time / mlmon's" in t[0])
    assert {r["tool"] for r in peer_rows} == {"mlmon", "numpy/scipy"}
    report = (docs / "capacity-planning.md").read_text()
    for heading in (
        "# Capacity planning",
        "## Ingestion per core",
        "## Memory per model per feature",
        "## Store growth",
        "## Worked example",
        "## Scaling curves",
    ):
        assert heading in report
    assert results["started_at"] in report and "shared" in report
    for name in ("rows", "features", "categories", "batch"):
        png = docs / "img" / f"bench-{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"img/bench-{name}.png" in report


def test_report_only_regenerates_the_same_summary(
    tiny_run: tuple[dict[str, Any], Path, Path], tmp_path: Path
) -> None:
    _, path, _ = tiny_run
    copy = tmp_path / path.name
    copy.write_text(path.read_text())
    assert main(["bench", "--report-only", str(copy), "--no-docs"]) == 0
    assert copy.with_suffix(".md").read_text() == path.with_suffix(".md").read_text()
    assert (tmp_path / f"{copy.stem}-plots" / "bench-rows.png").exists()  # no docs: plots beside it


def test_outside_a_checkout_no_docs_unless_asked(
    tiny_run: tuple[dict[str, Any], Path, Path], installed: tuple[Path, Path], tmp_path: Path
) -> None:
    site, _ = installed
    copy = tmp_path / tiny_run[1].name
    copy.write_text(tiny_run[1].read_text())
    done = _run_copy(site, tmp_path, "bench", "--report-only", str(copy))
    assert done.returncode == 0, done.stderr[-2000:]
    assert copy.with_suffix(".md").exists()
    assert not list(tmp_path.rglob("capacity-planning.md")) and "capacity-planning" not in done.stdout


def test_a_checkout_keeps_its_paths() -> None:
    # The tests import mlmon from the checkout's python/: make bench's paths.
    assert cli.checkout_root() == ROOT
    assert cli.results_dir(None) == ROOT / "benches" / "results"
    assert cli.docs_dir(None, no_docs=False) == ROOT / "docs"
    assert cli.docs_dir(None, no_docs=True) is None
    assert cli.results_dir(Path("elsewhere")) == Path("elsewhere")


def test_a_peer_without_a_virtualenv_is_a_row_with_the_reason(tmp_path: Path) -> None:
    venvs = tmp_path / "venvs"
    venvs.mkdir()
    (venvs / "evidently").write_text("a file where the virtualenv should go")
    chosen = tuple(p for p in peers.PEERS if p.name in ("mlmon", "evidently"))
    installer = peers.Installer(venvs, chosen)
    mode = msgspec.structs.replace(MODES["tiny"], peers=["mlmon", "evidently"])
    paths = suite.Paths(results=tmp_path, docs=None, cache=tmp_path)
    out = suite._peers(mode, paths, installer, time.monotonic() + 120)
    evidently = out["results"]["evidently"]
    assert evidently["status"].startswith("install failed") and "Not a directory" in evidently["status"]
    assert out["results"]["mlmon"]["status"] == "ok"
    rows = parse_markdown_tables(report.peer_table({"peers": out}))[0]
    assert {r["tool"]: r["time"] for r in rows}["evidently"] == evidently["status"]


def test_worked_example_from_measured_figures(tiny_run: tuple[dict[str, Any], Path, Path]) -> None:
    derived = capacity.derive(tiny_run[0])
    example = capacity.worked_example(derived, capacity.Example(), {"default": capacity.Policy()})
    assert example["overhead_from"] == "in-process"  # no service run in tiny mode
    assert example["pods"] >= 2 and example["cores"] >= 1 and example["pod_mib"] > 0
    assert derived["sqlite_producer_ingest_batches_s"] > 0 and "sqlite_aggregate_fit" in derived


# Row sizes as derive() gives them: a 100-feature delta of 10 KiB, aggregates the same, 100 B a producer.
_SIZES = {
    "postgres_partial_fit": {"fixed": 240.0, "per_unit": 100.0, "r2": 1.0, "points": 2, "weighting": "none"},
    "postgres_aggregate_fit": {
        "fixed": 240.0,
        "per_unit": 100.0,
        "r2": 1.0,
        "points": 2,
        "weighting": "none",
    },
    "postgres_batch_id_bytes": 200.0,
    "postgres_producer_bytes": 100.0,
}
_DELTA = 240.0 + 100 * 100


def test_store_steady_state_is_bounded_by_windows_and_producers_not_batches() -> None:
    policy = capacity.Policy()
    light, heavy = (
        capacity.store_bytes_per_day(_SIZES, "postgres", capacity.StoreLoad(batches_per_s=bps), policy)
        for bps in (1.0, 1000.0)
    )
    # 1,000x the batches: 1,000x the deltas written, the same aggregates and producers kept.
    assert heavy["delta_rows_per_day"] == pytest.approx(1000 * light["delta_rows_per_day"])
    assert heavy["aggregate_bytes"] == light["aggregate_bytes"] and heavy["producer_bytes"] == 800.0
    # Hourly windows kept 2 days + 90 daily history rows, each one aggregate.
    assert light["aggregate_rows"] == 48 + 90 and light["aggregate_bytes"] == 138 * _DELTA
    # Deltas in flight: what arrives in one 5 s interval; deleted rows: 60 s of them until autovacuum.
    assert heavy["inflight_rows"] == 5000 and heavy["inflight_bytes"] == 5000 * _DELTA
    assert heavy["dead_bytes"] == pytest.approx((1000 * _DELTA + _DELTA / 5) * 60)
    assert heavy["batch_id_bytes"] == 0  # every batch has a producer id
    assert heavy["steady_state_bytes"] == pytest.approx(
        heavy["aggregate_bytes"] + heavy["inflight_bytes"] + heavy["dead_bytes"] + 800
    )
    more_producers = capacity.store_bytes_per_day(
        _SIZES, "postgres", capacity.StoreLoad(batches_per_s=1.0, producers=1000), policy
    )
    assert more_producers["steady_state_bytes"] - light["steady_state_bytes"] == pytest.approx(992 * 100)


def test_write_amplification_and_batch_ids_of_keyless_clients() -> None:
    policy = capacity.Policy()
    one = capacity.store_bytes_per_day(_SIZES, "postgres", capacity.StoreLoad(), policy)
    # One batch per window: its delta is the window's only row, nothing to rewrite but the daily history.
    assert one["delta_rows_per_day"] == 24 and one["write_amplification"] == pytest.approx(25 / 24)
    busy = capacity.store_bytes_per_day(
        _SIZES, "postgres", capacity.StoreLoad(batches_per_s=5.0, keyed_share=0.5), policy
    )
    # 25 deltas between passes, then one aggregate rewrite: (25 + 1 + history) / 25.
    rewrites = 86_400 / 5 + 1
    assert busy["write_amplification"] == pytest.approx((5 * 86_400 + rewrites) / (5 * 86_400))
    assert busy["batch_id_bytes"] == pytest.approx(5 * 86_400 * 0.5 * 7 * 200)
    grouped = capacity.store_bytes_per_day(
        _SIZES, "postgres", capacity.StoreLoad(batches_per_s=5.0, batches_per_commit=5), policy
    )
    assert grouped["delta_rows_per_day"] == 86_400 and grouped["inflight_rows"] == 5
    sqlite_sizes = {k.replace("postgres", "sqlite"): v for k, v in _SIZES.items()}
    assert (
        capacity.store_bytes_per_day(sqlite_sizes, "sqlite", capacity.StoreLoad(), policy)["dead_bytes"] == 0
    )


def test_worked_example_store_under_5_gib_from_row_sizes() -> None:
    example = capacity.worked_example(_SIZES, capacity.Example(), {"default": capacity.Policy()})
    pg = example["postgres"]["default"]
    # 50 models x 5 batches/s, one delta each: 21.6 M delta rows a day, but a steady state of windows.
    assert pg["delta_rows_per_day"] == pytest.approx(21_600_000)
    assert pg["steady_state_bytes"] < 5 * 2**30 and pg["write_amplification"] < 1.1
    assert pg["producer_bytes"] == 50 * 8 * 100


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["bench", "--tiny", "--results", str(tmp_path / "file" / "results")]) == 2
    assert "cannot create the results directory" in capsys.readouterr().err
    assert main(["bench", "--report-only", str(tmp_path / "missing.json")]) == 2
    assert "no results file" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["bench", "--report-only", str(tmp_path / "bad.json")]) == 2
    assert "not a results JSON" in capsys.readouterr().err
    assert main(["bench", "--quick", "--base", str(tmp_path / "bad.json")]) == 2
    assert "--base goes with --store" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["bench", "--store", "--results", str(empty)]) == 2
    assert "run `mlmon bench --full` first" in capsys.readouterr().err


def test_a_store_run_is_laid_over_the_newest_full_run(tmp_path: Path) -> None:
    def run(mode: str, started: str, **figures: Any) -> dict[str, Any]:
        steps = {name: {"status": "ok"} for name in figures}
        return {"mode": mode, "started_at": started, "host": {"host": mode}, "steps": steps, **figures}

    (tmp_path / "old.json").write_text(json.dumps(run("full", "2026-01-01", store=[1], peers={"a": 1})))
    (tmp_path / "new.json").write_text(json.dumps(run("full", "2026-02-01", store=[2], peers={"b": 2})))
    (tmp_path / "quick.json").write_text(json.dumps(run("quick", "2026-03-01", store=[3])))
    path, base = cli.base_results(None, tmp_path)
    assert path.name == "new.json" and base["peers"] == {"b": 2}
    store_run = run("store", "2026-04-01", store=[4], ingest=[5])
    store_run["steps"]["peers"] = {"status": "not run in store mode"}
    merged = suite.overlay(base, store_run, path.name)
    assert (merged["mode"], merged["started_at"], merged["store"], merged["ingest"]) == (
        "store", "2026-04-01", [4], [5],
    )  # fmt: skip
    assert merged["peers"] == {"b": 2} and merged["steps"]["peers"] == {"status": "ok"}
    assert merged["base"]["file"] == "new.json" and merged["base"]["replaced"] == ["store", "ingest"]


def test_line_fit() -> None:
    exact = line_fit([1, 2, 3, 4], [3, 5, 7, 9])
    assert exact.weighting == "relative" and line_fit([1, 2], [0, 1]).weighting == "none"
    assert (exact.fixed, exact.per_unit, exact.r2, exact.points) == (
        pytest.approx(1),
        pytest.approx(2),
        pytest.approx(1),
        4,
    )
    # Relative weights: a decade-spanning curve's small points count as much as its large ones.
    spread = line_fit([10, 100, 1000, 10000], [1.1, 2.0, 10.8, 101.0])
    assert spread.fixed == pytest.approx(1.0, rel=0.2) and spread.per_unit == pytest.approx(0.01, rel=0.05)
    noisy = line_fit([1, 2, 3, 4], [1, 3, 2, 4])
    assert 0 < noisy.r2 < 1 and noisy.predict(5) == pytest.approx(noisy.fixed + 5 * noisy.per_unit)
    assert line_fit([1, 2], [5, 5]).r2 == 1.0
    for x, y in (([1], [1]), ([1, 1], [1, 2]), ([1, 2], [1]), ([1, 2], [1, float("nan")])):
        with pytest.raises(InputError):
            line_fit(x, y)


def test_parse_markdown_tables() -> None:
    text = "intro\n| a | b |\n|---|---|\n| 1,000 | x |\n| 2.5 | y |\n\n| c |\n|---|\n| z |\n"
    assert parse_markdown_tables(text) == [[{"a": 1000.0, "b": "x"}, {"a": 2.5, "b": "y"}], [{"c": "z"}]]


def test_a_kernels_suite_stops_at_its_budget() -> None:
    out = kernels.run_suite("store", 60, min_rounds=1, max_time=0.0, warmup=0, budget_s=0.0)
    assert out == {
        "benchmarks": [],
        "failed": {"store: write_partials[1] and the rest": "not run: the time budget was used up"},
    }
