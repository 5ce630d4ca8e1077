"""Which pickle and joblib artifacts the production API loads: only those the operator vouched for.

A matching sha256 proves the bytes are the ones the uploader meant, not that anyone should run them
(unpickling runs code). So, beyond the admin token and the digest check of every upload:

* skops artifacts load with the trusted-type list (:mod:`mlmon.core.artifacts`) and need nothing more;
* pickle and joblib are refused (403) unless the operator set ``MLMON_SERVING_ALLOW_PICKLE=1`` at
  start-up, and then each file must be vouched for by the configuration, not by the request: its
  sha256 is in ``MLMON_SERVING_PICKLE_SHA256`` (reviewed digests), or its ``X-Model-Signature`` is the
  HMAC-SHA256 of the bytes under ``MLMON_SERVING_ARTIFACT_HMAC_KEY``, a key the deploy step holds
  (``mlmon deploy`` signs with the same variable). The check runs before any deserializer, also for the
  artifact restored from ``MLMON_SERVING_MODEL_DIR`` at start-up.
"""

from __future__ import annotations

import hmac

from mlmon.core.artifacts import ArtifactError, artifact_signature
from mlmon.serving.settings import ServingSettings

__all__ = ["UNTRUSTED_REASON", "UntrustedArtifactError", "precheck", "verify"]

UNTRUSTED_REASON = "untrusted_artifact"
"""The ``reason`` of the 403 body for an artifact refused by this rule (not for a bad token)."""


class UntrustedArtifactError(ArtifactError):
    """A pickle or joblib artifact the operator's configuration does not vouch for (403)."""

    @property
    def body_fields(self) -> dict[str, str]:
        """The error body's ``reason``: it tells a deploy step "this file" (bad input) from "your
        token" (both are 403)."""
        return {"reason": UNTRUSTED_REASON}


def precheck(settings: ServingSettings, fmt: str, sha256: str, signature: str | None) -> None:
    """What can be decided before the body is read: the format is allowed, and either the announced
    digest is on the allow-list or a signature is offered (checked by :func:`verify`).

    Raises:
        UntrustedArtifactError: pickle/joblib not enabled, or neither listed nor signed.
    """
    if fmt == "skops":
        return
    if not settings.allow_pickle:
        raise UntrustedArtifactError(
            f"{fmt} artifacts can run code when loaded: this API accepts skops only (the operator can "
            "allow pickle/joblib at start-up with MLMON_SERVING_ALLOW_PICKLE=1 and an allow-list or "
            "HMAC key); send skops"
        )
    if sha256 in settings.pickle_sha256 or (settings.artifact_hmac_key and signature):
        return
    raise UntrustedArtifactError(
        f"{fmt} artifact {sha256[:12]}... is not on MLMON_SERVING_PICKLE_SHA256"
        + (" and carries no X-Model-Signature" if settings.artifact_hmac_key else "")
        + ": refused unloaded"
    )


def verify(settings: ServingSettings, fmt: str, sha256: str, data: bytes, signature: str | None) -> None:
    """The whole rule, once the bytes (whose digest is ``sha256``, already checked) are in.

    Raises:
        UntrustedArtifactError: as :func:`precheck`, or a signature that does not match the bytes.
    """
    precheck(settings, fmt, sha256, signature)
    if fmt == "skops" or sha256 in settings.pickle_sha256:
        return
    assert settings.artifact_hmac_key is not None and signature is not None  # precheck passed
    expected = artifact_signature(settings.artifact_hmac_key, data)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise UntrustedArtifactError(
            f"{fmt} artifact {sha256[:12]}...: X-Model-Signature does not match the bytes under the "
            "configured HMAC key: refused unloaded"
        )
