"""``mlmon deploy``: the script CI calls to ship a model.

Steps (one module each): :mod:`~mlmon.deploy.load`, :mod:`~mlmon.deploy.validate` and
:mod:`~mlmon.deploy.gates`, :mod:`~mlmon.deploy.register`, :mod:`~mlmon.deploy.baseline`,
:mod:`~mlmon.deploy.push`, promote, :mod:`~mlmon.deploy.notify`; :mod:`~mlmon.deploy.pipeline` runs them,
logs one JSON line per step, rolls back on failure and returns the exit code (gate 2, infrastructure 3,
bad input 4). Configuration: :mod:`~mlmon.deploy.config` (TOML, secrets from the environment only).
"""

from typing import TYPE_CHECKING, Any

from mlmon.deploy.config import DeployConfig, Secrets, load_config
from mlmon.deploy.errors import (
    EXIT_BAD_INPUT,
    EXIT_GATE,
    EXIT_INFRA,
    EXIT_OK,
    BadInputError,
    DeployError,
    GateFailedError,
    InfrastructureError,
)

if TYPE_CHECKING:
    from mlmon.deploy.pipeline import DeployResult, run_deploy

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_GATE",
    "EXIT_INFRA",
    "EXIT_OK",
    "BadInputError",
    "DeployConfig",
    "DeployError",
    "DeployResult",
    "GateFailedError",
    "InfrastructureError",
    "Secrets",
    "load_config",
    "run_deploy",
]


def __getattr__(name: str) -> Any:
    # The pipeline (httpx, the store) is imported on first use, so `mlmon --help` and the other
    # commands do not pay for it.
    if name in ("DeployResult", "run_deploy"):
        from mlmon.deploy import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'mlmon.deploy' has no attribute {name!r}")
