"""Which pickle/joblib artifacts the production API loads (issue 17, item 10), against live processes:
by default skops only (a pickle with the admin token and its own matching sha256 is a 403 and never
runs); pickle/joblib only when the operator allowed them at start-up and the file is on the configured
sha256 allow-list or carries the HMAC signature of the deploy step's key (``mlmon deploy`` signs).
A start-up that allows pickle with nothing to vouch for the files is refused."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import joblib
import pytest
from service_helpers import free_port, service_env
from serving_helpers import ADMIN, deploy_headers, put_model, start_serving

from mlmon.core.artifacts import artifact_signature
from mlmon.deploy.config import HttpConfig
from mlmon.deploy.errors import BadInputError
from mlmon.deploy.http import RetryingClient
from mlmon.deploy.push import push_artifact
from mlmon.exceptions import InputError
from mlmon.serving.settings import ServingSettings

pytestmark = pytest.mark.e2e

KEY = "k" * 40
OTHER_KEY = "o" * 40


class _Sentinel:
    """Unpickling this writes a file: proof that a deserializer ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


def _joblib(obj: Any) -> bytes:
    buf = io.BytesIO()
    joblib.dump(obj, buf)
    return buf.getvalue()


@pytest.fixture
def evil(tmp_path: Path) -> tuple[bytes, Path]:
    sentinel = tmp_path / "pwned"
    return pickle.dumps(_Sentinel(sentinel)), sentinel


@contextmanager
def _serving(tmp_path: Path, **env: str) -> Iterator[str]:
    proc, url = start_serving(tmp_path / "api.log", MLMON_SERVING_ADMIN_TOKEN=ADMIN, **env)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _signed(url: str, data: bytes, version: str, fmt: str, key: str | None) -> httpx.Response:
    """``PUT /admin/model`` with the admin token, the bytes' own sha256 and, with ``key``, a signature."""
    headers = deploy_headers(data, version, fmt=fmt)
    if key:
        headers["X-Model-Signature"] = artifact_signature(key, data)
    return httpx.put(f"{url}/admin/model", content=data, headers=headers, timeout=60)


def test_default_is_skops_only(
    tmp_path: Path, models: dict[str, Any], artifacts: dict[str, bytes], evil: tuple[bytes, Path]
) -> None:
    payload, sentinel = evil
    with _serving(tmp_path) as url:
        for fmt, data in (("pickle", payload), ("joblib", _joblib(_Sentinel(sentinel))),
                          ("pickle", pickle.dumps(models["v1"]))):  # fmt: skip
            r = put_model(url, data, "v1", fmt=fmt)  # the admin token and the bytes' own sha256
            assert r.status_code == 403 and "skops only" in r.json()["detail"], r.text
        assert put_model(url, artifacts["v1"], "v1").status_code == 200
    assert not sentinel.exists()


def test_allow_list_vouches_for_listed_digests_only(
    tmp_path: Path, models: dict[str, Any], evil: tuple[bytes, Path]
) -> None:
    honest = pickle.dumps(models["v1"])
    payload, sentinel = evil
    reviewed = hashlib.sha256(honest).hexdigest()
    with _serving(tmp_path, MLMON_SERVING_ALLOW_PICKLE="1", MLMON_SERVING_PICKLE_SHA256=reviewed) as url:
        r = put_model(url, payload, "v2", fmt="pickle")
        assert r.status_code == 403 and "not on MLMON_SERVING_PICKLE_SHA256" in r.json()["detail"], r.text
        assert put_model(url, honest, "v1", fmt="pickle").status_code == 200
        assert httpx.get(f"{url}/version").json()["sha256"] == reviewed
    assert not sentinel.exists()


def test_hmac_signature_vouches_and_survives_a_restart(
    tmp_path: Path, models: dict[str, Any], evil: tuple[bytes, Path]
) -> None:
    honest = _joblib(models["v2"])
    payload, sentinel = evil
    env = {"MLMON_SERVING_ALLOW_PICKLE": "1", "MLMON_SERVING_ARTIFACT_HMAC_KEY": KEY,
           "MLMON_SERVING_MODEL_DIR": str(tmp_path / "models")}  # fmt: skip
    with _serving(tmp_path, **env) as url:
        assert _signed(url, honest, "v2", "joblib", None).status_code == 403  # unsigned
        r = _signed(url, honest, "v2", "joblib", OTHER_KEY)  # signed with another key
        assert r.status_code == 403 and "does not match" in r.json()["detail"], r.text
        assert _signed(url, payload, "v3", "pickle", OTHER_KEY).status_code == 403
        # mlmon deploy's push step signs with MLMON_SERVING_ARTIFACT_HMAC_KEY.
        with RetryingClient(HttpConfig(retries=0)) as http:
            common = {"model": "credit", "version": "v2", "fmt": "joblib", "data": honest,
                      "sha256": hashlib.sha256(honest).hexdigest()}  # fmt: skip
            with pytest.raises(BadInputError, match="403"):
                push_artifact(http, url, ADMIN, **common)
            assert push_artifact(http, url, ADMIN, **common, hmac_key=KEY)["version"] == "v2"
    with _serving(tmp_path, **env) as url:  # the signed artifact is restored from the model directory
        assert httpx.get(f"{url}/version").json()["version"] == "v2"
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"MLMON_SERVING_ALLOW_PICKLE": "1"}, "a matching sha256 alone"),
        ({"MLMON_SERVING_ALLOW_PICKLE": "1", "MLMON_SERVING_ARTIFACT_HMAC_KEY": "short"}, "at least 32"),
        ({"MLMON_SERVING_PICKLE_SHA256": "abc"}, "not 64 lowercase hex"),
    ],
)
def test_a_start_that_cannot_vouch_for_pickles_is_refused(env: dict[str, str], needle: str) -> None:
    full = service_env(MLMON_SERVING_ADMIN_TOKEN=ADMIN, **env)
    cmd = [sys.executable, "-m", "mlmon.serving", "--port", str(free_port())]
    done = subprocess.run(cmd, env=full, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and needle in done.stderr, done.stderr[-1000:]


def test_allowing_pickle_needs_the_admin_token() -> None:
    settings = ServingSettings(allow_pickle=True, pickle_sha256=frozenset({"0" * 64}))
    with pytest.raises(InputError, match="needs MLMON_SERVING_ADMIN_TOKEN"):
        settings.check_startup()
