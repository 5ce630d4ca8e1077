"""Optional dependencies: the one way mlmon imports a library that an extra installs.

pandas, polars, pyarrow, psycopg, scikit-learn, skops, joblib, pyspark, prometheus-client, matplotlib:
each is an extra (``[project.optional-dependencies]`` in ``pyproject.toml``), so no module imports one at
its top unless the module exists only for that library (the input adapters in ``core/frames``, the
PostgreSQL store). Code that needs one calls :func:`require` where the need arises, which keeps
``import mlmon`` free of them and turns a missing extra into an error that says what to install. Every
other import in the package sits at the top of its module. This module imports nothing of mlmon.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["require"]


def require(module: str, extra: str) -> Any:
    """Imports an optional dependency.

    Args:
        module: The dotted module to import (``"pyarrow.parquet"``, ``"sklearn.metrics"``).
        extra: The mlmon extra that installs it (``"arrow"``, ``"deploy"``).

    Returns:
        The module (typed ``Any``: annotate with a ``TYPE_CHECKING`` import where the types matter).

    Raises:
        ModuleNotFoundError: the module is not installed; the message names the extra, and ``name`` is
            the missing module, as for a failed ``import`` statement.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        raise ModuleNotFoundError(
            f"{module} is not installed (missing {missing}): pip install 'mlmon[{extra}]'", name=missing
        ) from exc
