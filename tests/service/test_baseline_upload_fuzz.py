"""Every byte of a sample baseline flipped and uploaded to a live service (issue 17, item 7): each is a
422 naming the corruption and nothing is stored; the intact file is then accepted."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from service_helpers import ADMIN, start_service

import mlmon

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    proc, url = start_service(
        f"sqlite:///{tmp_path / 'svc.db'}", tmp_path / "server.log", MLMON_ADMIN_TOKEN=ADMIN
    )
    yield url
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_every_flipped_byte_is_a_422_and_stores_nothing(server: str) -> None:
    rng = np.random.default_rng(0)
    sample = mlmon.Baseline.fit({"age": rng.normal(40, 9, 200), "plan": rng.choice(["a", "b"], 200)}, bins=3)
    data = sample.to_bytes()
    wrong = []
    with httpx.Client(base_url=server, headers={"authorization": f"Bearer {ADMIN}"}, timeout=30) as c:
        for offset in range(len(data)):
            for mask in (0x01, 0xFF):
                damaged = bytearray(data)
                damaged[offset] ^= mask
                r = c.put("/v1/models/m/versions/v1/baseline", content=bytes(damaged))
                if r.status_code != 422 or "baseline" not in r.json()["detail"]:
                    wrong.append((offset, mask, r.status_code, r.text[:80]))
        assert not wrong, wrong[:10]
        assert c.get("/v1/models/m/versions/v1/baseline").status_code == 404
        assert c.put("/v1/models/m/versions/v1/baseline", content=data).status_code == 200
