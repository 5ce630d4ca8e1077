"""Step 7, notify: a Slack-compatible webhook message (``{"text": ...}``) on success and on failure."""

from __future__ import annotations

from mlmon.deploy.errors import InfrastructureError
from mlmon.deploy.http import RetryingClient

__all__ = ["failure_text", "notify", "success_text"]


def success_text(
    model: str, version: str, sha256: str, metrics: dict[str, float], archived: str | None
) -> str:
    """The message of a successful deploy."""
    figures = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))
    replaced = f"; {archived} archived" if archived else ""
    head = f":white_check_mark: mlmon deploy: {model} {version} ({sha256[:12]}) is in production"
    return f"{head}{replaced}. {figures}"


def failure_text(model: str, version: str | None, step: str, message: str, rolled_back: list[str]) -> str:
    """The message of a failed deploy, naming the failing step."""
    undone = f" Rolled back: {', '.join(rolled_back)}." if rolled_back else ""
    return f":x: mlmon deploy: {model} {version or '?'} failed at step {step}: {message[:500]}.{undone}"


def notify(http: RetryingClient, webhook_url: str, text: str) -> None:
    """Posts the message.

    Raises:
        InfrastructureError: the webhook is unreachable or answers an error.
    """
    response = http.request("POST", webhook_url, what="notification", json={"text": text})
    if response.status_code >= 300:
        raise InfrastructureError(f"the notification webhook answered HTTP {response.status_code}")
