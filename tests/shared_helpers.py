"""Helpers shared across the test directories: a throwaway PostgreSQL server for a session fixture,
the example models the deploy tests train, and the tampered artifacts the artifact tests feed the loaders.

Importable from every test directory because pytest puts ``tests/`` (the directory of the top-level
``conftest.py``) on ``sys.path``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import system_tools
from mlmon.deploy.example import ExampleFiles, train_example

# name -> (kind, seed) of the example models: two forests (other seed: another artifact with similar
# metrics), a logistic regression and a dummy classifier that fails the gates.
EXAMPLES = {
    "forest": ("forest", 0),
    "forest2": ("forest", 1),
    "logistic": ("logistic", 0),
    "dummy": ("dummy", 0),
}


def start_postgres() -> Any:
    """A started throwaway PostgreSQL server (``mlmon.store.testing.TemporaryPostgres``; the caller
    cleans it up). When none can start the test skips, or fails under ``MLMON_REQUIRE_POSTGRES=1``,
    ``CI=true`` or ``MLMON_REQUIRE_SYSTEM=1``."""
    try:
        from mlmon.store.testing import TemporaryPostgres

        return TemporaryPostgres().__enter__()
    except Exception as exc:  # ImportError (no psycopg) or PostgresUnavailable
        reason = f"PostgreSQL server unavailable: {type(exc).__name__}: {exc}"
        if os.environ.get("MLMON_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (MLMON_REQUIRE_POSTGRES=1)")
        system_tools.missing(reason + "; sudo apt-get install -y postgresql")


def temporary_postgres() -> Iterator[Any]:
    """Body of a session fixture: a :func:`start_postgres` server, cleaned up when the session ends.
    Use as ``yield from temporary_postgres()``."""
    server = start_postgres()
    yield server
    server.cleanup()


def train_examples(root: Path, *names: str) -> dict[str, ExampleFiles]:
    """The example models named (keys of ``EXAMPLES``), each trained in its own directory under ``root``."""
    return {
        name: train_example(root / name, kind=EXAMPLES[name][0], seed=EXAMPLES[name][1]) for name in names
    }


class Payload:
    """Unpickling this creates the file at ``path``: the sentinel a safe loader must never create."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.path, "w"))


def rewrite_skops_schema(data: bytes, *replacements: tuple[bytes, bytes, int]) -> bytes:
    """A copy of the skops file ``data`` whose ``schema.json`` has each ``(old, new, count)`` replaced
    (``count`` -1: every occurrence), so an object claims another type: what an attacker would write."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "schema.json":
                for old, new, count in replacements:
                    content = content.replace(old, new, count)
            dst.writestr(item, content)
    return out.getvalue()


def assert_yamllint_clean(*paths: Path) -> None:
    """yamllint --strict with the repository's .yamllint over ``paths`` (files or directories)."""
    config = Path(__file__).resolve().parent.parent / ".yamllint"
    cmd = [sys.executable, "-m", "yamllint", "--strict", "-f", "parsable", "-c", str(config)]
    cmd += map(str, paths)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
