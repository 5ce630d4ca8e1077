"""Per-model and per-feature drift thresholds from a TOML or JSON file (``MLMON_THRESHOLDS_FILE``).

The file overrides the service-wide ``warning_threshold``/``critical_threshold`` for some models, and
within a model for some features::

    [models.churn]                 # every feature of churn
    warning = 0.1
    critical = 0.3

    [models.churn.features.age]    # only churn's age
    critical = 0.2

Any key of :class:`mlmon.core.drift.Thresholds` may appear in a model's table (``min_count``, ...). A bad file
stops the service at start with an error naming the model.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import msgspec

from mlmon.core.drift import Thresholds
from mlmon.exceptions import InputError

__all__ = ["load_thresholds"]


def _toml() -> Any:
    try:
        return importlib.import_module("tomllib")
    except ImportError:  # Python 3.10
        raise InputError("a TOML thresholds file needs Python 3.11 or later; use a .json file") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"thresholds file {path}: cannot read it: {exc.strerror or exc}") from exc
    loads = json.loads if path.suffix == ".json" else _toml().loads
    try:
        data = loads(text)
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError both are
        raise InputError(f"thresholds file {path}: not valid {path.suffix[1:] or 'TOML'}: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"models"} or not isinstance(data.get("models", {}), dict):
        raise InputError(f"thresholds file {path}: expected only a 'models' table of model names")
    return data


def load_thresholds(path: str | None, warning: float, critical: float) -> dict[str, Thresholds]:
    """The thresholds of each model named in the file, over the service-wide defaults.

    Args:
        path: The file (``.json`` is JSON, anything else TOML); ``None``: no overrides.
        warning: Service-wide warning threshold (a model's table may override it).
        critical: Service-wide critical threshold.

    Returns:
        Model name to its thresholds (models not in the file use the defaults).

    Raises:
        InputError: unreadable file, unknown key, or a value out of range (naming the model).
    """
    if not path:
        return {}
    out: dict[str, Thresholds] = {}
    for model, table in _read(Path(path)).get("models", {}).items():
        if not isinstance(table, dict):
            raise InputError(f"thresholds file {path}: models.{model} must be a table")
        try:
            out[model] = msgspec.convert({"warning": warning, "critical": critical, **table}, Thresholds)
        except (msgspec.ValidationError, InputError) as exc:
            raise InputError(f"thresholds file {path}: model {model!r}: {exc}") from exc
    return out
