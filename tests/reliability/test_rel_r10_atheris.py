"""R10, coverage-guided: atheris drives the ingest decode + validate + count path for 10 minutes in
``make test-reliability`` (``MLMON_ATHERIS_SECONDS``) and for 10 seconds in ``make test``. A crash is any
exception outside the ``MlmonError`` family, i.e. a request the service would answer with a 500."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rel_results import record

pytest.importorskip("atheris")

HARNESS = Path(__file__).with_name("atheris_ingest.py")


def _fuzz(seconds: int, tmp_path: Path) -> int:
    cmd = [sys.executable, str(HARNESS), f"-max_total_time={seconds}", "-rss_limit_mb=2048", "-timeout=10"]
    run = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + 120, cwd=tmp_path, check=False
    )
    tail = run.stderr[-3000:]
    assert run.returncode == 0, f"atheris found a crash:\n{tail}"
    done = re.search(r"Done (\d+) runs", run.stderr)
    assert done is not None, tail
    return int(done[1])


def test_r10_atheris_smoke(tmp_path: Path) -> None:
    assert _fuzz(5, tmp_path) > 500  # 5 s in make test; the slow tier fuzzes for 10 minutes


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the default 300 s would stop the 10-minute run
def test_r10_atheris_ten_minutes(tmp_path: Path) -> None:
    seconds = int(os.environ.get("MLMON_ATHERIS_SECONDS", "600"))
    t0 = time.monotonic()
    runs = _fuzz(seconds, tmp_path)
    record(
        "R10 atheris", load=f"{seconds} s coverage-guided, decode + validate + count", faults="fuzzed bodies",
        sent=runs, acked=0, lost=0, duplicates=0, five_xx=0, peak_rss_mib=None,
        seconds=time.monotonic() - t0,
    )  # fmt: skip
