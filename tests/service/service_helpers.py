"""Helpers shared by the service tests: tokens, settings and ingest bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from mlmon.service import Settings

ADMIN = "admin-secret"
TOKEN_A = "token-churn"
TOKEN_B = "token-fraud"
MSGPACK = {"content-type": "application/msgpack"}


def make_settings(tmp_path: Path, **kw: Any) -> Settings:
    """Settings on a fresh SQLite file, alerts off unless asked."""
    kw.setdefault("alert_interval_seconds", 0)
    return Settings(database_url=f"sqlite:///{tmp_path / 'mlmon.db'}", **kw)


def body(batch_id: str, rows: int = 100, *, seed: int = 1, raw: bool = True, **extra: Any) -> dict[str, Any]:
    """An ingest body with ``rows`` rows of both features."""
    rng = np.random.default_rng(seed)
    age = rng.normal(45, 9, rows)
    plan = rng.choice(["a", "b", "c", "z"], rows).tolist()
    cols: dict[str, Any] = {
        "age": {"dtype": "<f8", "data": age.tobytes()} if raw else age.tolist(),
        "plan": plan,
    }
    return {"batch_id": batch_id, "columns": cols, **extra}


def mp(value: Any) -> bytes:
    """msgpack bytes."""
    return msgspec.msgpack.encode(value)
