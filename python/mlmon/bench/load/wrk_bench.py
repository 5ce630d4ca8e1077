"""Load benchmark of the drift service with wrk (loopback only, every run bounded in time).

Posts 1,000-row x 25-feature batches, each with a unique batch_id generated in Lua (ingest.lua), and
measures in one run, so the ratios compare like with like on a shared machine:

* mlmon under uvicorn (uvloop + httptools) and under granian, 1 and 2 workers, SQLite store, durability
  on (a 2xx only after the group commit), bodies msgpack-binary, msgpack-lists and json-lists;
* on mlmon-uvicorn, in the same server run, a model whose baseline carries outputs and a reference
  (``loadout``): ``msgpack-outputs`` (the 25 features + prediction + proba_0/proba_1 binary + 1,000
  request ids, every row kept for the label join) and ``labels-pending`` (1,000 labels POSTed to
  ``/v1/models/loadout/labels`` whose predictions were never sent: the pending path);
* the limit: a bare Litestar endpoint that only decodes the same msgpack-binary body (``ref_apps``);
* the design's original stack: FastAPI + pydantic decoding the JSON lists body and updating numpy
  histograms in memory (no store).

Run: ``python -m mlmon.bench.load.wrk_bench [--seconds 10] [--profile] [--json FILE]``; prints the
Markdown table (for a checkout's benches/load/RESULTS.md) and, with ``--json``, writes every run there.
``--profile`` adds a py-spy profile of the 2-worker msgpack-binary case (top functions by own time). A
server whose packages are not installed (granian; FastAPI and pydantic for the reference) is skipped
with a line saying so.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import msgspec
import numpy as np

import mlmon
from mlmon.bench.workloads.labels import batch_columns, labelled_baseline, labels_of
from mlmon.store import open_store

HERE = Path(__file__).resolve().parent
ROWS, FEATURES = 1000, 25
PLACEHOLDER = "Q" * 16
MEDIA = {
    "msgpack-binary": "application/msgpack",
    "msgpack-lists": "application/msgpack",
    "json-lists": "application/json",
    "msgpack-outputs": "application/msgpack",
    "labels-pending": "application/msgpack",
}
#: The model each body kind goes to: ``loadout``'s baseline carries outputs and a reference.
MODEL = {kind: "loadout" if kind in ("msgpack-outputs", "labels-pending") else "load" for kind in MEDIA}
#: Body kinds that are label batches, not ingest batches.
LABELS = frozenset({"labels-pending"})


def ingest_path(kind: str) -> str:
    """The URL path a body kind is POSTed to (``INGEST_PATH`` of ingest.lua)."""
    return f"/v1/models/{MODEL[kind]}/{'labels' if kind in LABELS else 'ingest'}"


@dataclass
class Result:
    """One wrk run."""

    server: str
    workers: int
    body: str
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    stored_rows: int | None = None

    @property
    def batches_s(self) -> float:
        """Batches per second (all answered 2xx when non2xx is 0)."""
        return self.requests / self.seconds

    @property
    def rows_s(self) -> float:
        """Rows per second."""
        return self.batches_s * ROWS


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _row_ids() -> list[str]:
    """Request ids ``<placeholder>-00000`` ..: ingest.lua puts the request's id in each placeholder,
    so they are unique per request and keep their length."""
    return [f"{PLACEHOLDER}-{i:05d}" for i in range(ROWS)]


def outputs_doc() -> dict[str, object]:
    """The ``msgpack-outputs`` batch: features, prediction and probabilities as DriftClient sends them
    (numbers as float64 bytes, the prediction as labels), and a request id per row."""
    cols: dict[str, object] = {}
    for name, values in batch_columns(0).items():
        numbers = values.dtype.kind == "f"
        cols[name] = {"dtype": "<f8", "data": values.tobytes()} if numbers else values.tolist()
    return {"batch_id": PLACEHOLDER, "version": "v1", "request_ids": _row_ids(), "columns": cols}


def body_doc(kind: str) -> dict[str, object]:
    """The body of a kind before encoding, with the id placeholder: once as the batch id, and once more
    per row in the bodies with request ids (``msgpack-outputs``, ``labels-pending``)."""
    if kind == "msgpack-outputs":
        return outputs_doc()
    if kind == "labels-pending":
        return {"request_ids": _row_ids(), "labels": labels_of(0)}
    rng = np.random.default_rng(0)
    cols: dict[str, object] = {}
    for f in range(FEATURES):
        values = rng.normal(0, 1, ROWS)
        cols[f"f{f}"] = (
            {"dtype": "<f8", "data": values.tobytes()} if kind == "msgpack-binary" else values.tolist()
        )
    return {"batch_id": PLACEHOLDER, "version": "v1", "columns": cols}


def write_body(kind: str, directory: Path) -> Path:
    """One encoded body with the id placeholder, as ingest.lua reads it."""
    doc = body_doc(kind)
    data = msgspec.json.encode(doc) if MEDIA[kind] == "application/json" else msgspec.msgpack.encode(doc)
    rows = ROWS if "request_ids" in doc else 0
    assert data.count(PLACEHOLDER.encode()) == rows + ("batch_id" in doc)
    path = directory / f"{kind}.bin"
    path.write_bytes(data)
    return path


def _env(db: str, workers: int, prom: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLMON_", "PROMETHEUS_"))}
    env.update(
        MLMON_ALERT_INTERVAL_SECONDS="0",
        MLMON_LOG_LEVEL="WARNING",
        MLMON_DRAIN_SECONDS="0",
        MLMON_DATABASE_URL=db,
    )
    if workers > 1:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(prom)
    return env


def _command(server: str, workers: int, port: int) -> list[str]:
    py, w, p = sys.executable, str(workers), str(port)
    uvicorn = [py, "-m", "uvicorn", "--host", "127.0.0.1", "--port", p, "--workers", w, "--loop", "uvloop",
               "--http", "httptools", "--log-level", "warning", "--no-access-log"]  # fmt: skip  # argv pairs
    if server == "mlmon-uvicorn":
        return [py, "-m", "mlmon.service", "--port", p, "--workers", w]
    if server == "mlmon-granian":
        return [py, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1", "--port", p,
                "--workers", w, "--loop", "uvloop", "--log-level", "warning", "--no-access-log",
                "mlmon.service.app:app_from_env"]  # fmt: skip  # argv pairs
    if server == "bare-litestar":
        return [*uvicorn, "mlmon.bench.load.ref_apps:bare_app"]
    return [*uvicorn, "mlmon.bench.load.ref_fastapi:fastapi_app"]


# The packages each server needs beyond the service extra.
NEEDS = {"mlmon-granian": ("granian",), "fastapi-pydantic": ("fastapi", "pydantic")}


def missing(server: str) -> list[str]:
    """The packages ``server`` needs that are not installed."""
    return [m for m in NEEDS.get(server, ()) if importlib.util.find_spec(m) is None]


def start(server: str, workers: int, tmp: Path) -> tuple[subprocess.Popen[bytes], str, str]:
    """Starts a server; returns it, its URL and its database URL."""
    db = f"sqlite:///{tempfile.mkdtemp(dir=tmp)}/{server}-{workers}.db"
    open_store(db).close()  # migrate before the workers start
    prom = Path(tempfile.mkdtemp(prefix=f"prom-{server}-{workers}-", dir=tmp))
    port = _port()
    proc = subprocess.Popen(
        _command(server, workers, port),
        env=_env(db, workers, prom),
        stdout=subprocess.DEVNULL,
        stderr=(tmp / f"{server}-{workers}.log").open("wb"),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{url}/healthz", timeout=1)  # any answer (the references 404) means up
            return proc, url, db
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{server} did not start: {(tmp / f'{server}-{workers}.log').read_text()[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, then wait (bounded)."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wrk(url: str, body: Path, kind: str, seconds: int, tag: str, connections: int) -> dict[str, int]:
    """One bounded wrk run; returns the JSON ingest.lua's done() prints."""
    env = {
        **os.environ,
        "BODY_FILE": str(body),
        "CONTENT_TYPE": MEDIA[kind],
        "INGEST_PATH": ingest_path(kind),
        "RUN_TAG": tag,
    }
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "ingest.lua"),
        url,
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("{"))
    data: dict[str, int] = json.loads(line)
    return data


