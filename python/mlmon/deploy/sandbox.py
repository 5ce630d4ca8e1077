"""The model is deserialized and scored in a child process whose environment holds no secret.

A deploy runs with the database URL and the service tokens in its environment. Whatever the artifact's
checks (digest, skops allow-list), the process that deserializes it should have nothing worth
stealing (RELIABILITY.md, model artifacts, defence 5). So the deploy process never deserializes the
model: it reads the bytes, checks them (:func:`mlmon.core.artifacts.check_loadable`), and hands the path
and the verified digest to ``python -m mlmon.deploy.sandbox``, started with an allow-listed
environment. The child loads the model (checking the digest again, so a file swapped in between is
refused), reads the validation set, and returns metrics, importances, parameters, the model's outputs
and its performance reference (:class:`mlmon.performance.Reference` bytes, base64 in the JSON) as JSON.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import msgspec
import numpy as np

from mlmon.core.outputs import MAX_PROBA_CLASSES, output_columns
from mlmon.deploy.config import DataConfig, ModelConfig
from mlmon.deploy.errors import BadInputError, DeployError, InfrastructureError
from mlmon.deploy.importances import feature_importances
from mlmon.deploy.load import load_artifact, load_dataset
from mlmon.deploy.register import json_params
from mlmon.deploy.validate import Scored, score_validation, validation_metrics
from mlmon.exceptions import InputError
from mlmon.performance import Reference

__all__ = ["Evaluation", "child_env", "evaluate", "evaluate_isolated"]

_KEEP = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "LC_ALL",
        "LC_CTYPE",
        "TMPDIR",
        "TEMP",
        "TMP",
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONHASHSEED",
        "PYTHONDONTWRITEBYTECODE",
        "VIRTUAL_ENV",
        "SYSTEMROOT",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
    }
)
_TIMEOUT_SECONDS = 600.0
#: Validation rows whose outputs the child returns at most (quantiles of 100,000 rows are within 0.3%
#: of rank of the whole set's, and the reply stays a few MB).
OUTPUT_ROWS = 100_000


class Evaluation(msgspec.Struct, frozen=True):
    """What the child found: the estimator, its features in order, task, metrics and importances."""

    estimator: str
    features: list[str]
    task: str
    metrics: dict[str, float]
    importances: dict[str, float]
    importances_from: str
    params: dict[str, Any]
    validation_rows: int
    #: The model's outputs on (at most :data:`OUTPUT_ROWS` evenly spaced rows of) the validation set,
    #: as :func:`mlmon.output_columns` names them: the baseline of prediction drift.
    outputs: dict[str, list[Any]] = {}
    #: The model's performance reference on every validation row (:meth:`mlmon.performance.Reference
    #: .to_bytes`), which the baseline carries; ``None`` when it could not be built
    #: (:attr:`performance_skipped` says why).
    performance: bytes | None = None
    performance_skipped: str = ""


class _Request(msgspec.Struct, frozen=True):
    model: ModelConfig
    data: DataConfig
    sha256: str


class _Reply(msgspec.Struct, frozen=True):
    ok: bool
    evaluation: Evaluation | None = None
    exit_code: int = 1
    error: str = ""


def child_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: only the allow-listed variables (paths, locale, thread counts), so no
    token, password or database URL reaches the process that deserializes the model."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k in _KEEP}


def evaluate(model_cfg: ModelConfig, data_cfg: DataConfig, sha256: str) -> Evaluation:
    """Loads the artifact (which must hash to ``sha256``) and scores the validation set, in this
    process: what the child runs."""
    artifact = load_artifact(model_cfg, sha256)
    validation = load_dataset(data_cfg.validation, data_cfg, artifact.model)
    scored = score_validation(artifact.model, validation)  # once, for the metrics and the outputs
    task, metrics = validation_metrics(artifact.model, validation, scored)
    importances, source = feature_importances(artifact.model, validation)
    step = max(1, -(-len(validation.features) // OUTPUT_ROWS))
    classes = getattr(artifact.model, "classes_", None) if task == "classification" else None
    outputs = output_columns(
        np.asarray(scored.predicted)[::step],
        None if scored.proba is None else np.asarray(scored.proba)[::step],
        None if classes is None else np.asarray(classes).tolist(),
    )
    performance, skipped = _reference(task, classes, validation.target, scored)
    return Evaluation(
        outputs={name: column.tolist() for name, column in outputs.items()},
        performance=performance,
        performance_skipped=skipped,
        estimator=type(artifact.model).__name__,
        features=validation.columns,
        task=task,
        metrics=metrics,
        importances=importances,
        importances_from=source,
        params=json_params(artifact.model),
        validation_rows=len(validation.features),
    )


def _reference(task: str, classes: Any, target: Any, scored: Scored) -> tuple[bytes | None, str]:
    """The bytes of the model's performance reference on every validation row (counts are cheap: no
    :data:`OUTPUT_ROWS` bound), or ``None`` and why. A reference that cannot be built (validation labels
    the model never saw, non-finite targets) does not fail the deploy, whose metrics stand: the version
    is then monitored without performance."""
    try:
        if task != "classification":
            return Reference.of_regressor(np.asarray(target), np.asarray(scored.predicted)).to_bytes(), ""
        if classes is None:
            return None, "the classifier has no classes_"
        labels = np.asarray(classes).tolist()
        proba = None if scored.proba is None or len(labels) > MAX_PROBA_CLASSES else scored.proba
        reference = Reference.of_classifier(
            np.asarray(target), np.asarray(scored.predicted), proba, classes=labels
        )
    except InputError as exc:
        return None, str(exc)
    return reference.to_bytes(), ""


def evaluate_isolated(model_cfg: ModelConfig, data_cfg: DataConfig, sha256: str) -> Evaluation:
    """:func:`evaluate` in a child process with :func:`child_env`.

    Raises:
        BadInputError: the child refused the artifact or the data (its message).
        InfrastructureError: the child timed out.
        DeployError: the child crashed (with the end of its stderr).
    """
    request = msgspec.json.encode(_Request(model_cfg, data_cfg, sha256))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mlmon.deploy.sandbox"],
            input=request,
            capture_output=True,
            env=child_env(),
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise InfrastructureError(f"evaluating the model took more than {_TIMEOUT_SECONDS:g} s") from exc
    try:
        reply = msgspec.json.decode(done.stdout.strip().splitlines()[-1], type=_Reply)
    except (IndexError, msgspec.DecodeError, msgspec.ValidationError):
        tail = done.stderr.decode(errors="replace")[-1500:]
        raise DeployError(f"the evaluation process failed (exit {done.returncode}): {tail}") from None
    if reply.ok and reply.evaluation is not None:
        return reply.evaluation
    error: DeployError = BadInputError(reply.error) if reply.exit_code == 4 else DeployError(reply.error)
    raise error


def _main() -> int:
    request = msgspec.json.decode(sys.stdin.buffer.read(), type=_Request)
    try:
        reply = _Reply(ok=True, evaluation=evaluate(request.model, request.data, request.sha256))
    except DeployError as exc:
        reply = _Reply(ok=False, exit_code=exc.exit_code, error=str(exc))
    except Exception as exc:  # reported to the parent, which decides what it means
        reply = _Reply(ok=False, exit_code=1, error=f"{type(exc).__name__}: {exc}")
    sys.stdout.write("\n" + msgspec.json.encode(reply).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
