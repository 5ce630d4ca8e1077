"""Step 5, push: send the artifact to the production API (``PUT /admin/model``, bearer token, sha256
checked by the receiver) and wait until ``GET /version`` reports it live."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import httpx

from mlmon.core.artifacts import artifact_signature
from mlmon.deploy.errors import BadInputError, InfrastructureError
from mlmon.deploy.http import RetryingClient
from mlmon.serving.trust import UNTRUSTED_REASON

__all__ = ["live_version", "push_artifact", "wait_live"]

_POLL_SECONDS = 0.2


def push_artifact(
    http: RetryingClient,
    serving_url: str,
    token: str | None,
    *,
    model: str,
    version: str,
    sha256: str,
    fmt: str,
    data: bytes,
    hmac_key: str | None = None,
    outputs: Sequence[str] = (),
) -> dict[str, Any]:
    """Sends the artifact; returns the API's answer (``unchanged: true`` when it was already live).

    ``outputs`` (``X-Model-Outputs``): the output columns the version's baseline records, which the API
    then sends to the drift service with the features; none when the baseline records none.

    With ``hmac_key`` (``MLMON_SERVING_ARTIFACT_HMAC_KEY``) the artifact is signed
    (``X-Model-Signature``): how the production API knows a pickle or joblib file came from this step.

    Raises:
        InfrastructureError: unreachable, 5xx, or the token refused (401/403).
        BadInputError: the API refused the artifact itself (4xx: digest, format, unusable model).
    """
    headers = {
        "content-type": "application/octet-stream",
        "x-model-name": model,
        "x-model-version": version,
        "x-model-sha256": sha256,
        "x-model-format": fmt,
    }
    if token:
        headers["authorization"] = f"Bearer {token}"
    if hmac_key:
        headers["x-model-signature"] = artifact_signature(hmac_key, data)
    if outputs:
        headers["x-model-outputs"] = json.dumps(list(outputs))  # ASCII: non-ASCII names are escaped
    url = f"{serving_url.rstrip('/')}/admin/model"
    response = http.request("PUT", url, what="model push", content=data, headers=headers)
    if response.status_code == 403 and _reason(response) == UNTRUSTED_REASON:
        raise BadInputError(
            f"the production API does not trust this {fmt} artifact (HTTP 403): {response.text[:300]}; "
            "send skops, or have the operator list its sha256 or set MLMON_SERVING_ARTIFACT_HMAC_KEY "
            "on both sides"
        )
    if response.status_code in (401, 403):
        raise InfrastructureError(
            f"the production API refused the push (HTTP {response.status_code}): "
            f"check MLMON_SERVING_ADMIN_TOKEN ({response.text[:200]})"
        )
    if response.status_code != 200:
        raise BadInputError(
            f"the production API refused the model (HTTP {response.status_code}): {response.text[:300]}"
        )
    answer: dict[str, Any] = response.json()
    return answer


def _reason(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("reason") if isinstance(body, dict) else None


def live_version(http: RetryingClient, serving_url: str) -> dict[str, Any] | None:
    """What ``GET /version`` reports, or ``None`` while no model is loaded (503).

    Raises:
        InfrastructureError: unreachable after retries.
    """
    url = f"{serving_url.rstrip('/')}/version"
    response = http.request("GET", url, what="version check", retry_unavailable=False)
    if response.status_code != 200:
        return None
    try:
        answer: dict[str, Any] = response.json()
    except ValueError:
        return None
    return answer


def wait_live(http: RetryingClient, serving_url: str, sha256: str, timeout: float) -> dict[str, Any]:
    """Polls ``GET /version`` until it reports ``sha256``.

    Raises:
        InfrastructureError: not live within ``timeout`` seconds (says what is live instead).
    """
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] | None = None
    while True:
        try:
            seen = live_version(http, serving_url)
        except (InfrastructureError, httpx.HTTPError):
            seen = None
        if seen is not None and seen.get("sha256") == sha256:
            return seen
        if time.monotonic() >= deadline:
            raise InfrastructureError(
                f"the production API did not report sha256 {sha256[:12]}... live within {timeout:g} s "
                f"(live: {seen})"
            )
        time.sleep(_POLL_SECONDS)