# Every window the run may have written (a fresh store per server): a run that crosses a window
# boundary (the hour, by default) has rows in two windows, and "current" would see only the last.
_ALL_WINDOWS = "2000-01-01T00:00:00+00:00/2100-01-01T00:00:00+00:00"


def _stored_rows(url: str, model: str) -> int:
    params = {"window": _ALL_WINDOWS, "version": "v1"}
    r = httpx.get(f"{url}/v1/models/{model}/drift", params=params, timeout=30)
    r.raise_for_status()
    return int(r.json()["current_rows"])


def _label_status(url: str, model: str) -> dict[str, int]:
    """The model's label join: kept predictions ``waiting``, ``labelled``, labels ``pending``."""
    r = httpx.get(f"{url}/v1/models/{model}/performance", timeout=30)
    r.raise_for_status()
    status: dict[str, int] = r.json()["labels"]
    return status


def _upload(url: str, baselines: dict[str, bytes]) -> None:
    for model, data in baselines.items():
        put = httpx.put(f"{url}/v1/models/{model}/versions/v1/baseline", content=data, timeout=30)
        put.raise_for_status()


def check_stored(url: str, results: list[Result]) -> None:
    """Every acknowledged batch is stored, per model (more may be: wrk drops answers still in flight at
    its end), every row of an outputs batch is kept for the join, and every label batch is pending."""
    for model in sorted({MODEL[r.body] for r in results if r.body not in LABELS}):
        total = _stored_rows(url, model)
        mine = [r for r in results if MODEL[r.body] == model and r.body not in LABELS]
        for r in mine:
            r.stored_rows = total
        assert total >= sum(r.requests for r in mine) * ROWS, (model, total)
    for r in results:
        if r.body == "msgpack-outputs" or r.body in LABELS:
            status = _label_status(url, MODEL[r.body])
            kept = status["pending"] if r.body in LABELS else status["waiting"] + status["labelled"]
            assert kept >= r.requests * ROWS, (r.body, status, r.requests)


