"""scripts/install-system-deps: what a machine without the test suite's system programs is told.

Run with a ``PATH`` that holds only the shell tools the script itself uses, as a user who is not root
(``setpriv`` drops root when the suite runs as root), so nothing is installed: it names the missing
packages and the command in one line, exits 0 for a developer, and 1 under CI=true or
MLMON_REQUIRE_SYSTEM=1 or with ``--check``."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import system_tools

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "install-system-deps"
PACKAGES = ("postgresql", "prometheus", "chromium", "curl", "wrk")


@pytest.fixture
def bare_path() -> Iterator[str]:
    """A directory holding only what the script runs besides the programs it looks for (outside the
    per-user pytest temp dir, which the unprivileged user cannot enter)."""
    tools = Path(tempfile.mkdtemp(prefix="mlmon-bare-path-"))
    try:
        tools.chmod(0o755)
        for tool in ("bash", "id", "grep", "cat"):
            found = shutil.which(tool)
            assert found is not None
            (tools / tool).symlink_to(found)
        yield str(tools)
    finally:
        shutil.rmtree(tools)


def _run(bare_path: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(SCRIPT), *args]
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0:
        assert setpriv is not None, "util-linux's setpriv drops root for this test"
        cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/bash", *cmd]
    full_env = {"PATH": bare_path, "HOME": "/nonexistent", **env}
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=60, check=False)


def _no_debian_postgres() -> bool:
    return not list(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def test_developer_is_told_what_to_install_and_goes_on(bare_path: str) -> None:
    done = _run(bare_path)
    assert done.returncode == 0, done.stderr
    line = done.stderr.strip()
    assert line.count("\n") == 0 and "sudo apt-get install -y" in line
    expected = PACKAGES if _no_debian_postgres() else PACKAGES[1:]
    for package in expected:
        assert package in line


@pytest.mark.parametrize("env", [{"CI": "true"}, {"MLMON_REQUIRE_SYSTEM": "1"}])
def test_ci_fails_when_a_program_is_missing(bare_path: str, env: dict[str, str]) -> None:
    done = _run(bare_path, **env)
    assert done.returncode == 1
    assert "missing system packages" in done.stderr and "prometheus" in done.stderr


def test_check_reports_without_installing(bare_path: str) -> None:
    done = _run(bare_path, "--check")
    assert done.returncode == 1 and "wrk" in done.stderr


def test_nothing_to_do_when_everything_is_there() -> None:
    # The suite's own machine: make test ran the script first, so everything is installed (or skipped).
    done = subprocess.run([str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        system_tools.missing(f"this machine lacks some: {done.stderr.strip()}")
    assert done.stdout == "" and done.stderr == ""
