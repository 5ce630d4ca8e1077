"""The reference production API's settings: one msgspec Struct, read from the environment by
:meth:`ServingSettings.from_env` when called (never at import).

Environment variables (all optional):

==========================================  ==========================================================
``MLMON_SERVING_HOST`` / ``_PORT``          bind address (default ``127.0.0.1:8080``)
``MLMON_SERVING_ADMIN_TOKEN``               bearer token of ``PUT /admin/model`` (or ``sha256:<hex>``);
                                            required on a non-loopback host unless ``--insecure``
``MLMON_SERVING_INSECURE``                  ``1`` allows no admin token on a non-loopback host
``MLMON_SERVING_ALLOW_PICKLE``              ``1`` accepts pickle/joblib artifacts (default: skops only);
                                            needs the admin token and one of the next two
``MLMON_SERVING_PICKLE_SHA256``             reviewed sha256 digests of pickle/joblib artifacts, by commas
``MLMON_SERVING_ARTIFACT_HMAC_KEY``         key of the HMAC-SHA256 ``X-Model-Signature`` a pickle/joblib
                                            artifact must carry (the deploy step holds the same key;
                                            at least 32 characters)
``MLMON_SERVING_MODEL_DIR``                 where received artifacts are kept (by sha256); the live
                                            model is reloaded from it at start
``MLMON_SERVING_MAX_ROWS``                  rows per ``/predict`` call (default 10,000)
``MLMON_SERVING_MAX_PREDICT_BYTES``         ``/predict`` body limit (default 16 MiB)
``MLMON_SERVING_MAX_ARTIFACT_BYTES``        ``PUT /admin/model`` body limit (default 512 MiB)
``MLMON_SERVING_HEADER_TIMEOUT_SECONDS``    time to send a request's headers (default 10; 408)
``MLMON_SERVING_BODY_TIMEOUT_SECONDS``      time to send a body once headers are in (default 300)
``MLMON_SERVING_KEEP_ALIVE_SECONDS``        idle keep-alive connections close after (default 5)
``MLMON_SERVING_MAX_CONNECTIONS``           open connections; beyond, requests get 503 (default 1000)
``MLMON_SERVING_LOG_LEVEL``                 ``DEBUG``/``INFO``/``WARNING``/``ERROR`` (default INFO)
``MLMON_DRIFT_URL``                         drift service the scored features are sent to (unset: none)
``MLMON_DRIFT_TOKEN``                       that service's ingest token for the model
==========================================  ==========================================================
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from mlmon.exceptions import InputError

__all__ = ["ServingSettings"]

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_SHARED = {"drift_url": "MLMON_DRIFT_URL", "drift_token": "MLMON_DRIFT_TOKEN"}
_MIN_KEY = 32
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ServingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the production API reads at start; see the module docstring for the variables."""

    host: str = "127.0.0.1"
    port: int = 8080
    admin_token: str | None = None
    insecure: bool = False
    allow_pickle: bool = False
    pickle_sha256: frozenset[str] = frozenset()
    artifact_hmac_key: str | None = None
    model_dir: str | None = None
    max_rows: int = 10_000
    max_predict_bytes: int = 16 * 1024 * 1024
    max_artifact_bytes: int = 512 * 1024 * 1024
    header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    # A 512 MiB artifact needs time on a slow link; /predict bodies are small.
    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 300.0
    keep_alive_seconds: Annotated[int, msgspec.Meta(ge=1, le=600)] = 5
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 1000
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    drift_url: str | None = None
    drift_token: str | None = None
    drift_batch_rows: int = 1000
    drift_flush_interval: float = 1.0

    @property
    def loopback(self) -> bool:
        """Whether the API binds only to the loopback interface."""
        return self.host in _LOOPBACK

    def check_startup(self) -> None:
        """Refuses to accept models unauthenticated on a non-loopback address unless ``insecure``, and
        pickle/joblib without the admin token and a way to vouch for each file.

        Raises:
            InputError: no admin token, a non-loopback host and ``insecure`` off; or
                ``allow_pickle`` without the admin token, or with neither an allow-list nor an HMAC
                key, or a short key or malformed digest.
        """
        if not self.admin_token and not self.loopback and not self.insecure:
            raise InputError(
                f"refusing to serve {self.host} without an admin token: set MLMON_SERVING_ADMIN_TOKEN, "
                "bind to 127.0.0.1, or pass --insecure"
            )
        if self.artifact_hmac_key is not None and len(self.artifact_hmac_key) < _MIN_KEY:
            raise InputError(f"MLMON_SERVING_ARTIFACT_HMAC_KEY must be at least {_MIN_KEY} characters")
        bad = sorted(d for d in self.pickle_sha256 if not _HEX64.match(d))
        if bad:
            raise InputError(f"MLMON_SERVING_PICKLE_SHA256 holds {bad[0][:70]!r}, not 64 lowercase hex")
        if not self.allow_pickle:
            return
        if not self.admin_token:
            raise InputError("MLMON_SERVING_ALLOW_PICKLE needs MLMON_SERVING_ADMIN_TOKEN")
        if not self.pickle_sha256 and not self.artifact_hmac_key:
            raise InputError(
                "MLMON_SERVING_ALLOW_PICKLE needs MLMON_SERVING_PICKLE_SHA256 (the reviewed digests) or "
                "MLMON_SERVING_ARTIFACT_HMAC_KEY (the deploy step signs with it): a matching sha256 alone "
                "does not make a pickle safe to load"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ServingSettings:
        """Settings from the environment, then ``overrides`` (command-line values, ``None`` ignored).

        Raises:
            InputError: a variable has an unreadable value.
        """
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in cls.__struct_fields__:
            value = env.get(_SHARED.get(field, f"MLMON_SERVING_{field.upper()}"))
            if value is None or value == "":
                continue
            if field in {"insecure", "allow_pickle"}:
                raw[field] = value.strip().lower() in {"1", "true", "yes", "on"}
            elif field == "pickle_sha256":
                raw[field] = [d.strip().lower() for d in value.split(",") if d.strip()]
            else:
                raw[field] = value
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return msgspec.convert(raw, type=cls, strict=False)
        except msgspec.ValidationError as exc:
            raise InputError(f"invalid serving setting: {exc}") from exc
