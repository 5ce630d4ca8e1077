"""Step 4, baseline: fit the drift baseline on the training data with the model's feature importances,
and on the model's outputs for the validation set (prediction drift), with the model's performance
reference on that set (realized performance once labels arrive, CBPE before), then upload it to the drift
service (``PUT /v1/models/{m}/versions/{v}/baseline``, admin token)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from mlmon.core.baseline import Baseline
from mlmon.core.outputs import PREDICTION
from mlmon.deploy.errors import BadInputError, InfrastructureError
from mlmon.deploy.http import RetryingClient
from mlmon.deploy.load import Dataset
from mlmon.deploy.sandbox import Evaluation
from mlmon.exceptions import MlmonError

__all__ = ["StoredBaseline", "fit_baseline", "stored_baseline", "upload_baseline"]


def fit_baseline(
    training: Dataset,
    importances: dict[str, float],
    evaluation: Evaluation,
    *,
    model: str,
    version: str,
    categorical: list[str],
) -> Baseline:
    """The baseline of the model's input features, fitted on the training set, and of its outputs,
    fitted on what it answered for the validation set, carrying its performance reference on that set
    (``evaluation.performance``) when there is one.

    Raises:
        BadInputError: a column mlmon cannot profile, or an input named like an output (named by the
            library's error).
    """
    data = {name: training.features[name].to_numpy() for name in training.columns}
    try:
        inputs = Baseline.fit(
            data,
            # An empty config list means "not given" here: type features by dtype.
            categorical=[c for c in categorical if c in data] or None,
            feature_importance=importances,
            model=model,
            version=version,
        )
    except MlmonError as exc:
        raise BadInputError(f"cannot fit the baseline on the training data: {exc}") from exc
    if evaluation.performance is not None:
        inputs = inputs.with_performance(evaluation.performance)
    if not evaluation.outputs:
        return inputs
    outputs = {name: np.asarray(values) for name, values in evaluation.outputs.items()}
    # A classifier's prediction is its class whatever the labels' type (integers too).
    labels = [PREDICTION] if evaluation.task == "classification" else None
    try:
        return inputs.with_outputs(outputs, categorical=labels)
    except MlmonError as exc:
        raise BadInputError(f"cannot fit the model's outputs on the validation set: {exc}") from exc


class StoredBaseline(NamedTuple):
    """What the deploy needs of a version's stored baseline."""

    sha256: str | None
    #: Its output columns (empty when it is not a baseline this mlmon reads).
    outputs: tuple[str, ...]
    #: Whether it carries a performance reference.
    performance: bool


def _headers(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def _url(drift_url: str, model: str, version: str) -> str:
    return f"{drift_url.rstrip('/')}/v1/models/{model}/versions/{version}/baseline"


def stored_baseline(
    http: RetryingClient, drift_url: str, token: str | None, model: str, version: str
) -> StoredBaseline | None:
    """The sha256, output columns and whether it carries a performance reference, of the baseline the
    service already holds for this version, if any: a version keeps its first baseline (its counts are
    binned on it), so a re-run of the same deploy keeps it too, reference or not (the service refuses
    another baseline for the version; a version deployed before references existed has none).

    Raises:
        InfrastructureError: unreachable, or the token refused.
    """
    url = _url(drift_url, model, version)
    response = http.request("GET", url, what="baseline lookup", headers=_headers(token))
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise InfrastructureError(
            f"baseline lookup answered HTTP {response.status_code}: {response.text[:300]}"
        )
    sha: str | None = response.headers.get("x-baseline-sha256")
    try:
        stored = Baseline.from_bytes(response.content)
    except MlmonError:  # not a baseline this mlmon reads: its outputs are unknown, so none are sent
        return StoredBaseline(sha, (), False)
    return StoredBaseline(sha, stored.outputs, stored.performance is not None)


def upload_baseline(
    http: RetryingClient, drift_url: str, token: str | None, model: str, version: str, baseline: Baseline
) -> dict[str, Any]:
    """Uploads the baseline; the same bytes again are a no-op on the service. Returns its answer.

    Raises:
        InfrastructureError: unreachable, refused (401/403: the token), or another baseline is stored
            for this version (409).
    """
    headers = {"content-type": "application/octet-stream", **_headers(token)}
    url = _url(drift_url, model, version)
    response = http.request("PUT", url, what="baseline upload", content=baseline.to_bytes(), headers=headers)
    if response.status_code in (401, 403):
        raise InfrastructureError(
            f"the drift service refused the baseline upload (HTTP {response.status_code}): "
            "check MLMON_ADMIN_TOKEN"
        )
    if response.status_code != 200:
        raise InfrastructureError(
            f"baseline upload answered HTTP {response.status_code}: {response.text[:300]}"
        )
    answer: dict[str, Any] = response.json()
    return answer
