"""Helpers of the deploy tests: write a deploy config (TOML) for an example model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlmon.deploy.example import ExampleFiles


def toml_value(value: Any) -> str:
    """A Python value as TOML (strings, numbers, lists and flat tables)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def write_config(path: Path, files: ExampleFiles, name: str = "bc", **sections: dict[str, Any]) -> Path:
    """A deploy config for ``files``; ``sections`` add to or override the defaults per TOML table."""
    tables: dict[str, dict[str, Any]] = {
        "model": {"name": name, "artifact": str(files.artifact)},
        "data": {"training": str(files.training), "validation": str(files.validation), "target": "malignant"},
        "gates": {"minimum": {"accuracy": 0.85, "roc_auc": 0.9}, "max_regression": 0.05},
        "http": {"timeout_seconds": 10, "retries": 2, "backoff_seconds": 0.05, "live_timeout_seconds": 30},
    }
    for table, values in sections.items():
        tables.setdefault(table, {}).update(values)
    text = "".join(
        f"[{table}]\n"
        + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items() if v is not None)
        + "\n"
        for table, values in tables.items()
    )
    path.write_text(text, encoding="utf-8")
    return path
