"""S7 startup: ``mlmon serve`` refuses a non-loopback address without tokens (exit 2, naming the fix),
from the command line and from ``MLMON_HOST``; tokens or ``--insecure`` lift the refusal. Only the
refusals start a real process: the suite binds nothing but loopback addresses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from service_helpers import free_port, service_env

from mlmon.exceptions import InputError
from mlmon.service.settings import Settings

MLMON = str(Path(sys.executable).with_name("mlmon"))  # the console script installed with the package


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.1.2.3", "example.com"])
def test_serve_refuses_public_host_without_tokens(host: str) -> None:
    cmd = [MLMON, "serve", "--host", host, "--port", str(free_port())]
    done = subprocess.run(cmd, env=service_env(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    assert "refusing to serve" in done.stderr and "--insecure" in done.stderr


def test_public_host_from_the_environment_is_refused_too() -> None:
    cmd = [MLMON, "serve", "--port", str(free_port())]
    env = service_env(MLMON_HOST="0.0.0.0")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "refusing to serve 0.0.0.0" in done.stderr, done.stderr[-500:]


def test_tokens_or_insecure_allow_a_public_host() -> None:
    with pytest.raises(InputError, match="without authentication"):
        Settings(host="0.0.0.0").check_startup()
    Settings(host="0.0.0.0", admin_token="a", ingest_tokens={"m": "t"}).check_startup()
    Settings(host="0.0.0.0", insecure=True).check_startup()
    Settings(host="127.0.0.1").check_startup()
