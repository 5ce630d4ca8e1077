"""The failures of ``mlmon deploy``, one class per exit code, each naming the step that failed."""

from __future__ import annotations

from mlmon.exceptions import MlmonError

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_GATE",
    "EXIT_INFRA",
    "EXIT_OK",
    "BadInputError",
    "DeployError",
    "GateFailedError",
    "InfrastructureError",
]

EXIT_OK = 0
EXIT_GATE = 2
EXIT_INFRA = 3
EXIT_BAD_INPUT = 4


class DeployError(MlmonError):
    """A deploy step failed; ``exit_code`` is the class of failure, ``step`` is set by the runner."""

    exit_code = 1
    step: str | None = None


class GateFailedError(DeployError, ValueError):
    """The candidate missed a quality gate (exit 2); the message names each gate and its margin."""

    exit_code = EXIT_GATE


class InfrastructureError(DeployError, ConnectionError):
    """A service or the database could not be reached or answered an error (exit 3)."""

    exit_code = EXIT_INFRA


class BadInputError(DeployError, ValueError):
    """The artifact, data or configuration is unusable (exit 4)."""

    exit_code = EXIT_BAD_INPUT
