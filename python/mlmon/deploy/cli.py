"""``mlmon deploy``: arguments and runner, so the main CLI wires it in two lines."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mlmon.deploy.config import Secrets, load_config
from mlmon.deploy.errors import DeployError

if TYPE_CHECKING:
    from mlmon.deploy.pipeline import DeployResult

__all__ = ["add_deploy_arguments", "human_summary", "run_deploy_command"]


def add_deploy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--config`` (TOML), ``--version``, ``--sha256``, ``--dry-run``. Secrets come only from the
    environment (MLMON_DATABASE_URL, MLMON_ADMIN_TOKEN, MLMON_SERVING_ADMIN_TOKEN, MLMON_DEPLOY_WEBHOOK_URL
    or MLMON_SLACK_WEBHOOK_URL), so they never land in a CI log through the command line."""
    parser.add_argument("--config", "-c", required=True, help="deploy config (TOML), e.g. deploy/deploy.toml")
    parser.add_argument("--version", dest="model_version", help="version to register (overrides the config)")
    parser.add_argument(
        "--sha256", help="the artifact's expected sha256 (required for pickle/joblib, checked before loading)"
    )
    parser.add_argument("--dry-run", action="store_true", help="validate, check gates, print the plan")
    parser.set_defaults(func=run_deploy_command)


def human_summary(result: DeployResult) -> str:
    """One line for people reading the CI log (the JSON lines are for machines)."""
    who = f"{result.model} {result.version or ''}".strip()
    if result.status == "failed":
        undone = f"; rolled back: {', '.join(result.rolled_back)}" if result.rolled_back else ""
        where = f"at {result.failed_step} (exit {result.exit_code})"
        return f"mlmon deploy: FAILED {where}: {result.error}{undone}"
    if result.status == "noop":
        return f"mlmon deploy: {who} is already in production and live; nothing to do"
    if result.status == "dry-run":
        return f"mlmon deploy: dry run of {who}: gates passed; nothing was changed"
    archived = f" ({result.archived} archived)" if result.archived else ""
    return f"mlmon deploy: {who} is in production{archived}"


def run_deploy_command(args: argparse.Namespace) -> int:
    """Runs ``mlmon deploy``; returns 0, 2 (gate), 3 (infrastructure) or 4 (bad input)."""
    secrets = Secrets.from_env()
    try:
        cfg = load_config(args.config, version=args.model_version)
    except DeployError as exc:
        print(f"mlmon deploy: {secrets.redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    from mlmon.deploy.pipeline import run_deploy  # httpx and the store: only when deploying

    result = run_deploy(cfg, secrets, sha256=args.sha256, dry_run=args.dry_run)
    print(human_summary(result), file=sys.stderr)
    return result.exit_code
