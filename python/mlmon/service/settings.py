"""The service's one settings object: a msgspec Struct read from ``MLMON_*`` environment variables by
:meth:`Settings.from_env` when called (never at import, so tests build ``Settings(...)`` directly).

Environment variables (all optional):

========================================  ==========================================================
``MLMON_DATABASE_URL``                    store URL (default ``sqlite:///./mlmon.db``)
``MLMON_HOST`` / ``MLMON_PORT``           bind address (default ``127.0.0.1:8000``)
``MLMON_WORKERS``                         worker processes (default 1)
``MLMON_INSECURE``                        ``1`` allows no auth on a non-loopback host
``MLMON_ADMIN_TOKEN``                     admin bearer token (or ``sha256:<hex>`` of it)
``MLMON_INGEST_TOKENS``                   ``model=token,other=token2`` (tokens or ``sha256:<hex>``)
``MLMON_PUBLIC_READ``                     ``1``: read endpoints and the dashboard need no token
``MLMON_WINDOW_SECONDS``                  tumbling window size (default 3600)
``MLMON_MAX_BODY_BYTES``                  request body limit (default 16 MiB, 413 beyond)
``MLMON_INFLIGHT_BYTES``                  per-worker budget of bodies in flight (429 beyond)
``MLMON_MAX_ROWS``                        rows per batch (default 1,000,000)
``MLMON_MAX_CATEGORIES``                  distinct labels per column and batch (default 100,000; 422 beyond)
``MLMON_LABEL_SAMPLE``                    share of request ids kept for the label join (default 1.0)
``MLMON_HEADER_TIMEOUT_SECONDS``          time a client has to send a request's headers (default 10; 408)
``MLMON_BODY_TIMEOUT_SECONDS``            time a client has to send a body once headers are in (default 60)
``MLMON_KEEP_ALIVE_SECONDS``              an idle keep-alive connection is closed after (default 5)
``MLMON_MAX_CONNECTIONS``                 open connections per worker; beyond, requests get 503 (default 1000)
``MLMON_MAX_QUEUE``                       batches waiting for a commit per worker (429 beyond)
``MLMON_COMMIT_MAX_BATCHES``              batches per group commit (default 256)
``MLMON_COMPACT_INTERVAL_SECONDS``        seconds between merges of window deltas (default 5; 0 never)
``MLMON_LOG_LEVEL``                       ``DEBUG``/``INFO``/``WARNING``/``ERROR`` (default INFO)
``MLMON_DRAIN_SECONDS``                   after SIGTERM: seconds unready (503) but serving (default 2)
``MLMON_ALERT_INTERVAL_SECONDS``          how often drift is evaluated for alerts (0 = never)
``MLMON_ALERT_COOLDOWN_SECONDS``          one alert per model/feature/severity per cooldown
``MLMON_ALERT_WINDOW``                    ``current`` or ``closed`` window is checked for alerts
``MLMON_WARNING_THRESHOLD``               PSI warning threshold (default 0.2)
``MLMON_CRITICAL_THRESHOLD``              PSI critical threshold (default 0.5)
``MLMON_THRESHOLDS_FILE``                 per-model/per-feature thresholds (TOML or JSON; see thresholds.py)
``MLMON_PERFORMANCE_WARNING_DROP``        accuracy points below the reference for a warning (default 0.05)
``MLMON_PERFORMANCE_CRITICAL_DROP``       ... for a critical alert (default 0.10)
``MLMON_PERFORMANCE_WARNING_RELATIVE``    drop / reference for a warning, accuracy or RMSE (default 0.2)
``MLMON_PERFORMANCE_CRITICAL_RELATIVE``   ... for a critical alert (default 0.5)
``MLMON_PERFORMANCE_MIN_ROWS``            labelled (or estimated) rows before a drop alerts (default 100)
``MLMON_PERFORMANCE_LOOKBACK_SECONDS``    trailing span of the realized check (default 7 days)
``MLMON_WEBHOOK_URL``                     generic JSON webhook
``MLMON_SLACK_WEBHOOK_URL``               Slack-compatible webhook
``MLMON_SMTP_HOST`` / ``MLMON_SMTP_PORT``   SMTP server for e-mail alerts (port default 25)
``MLMON_SMTP_FROM`` / ``MLMON_EMAIL_TO``    sender, and recipients separated by commas
``MLMON_SMTP_USERNAME`` / ``_PASSWORD``     SMTP login (optional); ``MLMON_SMTP_STARTTLS=1`` upgrades to TLS
``MLMON_ALERT_ROUTES``                    sinks per severity, default
                                          ``warning=slack;critical=slack+webhook+email``
``MLMON_RETRAIN_URL``                     called (POST) on a critical alert
``MLMON_WEBHOOK_TIMEOUT_SECONDS``         timeout of each outbound call (webhook, SMTP)
``MLMON_WEBHOOK_RETRIES``                 attempts per sink, with exponential backoff between them
========================================  ==========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Literal

import msgspec

from mlmon.exceptions import InputError
from mlmon.service.thresholds import load_thresholds

__all__ = ["Settings"]

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _routes(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in filter(None, (part.strip() for part in value.split(";"))):
        severity, sep, sinks = item.partition("=")
        if not sep:
            raise InputError("MLMON_ALERT_ROUTES must look like warning=slack;critical=slack+webhook+email")
        out[severity.strip()] = [s.strip() for s in sinks.split("+") if s.strip()]
    return out


def _tokens(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        model, sep, token = item.partition("=")
        if not sep or not model or not token:
            raise InputError("MLMON_INGEST_TOKENS must look like model=token,other=token2")
        out[model.strip()] = token.strip()
    return out


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything the service reads at start; see the module docstring for the variables."""

    database_url: str = "sqlite:///./mlmon.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    insecure: bool = False
    admin_token: str | None = None
    ingest_tokens: dict[str, str] = {}
    public_read: bool = False
    window_seconds: int = 3600
    max_body_bytes: int = 16 * 1024 * 1024
    inflight_bytes: int = 64 * 1024 * 1024
    max_rows: int = 1_000_000
    max_categories: int = 100_000
    label_sample: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0
    header_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=600)] = 10.0
    body_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 60.0
    keep_alive_seconds: Annotated[int, msgspec.Meta(ge=1, le=600)] = 5
    max_connections: Annotated[int, msgspec.Meta(ge=1)] = 1000
    max_queue: int = 4096
    commit_max_batches: int = 256
    compact_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 5.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    drain_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 2.0
    alert_interval_seconds: float = 30.0
    alert_cooldown_seconds: float = 3600.0
    alert_window: Literal["current", "closed"] = "closed"
    warning_threshold: float = 0.2
    critical_threshold: float = 0.5
    thresholds_file: str | None = None
    performance_warning_drop: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = 0.05
    performance_critical_drop: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = 0.10
    performance_warning_relative: Annotated[float, msgspec.Meta(gt=0)] | None = 0.2
    performance_critical_relative: Annotated[float, msgspec.Meta(gt=0)] | None = 0.5
    performance_min_rows: Annotated[int, msgspec.Meta(ge=1)] = 100
    performance_lookback_seconds: Annotated[int, msgspec.Meta(ge=1)] = 7 * 86400
    webhook_url: str | None = None
    slack_webhook_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "mlmon@localhost"
    email_to: list[str] = []
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    alert_routes: dict[Literal["warning", "critical"], list[Literal["slack", "webhook", "email"]]] = (
        msgspec.field(
            default_factory=lambda: {"warning": ["slack"], "critical": ["slack", "webhook", "email"]}
        )
    )
    retrain_url: str | None = None
    webhook_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=60)] = 5.0
    webhook_retries: Annotated[int, msgspec.Meta(ge=1, le=20)] = 5

    @property
    def auth_enabled(self) -> bool:
        """Whether any token is configured (then every write needs one)."""
        return bool(self.admin_token or self.ingest_tokens)

    @property
    def loopback(self) -> bool:
        """Whether the service binds only to the loopback interface."""
        return self.host in _LOOPBACK

    def check_startup(self) -> None:
        """Refuses an unauthenticated service on a non-loopback address unless ``insecure``, and an
        unreadable thresholds file.

        Raises:
            InputError: no token is configured, the host is not loopback and ``insecure`` is off; or the
                thresholds file is bad.
        """
        load_thresholds(self.thresholds_file, self.warning_threshold, self.critical_threshold)
        if not self.auth_enabled and not self.loopback and not self.insecure:
            raise InputError(
                f"refusing to serve {self.host} without authentication: set MLMON_ADMIN_TOKEN and "
                "MLMON_INGEST_TOKENS, bind to 127.0.0.1, or pass --insecure"
            )

    def to_json(self) -> bytes:
        """The settings as JSON (how :func:`mlmon.service.server.serve` hands them to workers)."""
        return msgspec.json.encode(self)

    @classmethod
    def from_json(cls, data: bytes | str) -> Settings:
        """Reads :meth:`to_json` output."""
        return msgspec.json.decode(data, type=cls)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``MLMON_*`` variables, then ``overrides`` (command-line values) on top.

        Args:
            environ: The environment (default ``os.environ``, read now).
            **overrides: Field values that win over the environment (``None`` values are ignored).

        Raises:
            InputError: a variable has an unreadable value.
        """
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in cls.__struct_fields__:
            value = env.get(f"MLMON_{field.upper()}")
            if value is None or value == "":
                continue
            if field == "ingest_tokens":
                raw[field] = _tokens(value)
            elif field == "alert_routes":
                raw[field] = _routes(value)
            elif field == "email_to":
                raw[field] = [a.strip() for a in value.split(",") if a.strip()]
            elif field in {"insecure", "public_read", "smtp_starttls"}:
                raw[field] = _flag(value)
            else:
                raw[field] = value
        raw.update({k: v for k, v in overrides.items() if v is not None})
        try:
            # strict=False lets "8000" from the environment become an int.
            return msgspec.convert(raw, type=cls, strict=False)
        except msgspec.ValidationError as exc:
            raise InputError(f"invalid service setting: {exc}") from exc
