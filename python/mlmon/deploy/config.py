"""What a deploy is told: the TOML config (paths, gates, service URLs) and the secrets (environment only).

Example (``deploy/deploy.toml``)::

    [model]
    name = "breast-cancer"
    artifact = "artifacts/model.skops"    # relative paths are relative to this file
    # version = "7"                        # default: "sha-" + the first 12 hex digits of the sha256

    [data]
    training = "artifacts/train.parquet"
    validation = "artifacts/validation.parquet"
    target = "target"

    [gates]
    minimum = { accuracy = 0.9, roc_auc = 0.95 }   # higher-is-better metrics: absolute floors
    maximum = {}                                   # lower-is-better metrics (rmse, mae): ceilings
    max_regression = 0.02                          # allowed drop against the production version
    tolerance = { roc_auc = 0.01 }                 # per-metric overrides of max_regression

    [services]
    drift_url = "http://127.0.0.1:8000"            # or MLMON_DRIFT_URL; unset: no baseline upload
    serving_url = "http://127.0.0.1:8080"          # or MLMON_SERVING_URL; unset: no push

Secrets are never in this file nor in arguments: ``MLMON_DATABASE_URL``, ``MLMON_ADMIN_TOKEN`` (drift
service), ``MLMON_SERVING_ADMIN_TOKEN`` (production API), ``MLMON_DEPLOY_WEBHOOK_URL`` or else
``MLMON_SLACK_WEBHOOK_URL`` (notifications), ``MLMON_SERVING_ARTIFACT_HMAC_KEY`` (signs the pushed
artifact; the production API loads a pickle or joblib file only if it is signed with its key or listed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import tomllib

from mlmon.deploy.errors import BadInputError

__all__ = [
    "DataConfig",
    "DeployConfig",
    "GatesConfig",
    "HttpConfig",
    "Secrets",
    "ServicesConfig",
    "load_config",
]


class ModelConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The model to deploy."""

    name: str
    artifact: str
    version: str | None = None
    format: str | None = None
    artifact_uri: str | None = None


class DataConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Training and validation tables (CSV or Parquet) and the target column."""

    training: str
    validation: str
    target: str
    categorical: list[str] = []
    exclude: list[str] = []


class GatesConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Quality gates: floors, ceilings and the regression allowed against production."""

    minimum: dict[str, float] = {}
    maximum: dict[str, float] = {}
    max_regression: float = 0.0
    tolerance: dict[str, float] = {}


class ServicesConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Where the drift service and the production API are (no secrets here)."""

    drift_url: str | None = None
    serving_url: str | None = None


class HttpConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Timeouts and retries of every HTTP call."""

    timeout_seconds: float = 10.0
    retries: int = 4
    backoff_seconds: float = 0.5
    live_timeout_seconds: float = 60.0


class DeployConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A whole deploy config; paths are absolute once loaded."""

    model: ModelConfig
    data: DataConfig
    gates: GatesConfig = GatesConfig()
    services: ServicesConfig = ServicesConfig()
    http: HttpConfig = HttpConfig()


class Secrets(msgspec.Struct, frozen=True):
    """Credentials, read from the environment only; :meth:`redact` hides them in any text."""

    database_url: str | None = None
    admin_token: str | None = None
    serving_token: str | None = None
    webhook_url: str | None = None
    artifact_hmac_key: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        """The secrets from ``MLMON_*`` variables (see the module docstring)."""
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("MLMON_DATABASE_URL") or None,
            admin_token=env.get("MLMON_ADMIN_TOKEN") or None,
            serving_token=env.get("MLMON_SERVING_ADMIN_TOKEN") or None,
            webhook_url=env.get("MLMON_DEPLOY_WEBHOOK_URL") or env.get("MLMON_SLACK_WEBHOOK_URL") or None,
            artifact_hmac_key=env.get("MLMON_SERVING_ARTIFACT_HMAC_KEY") or None,
        )

    def _values(self) -> list[str]:
        values = [
            self.database_url,
            self.admin_token,
            self.serving_token,
            self.webhook_url,
            self.artifact_hmac_key,
        ]
        if self.database_url:  # a driver error may quote the password alone
            values.append(urlsplit(self.database_url).password)
        # Longest first, so a URL is hidden whole before its password is looked for.
        return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret value (and the database password alone) replaced by ``***``."""
        for value in self._values():
            text = text.replace(value, "***")
        return text


def _absolute(base: Path, value: str) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def load_config(
    path: str | Path, *, version: str | None = None, environ: Mapping[str, str] | None = None
) -> DeployConfig:
    """Reads the TOML config at ``path``; relative paths are taken from its directory; service URLs
    default to ``MLMON_DRIFT_URL`` / ``MLMON_SERVING_URL``; ``version`` overrides the file's.

    Raises:
        BadInputError: a missing or unreadable file, or a field of the wrong type (named).
    """
    env = os.environ if environ is None else environ
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInputError(f"no such deploy config: {file}") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"cannot read deploy config {file}: {exc}") from exc
    try:
        cfg = msgspec.convert(raw, type=DeployConfig)
    except msgspec.ValidationError as exc:
        raise BadInputError(f"invalid deploy config {file}: {exc}") from exc
    base = file.resolve().parent
    model = msgspec.structs.replace(
        cfg.model, artifact=_absolute(base, cfg.model.artifact), version=version or cfg.model.version
    )
    data = msgspec.structs.replace(
        cfg.data, training=_absolute(base, cfg.data.training), validation=_absolute(base, cfg.data.validation)
    )
    services = ServicesConfig(
        drift_url=cfg.services.drift_url or env.get("MLMON_DRIFT_URL") or None,
        serving_url=cfg.services.serving_url or env.get("MLMON_SERVING_URL") or None,
    )
    return msgspec.structs.replace(cfg, model=model, data=data, services=services)
