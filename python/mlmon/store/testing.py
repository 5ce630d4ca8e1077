"""A throwaway PostgreSQL server for tests and benchmarks, from the distribution's binaries.

``initdb`` refuses to run as root, so as root the server runs as the ``postgres`` system user in a
temporary directory it owns. Used by ``tests/store`` and ``benches/bench_store.py``; the service tests
can use it too.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from mlmon.core._compat import require
from mlmon.exceptions import MlmonError

__all__ = ["PostgresUnavailable", "TemporaryPostgres", "find_postgres_bin"]


class PostgresUnavailable(MlmonError, RuntimeError):  # noqa: N818 (reads as a state, like FileNotFoundError's peers)
    """No PostgreSQL binaries, or the server would not start."""


def find_postgres_bin() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl`` (``PATH``, then Debian's versioned dirs).

    Raises:
        PostgresUnavailable: none found.
    """
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise PostgresUnavailable("initdb not found (Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TemporaryPostgres:
    """Starts a private server on a free loopback port; stops it and deletes its files on exit.

    Args:
        durable: Keep ``fsync`` on (benchmarks). Tests turn it off: a killed server still keeps every
            commit (the WAL is in the OS cache), only a power cut would lose it.
    """

    def __init__(self, *, durable: bool = False) -> None:
        self.bin = find_postgres_bin()
        self.durable = durable
        self.port = _free_port()
        self._tmp = Path(tempfile.mkdtemp(prefix="mlmon-pg-"))
        self.datadir = self._tmp / "data"
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        """URL of the ``postgres`` database as the superuser."""
        return self.url_for("postgres")

    def url_for(self, dbname: str) -> str:
        """URL of another database on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if check and result.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout}"
            )
        return result

    def start(self) -> TemporaryPostgres:
        """initdb (first time) and start the server."""
        if self._as_postgres:
            shutil.chown(self._tmp, "postgres", "postgres")
        if not self.datadir.exists():
            self._cmd(
                str(self.bin / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
            )
        options = f"-p {self.port} -k {self._tmp} -c listen_addresses=127.0.0.1 -c max_connections=60"
        if not self.durable:
            options += " -c fsync=off -c full_page_writes=off"
        log = str(self._tmp / "server.log")
        self._cmd(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-o",
            options,
            "-l",
            log,
            "-w",
            "-t",
            "30",
            "start",
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stops the server (``mode="immediate"`` is a crash: recovery replays the WAL at next start)."""
        self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        """Creates a database and returns its URL."""
        psycopg = require("psycopg", "store-postgres")  # optional dependency, only needed here

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())  # test-controlled name
        return self.url_for(name)

    def cleanup(self) -> None:
        """Stops the server and removes its directory."""
        self.stop("immediate")
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        try:
            return self.start()
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.cleanup()