def measure(
    server: str,
    workers: int,
    kinds: list[str],
    bodies: dict[str, Path],
    args: argparse.Namespace,
    tmp: Path,
    baselines: dict[str, bytes],
) -> list[Result]:
    """Warm-up then one measured wrk run per body kind on one server (``baselines``: per model)."""
    proc, url, _ = start(server, workers, tmp)
    results = []
    try:
        if server.startswith("mlmon"):
            _upload(url, baselines)
        for i, kind in enumerate(kinds):
            wrk(url, bodies[kind], kind, 2, "abcdefgh"[i], args.connections)  # warm-up
            raw = wrk(url, bodies[kind], kind, args.seconds, "ABCDEFGH"[i], args.connections)
            results.append(
                Result(
                    server,
                    workers,
                    kind,
                    raw["requests"],
                    raw["duration_us"] / 1e6,
                    raw["non2xx"],
                    raw["socket_errors"],
                    raw["p50_us"] / 1000,
                    raw["p99_us"] / 1000,
                )
            )
            print(_row(results[-1]), flush=True)
        if server.startswith("mlmon"):
            check_stored(url, results)
    finally:
        stop(proc)
    return results


def profile(bodies: dict[str, Path], args: argparse.Namespace, tmp: Path, baselines: dict[str, bytes]) -> str:
    """py-spy over the workers of mlmon-uvicorn during a msgpack-binary wrk run: top own-time frames."""
    proc, url, _ = start("mlmon-uvicorn", args.profile_workers, tmp)
    out = tmp / "profile.txt"
    try:
        _upload(url, baselines)
        wrk(url, bodies["msgpack-binary"], "msgpack-binary", 2, "p", args.connections)
        spy_cmd = [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(proc.pid),
            "--subprocesses",
            "--duration",
            str(args.seconds - 2),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out),
        ]
        spy = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wrk(url, bodies["msgpack-binary"], "msgpack-binary", args.seconds, "P", args.connections)
        spy.wait(timeout=60)
    finally:
        stop(proc)
    return summarize(out.read_text())


def summarize(raw: str, top: int = 15) -> str:
    """Own-time and inclusive shares of the sampled frames (py-spy raw/collapsed format)."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [f.split(" (")[0] + " (" + f.rsplit("/", 1)[-1] if "(" in f else f for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    lines = [f"samples: {total}", "", "| own % | function |", "|---|---|"]
    lines += [f"| {100 * n / total:.1f} | `{f}` |" for f, n in own.most_common(top)]
    lines += ["", "| inclusive % | function |", "|---|---|"]
    lines += [
        f"| {100 * n / total:.1f} | `{f}` |" for f, n in incl.most_common(top + 10) if "<module>" not in f
    ]
    return "\n".join(lines)


def _row(r: Result) -> str:
    flag = (
        ""
        if r.non2xx == 0 and r.socket_errors == 0
        else f" ({r.non2xx} non-2xx, {r.socket_errors} socket errors)"
    )
    cells = f"{r.batches_s:,.0f} | {r.rows_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f}"
    return f"| {r.server} | {r.workers} | {r.body} | {cells} |{flag}"


def main() -> None:
    """Runs every case and prints the table (and the profile with ``--profile``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-workers", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated servers to run (default all)")
    parser.add_argument("--json", type=Path, help="write every run's figures to this file")
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    baselines = {
        "load": mlmon.Baseline.fit({f"f{f}": rng.normal(0, 1, 5000) for f in range(FEATURES)}).to_bytes(),
        "loadout": labelled_baseline().to_bytes(),
    }
    plan = [
        ("bare-litestar", ["msgpack-binary"]),
        ("fastapi-pydantic", ["json-lists"]),
        (
            "mlmon-uvicorn",
            ["msgpack-binary", "msgpack-lists", "json-lists", "msgpack-outputs", "labels-pending"],
        ),
        ("mlmon-granian", ["msgpack-binary"]),
    ]
    only = set(filter(None, args.only.split(",")))
    chosen = [(server, kinds) for server, kinds in plan if not only or server in only]
    for server, _ in chosen:
        if missing(server):
            print(f"skipped {server}: {', '.join(missing(server))} not installed", flush=True)
    chosen = [(server, kinds) for server, kinds in chosen if not missing(server)]
    print(f"load average before: {os.getloadavg()}, cpus: {os.cpu_count()}, {platform.python_version()}")
    print("| server | workers | body | batches/s | rows/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|---|")
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        bodies = {k: write_body(k, tmp) for k in MEDIA}
        for workers in (1, 2):
            for server, kinds in chosen:
                results += measure(server, workers, kinds, bodies, args, tmp, baselines)
        summary = profile(bodies, args, tmp, baselines) if args.profile else ""
    print(f"load average after: {os.getloadavg()}")
    rows = [asdict(r) | {"rows_s": r.rows_s} for r in results]
    record = {"load_average_after": os.getloadavg(), "results": rows, "profile": summary}
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=1))
    if summary:
        print(summary)


if __name__ == "__main__":
    main()
