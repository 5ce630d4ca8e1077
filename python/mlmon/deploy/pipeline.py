"""The deploy pipeline: load, validate, gates, register, baseline, push, promote, notify.

Each step writes one JSON line; the run ends with a summary line. A step failing after registration
undoes what the run changed, newest first (the model pushed to the production API, the stage), notifies
the failure with the failing step, and the exit code tells the class of failure (gate 2,
infrastructure 3, bad input 4). A run for the artifact already in production and live is a no-op.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

import httpx
import msgspec

from mlmon.core.artifacts import detect_format, sha256_bytes
from mlmon.deploy import baseline as baseline_step
from mlmon.deploy import push as push_step
from mlmon.deploy.config import DeployConfig, Secrets
from mlmon.deploy.errors import BadInputError, DeployError, InfrastructureError
from mlmon.deploy.events import EventLog, StepRecord
from mlmon.deploy.gates import GateResult, check_gates, evaluate_gates
from mlmon.deploy.http import RetryingClient
from mlmon.deploy.load import Artifact, Dataset, load_dataset, read_artifact
from mlmon.deploy.notify import failure_text, notify, success_text
from mlmon.deploy.register import feature_schema, git_sha, register
from mlmon.deploy.sandbox import Evaluation, evaluate_isolated
from mlmon.exceptions import MlmonError
from mlmon.store import (
    ModelVersion,
    NotFoundError,
    SchemaVersionError,
    Store,
    StoreUnavailableError,
    database_url_from_env,
    open_store,
)

__all__ = ["DeployResult", "classify", "run_deploy"]

_T = TypeVar("_T")


class DeployResult(msgspec.Struct):
    """The outcome: ``deployed``, ``noop``, ``dry-run`` or ``failed``, with the exit code."""

    status: str
    exit_code: int
    model: str
    version: str | None = None
    sha256: str | None = None
    metrics: dict[str, float] = {}
    gates: list[GateResult] = []
    failed_step: str | None = None
    error: str | None = None
    rolled_back: list[str] = []
    archived: str | None = None
    steps: list[StepRecord] = []


def classify(exc: BaseException) -> DeployError:
    """The deploy error an exception stands for: database and HTTP trouble are infrastructure (3),
    other mlmon errors (conflicts, names, codecs) are bad input (4); a bug stays exit 1."""
    if isinstance(exc, DeployError):
        return exc
    if isinstance(exc, (StoreUnavailableError, SchemaVersionError, httpx.HTTPError, ConnectionError)):
        error: DeployError = InfrastructureError(str(exc) or type(exc).__name__)
    elif isinstance(exc, (MlmonError, ValueError)):
        error = BadInputError(str(exc))
    else:
        error = DeployError(f"internal error: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


class _Run:
    """One deploy run: the state the steps share and the undo actions registered on the way."""

    def __init__(self, cfg: DeployConfig, secrets: Secrets, log: EventLog) -> None:
        self.cfg, self.secrets, self.log = cfg, secrets, log
        self.http = RetryingClient(cfg.http)
        self.store: Store | None = None
        self.undo: list[tuple[str, Callable[[], None]]] = []
        self.result = DeployResult(status="failed", exit_code=1, model=cfg.model.name)
        # The output columns of the version's baseline, which the production API then records.
        self.outputs: tuple[str, ...] = ()

    def step(self, name: str, fn: Callable[[], tuple[_T, dict[str, Any]]]) -> _T:
        started = time.monotonic()
        try:
            value, detail = fn()
        except BaseException as exc:
            error = classify(exc)
            error.step = name
            self.log.step(name, "failed", started, error=str(error), exit_code=error.exit_code)
            raise error from exc
        self.log.step(name, "ok", started, **detail)
        return value

    def skip(self, name: str, why: str) -> None:
        self.log.step(name, "skipped", time.monotonic(), reason=why)

    # --- steps -------------------------------------------------------------------------------------
    def load(self, sha256: str | None) -> tuple[tuple[Artifact, Dataset, Evaluation], dict[str, Any]]:
        artifact = read_artifact(self.cfg.model, sha256)  # checked here, deserialized only in the child
        evaluation = evaluate_isolated(self.cfg.model, self.cfg.data, artifact.sha256)
        training = load_dataset(self.cfg.data.training, self.cfg.data, features=evaluation.features)
        self.result.sha256 = artifact.sha256
        self.result.version = self.cfg.model.version or f"sha-{artifact.sha256[:12]}"
        detail = {
            "artifact": artifact.path.name,
            "format": artifact.fmt,
            "sha256": artifact.sha256,
            "estimator": evaluation.estimator,
            "version": self.result.version,
            "training_rows": len(training.features),
            "validation_rows": evaluation.validation_rows,
            "loaded_in": "a child process without secrets",
        }
        return (artifact, training, evaluation), detail

    def open_store(self, dry_run: bool) -> None:
        if dry_run and not self.secrets.database_url:
            return  # a dry run without a registry (CI's validate job): no regression gate, no file made
        url = self.secrets.database_url or database_url_from_env()
        try:
            self.store = open_store(url, upgrade=not dry_run)
        except SchemaVersionError:
            if not dry_run:
                raise
            self.store = None  # a dry run against an empty database: there is no production version

    def production(self) -> ModelVersion | None:
        if self.store is None:
            return None
        try:
            return self.store.production_version(self.cfg.model.name)
        except NotFoundError:
            return None

    def check_version_free(self, sha256: str) -> None:
        if self.store is None or self.result.version is None:
            return
        try:
            stored = self.store.get_version(self.cfg.model.name, self.result.version)
        except NotFoundError:
            return
        if stored.artifact_sha256 not in (None, sha256):
            raise BadInputError(
                f"version {self.result.version!r} of {self.cfg.model.name!r} is registered with another "
                f"artifact (sha256 {stored.artifact_sha256}); give this one a new version"
            )

    def already_live(self, production: ModelVersion | None, sha256: str) -> bool:
        if production is None or production.artifact_sha256 != sha256:
            return False
        url = self.cfg.services.serving_url
        if url is None:
            return True
        live = push_step.live_version(self.http, url)
        return live is not None and live.get("sha256") == sha256

    def validate(self, evaluation: Evaluation) -> tuple[dict[str, float], dict[str, Any]]:
        # scored in the sandbox child during load; this step reports and records the figures
        self.result.metrics = evaluation.metrics
        return evaluation.metrics, {"task": evaluation.task, "metrics": evaluation.metrics}

    def gates(
        self, metrics: dict[str, float], production: ModelVersion | None
    ) -> tuple[None, dict[str, Any]]:
        results = evaluate_gates(self.cfg.gates, metrics, production.metrics if production else None)
        self.result.gates = results
        detail = {
            "against": production.version if production else None,
            "gates": [msgspec.to_builtins(r) for r in results],
        }
        check_gates(results)
        return None, detail

    # --- steps that change something (each registers its undo) ---------------------------------------
    def register(
        self, artifact: Artifact, training: Dataset, evaluation: Evaluation
    ) -> tuple[dict[str, float], dict[str, Any]]:
        assert self.store is not None and self.result.version is not None
        store, name, version = self.store, self.cfg.model.name, self.result.version
        importances, source = evaluation.importances, evaluation.importances_from
        stored, before = register(
            store,
            name,
            version,
            artifact,
            metrics=evaluation.metrics,
            params=evaluation.params,
            schema=feature_schema(training, self.cfg.data.target),
            importances=importances,
            artifact_uri=self.cfg.model.artifact_uri or artifact.uri,
            commit=git_sha(),
        )
        if before != stored.stage:
            self.undo.append(
                (f"stage {stored.stage} -> {before}", lambda: _set_stage(store, name, version, before))
            )
        detail = {
            "stage": stored.stage,
            "git_sha": stored.git_sha,
            "importances_from": source,
            "artifact_uri": stored.artifact_uri,
        }
        return importances, detail

    def baseline(
        self, training: Dataset, importances: dict[str, float], evaluation: Evaluation
    ) -> tuple[None, dict[str, Any]]:
        assert self.result.version is not None and self.cfg.services.drift_url is not None
        kept = baseline_step.stored_baseline(
            self.http,
            self.cfg.services.drift_url,
            self.secrets.admin_token,
            self.cfg.model.name,
            self.result.version,
        )
        if kept is not None:
            self.outputs = kept.outputs
            return None, {
                "baseline_sha256": kept.sha256,
                "kept": True,
                "outputs": list(self.outputs),
                "performance": kept.performance,
            }
        fitted = baseline_step.fit_baseline(
            training,
            importances,
            evaluation,
            model=self.cfg.model.name,
            version=self.result.version,
            categorical=self.cfg.data.categorical,
        )
        answer = baseline_step.upload_baseline(
            self.http,
            self.cfg.services.drift_url,
            self.secrets.admin_token,
            self.cfg.model.name,
            self.result.version,
            fitted,
        )
        self.outputs = fitted.outputs
        detail: dict[str, Any] = {
            "baseline_sha256": answer.get("sha256"),
            "features": len(fitted.inputs),
            "outputs": list(fitted.outputs),
            "performance": fitted.performance is not None,
        }
        if evaluation.performance_skipped:
            detail["performance_skipped"] = evaluation.performance_skipped
        return None, detail

    def push(self, artifact: Artifact) -> tuple[None, dict[str, Any]]:
        url = self.cfg.services.serving_url
        assert url is not None and self.result.version is not None
        previous = push_step.live_version(self.http, url)
        answer = push_step.push_artifact(
            self.http,
            url,
            self.secrets.serving_token,
            model=self.cfg.model.name,
            version=self.result.version,
            sha256=artifact.sha256,
            fmt=artifact.fmt,
            data=artifact.data,
            hmac_key=self.secrets.artifact_hmac_key,
            outputs=self.outputs,
        )
        if previous is not None and previous.get("sha256") != artifact.sha256:
            self.undo.append(
                (f"production API back to {previous.get('version')}", lambda: self._restore(previous))
            )
        live = push_step.wait_live(self.http, url, artifact.sha256, self.cfg.http.live_timeout_seconds)
        return None, {"live_version": live.get("version"), "unchanged": bool(answer.get("unchanged"))}

    def _restore(self, previous: dict[str, Any]) -> None:
        """Pushes back the model that was live before this run, from its registered artifact."""
        assert self.store is not None and self.cfg.services.serving_url is not None
        stored = self.store.get_version(str(previous.get("model")), str(previous.get("version")))
        uri = stored.artifact_uri or ""
        if not uri.startswith("file://"):
            raise InfrastructureError(f"cannot fetch the previous artifact from {uri!r}")
        path = Path(httpx.URL(uri).path)
        data = path.read_bytes()
        if sha256_bytes(data) != stored.artifact_sha256:
            raise InfrastructureError(f"the previous artifact {path.name} changed since it was registered")
        push_step.push_artifact(
            self.http,
            self.cfg.services.serving_url,
            self.secrets.serving_token,
            model=stored.model,
            version=stored.version,
            sha256=sha256_bytes(data),
            fmt=detect_format(path),
            data=data,
            hmac_key=self.secrets.artifact_hmac_key,
        )

    def promote(self) -> tuple[None, dict[str, Any]]:
        assert self.store is not None and self.result.version is not None
        before = self.production()
        promoted = self.store.promote(self.cfg.model.name, self.result.version)
        self.result.archived = before.version if before and before.version != promoted.version else None
        return None, {"stage": promoted.stage, "archived": self.result.archived}

    def rollback(self) -> None:
        """Runs the undo actions, newest first; one failing does not stop the others."""
        for label, action in reversed(self.undo):
            started = time.monotonic()
            try:
                action()
            except Exception as exc:
                self.log.step("rollback", "failed", started, action=label, error=str(exc))
            else:
                self.result.rolled_back.append(label)
                self.log.step("rollback", "ok", started, action=label)
        self.undo.clear()

    def notify(self, text: str) -> None:
        if not self.secrets.webhook_url:
            self.skip("notify", "no MLMON_DEPLOY_WEBHOOK_URL or MLMON_SLACK_WEBHOOK_URL")
            return
        started = time.monotonic()
        try:
            notify(self.http, self.secrets.webhook_url, text)
        except Exception as exc:  # the deploy's outcome stands; a lost notification is logged
            self.log.step("notify", "failed", started, error=str(exc))
        else:
            self.log.step("notify", "ok", started)

    def close(self) -> None:
        self.http.close()
        if self.store is not None:
            self.store.close()


def _set_stage(store: Store, model: str, version: str, stage: Any) -> None:
    store.set_stage(model, version, stage)


def _plan(run: _Run, production: ModelVersion | None) -> dict[str, Any]:
    services = run.cfg.services
    return {
        "register": f"{run.cfg.model.name} {run.result.version} at stage staging",
        "baseline": f"upload to {services.drift_url}" if services.drift_url else "skipped (no drift_url)",
        "push": f"to {services.serving_url}" if services.serving_url else "skipped (no serving_url)",
        "promote": "to production" + (f", archiving {production.version}" if production else ""),
        "notify": "webhook" if run.secrets.webhook_url else "skipped (no webhook URL)",
    }


def _execute(run: _Run, sha256: str | None, dry_run: bool) -> None:
    artifact, training, evaluation = run.step("load", lambda: run.load(sha256))

    def preflight() -> tuple[ModelVersion | None, dict[str, Any]]:
        run.open_store(dry_run)
        run.check_version_free(artifact.sha256)
        production = run.production()
        registry = "none configured: no regression gate" if run.store is None else "ok"
        return production, {"production": production.version if production else None, "registry": registry}

    production = run.step("preflight", preflight)
    if not dry_run and run.already_live(production, artifact.sha256):
        assert production is not None
        run.result.version = production.version
        run.result.status, run.result.exit_code = "noop", 0
        run.log.emit(
            "noop",
            message=f"{artifact.sha256[:12]} is already {run.cfg.model.name} "
            f"{production.version} in production and live: nothing to do",
        )
        return
    metrics = run.step("validate", lambda: run.validate(evaluation))
    run.step("gates", lambda: run.gates(metrics, production))
    if dry_run:
        run.log.emit("plan", dry_run=True, **_plan(run, production))
        run.result.status, run.result.exit_code = "dry-run", 0
        return
    importances = run.step("register", lambda: run.register(artifact, training, evaluation))
    if run.cfg.services.drift_url:
        run.step("baseline", lambda: run.baseline(training, importances, evaluation))
    else:
        run.skip("baseline", "no drift_url configured")
    if run.cfg.services.serving_url:
        run.step("push", lambda: run.push(artifact))
    else:
        run.skip("push", "no serving_url configured")
    run.step("promote", run.promote)
    run.result.status, run.result.exit_code = "deployed", 0
    assert run.result.version is not None
    run.notify(
        success_text(run.cfg.model.name, run.result.version, artifact.sha256, metrics, run.result.archived)
    )


def run_deploy(
    cfg: DeployConfig,
    secrets: Secrets,
    *,
    sha256: str | None = None,
    dry_run: bool = False,
    stream: TextIO | None = None,
) -> DeployResult:
    """Runs a deploy and returns its outcome (never raises for a deploy failure: see ``exit_code``).

    Args:
        cfg: The deploy config.
        secrets: Credentials (from :meth:`Secrets.from_env`).
        sha256: The digest the artifact must have (required for pickle/joblib).
        dry_run: Run load, validate and gates, then print the plan.
        stream: Where the JSON lines go (stdout by default).
    """
    log = EventLog(secrets.redact, stream)
    run = _Run(cfg, secrets, log)
    log.emit("start", model=cfg.model.name, artifact=Path(cfg.model.artifact).name, dry_run=dry_run)
    try:
        _execute(run, sha256, dry_run)
    except DeployError as exc:
        run.result.status, run.result.exit_code = "failed", exc.exit_code
        run.result.failed_step, run.result.error = exc.step, secrets.redact(str(exc))
        run.rollback()
        if not dry_run:
            text = failure_text(
                cfg.model.name, run.result.version, exc.step or "?", str(exc), run.result.rolled_back
            )
            run.notify(secrets.redact(text))
    finally:
        run.close()
    run.result.steps = log.steps
    summary = msgspec.to_builtins(run.result)
    summary.pop("steps")
    summary["steps"] = {s.step: s.status for s in log.steps}
    log.emit("summary", **summary)
    return run.result
