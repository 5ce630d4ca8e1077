"""Deploy fixtures: example models trained once per session (a good forest, a second forest, a dummy
classifier that fails the gates), TOML configs written per test, and a real stack (drift service and
production API processes on loopback, SQLite) for the steps that talk HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlmon.demo.processes import WebhookReceiver
from mlmon.demo.stack import Stack, start_stack
from mlmon.deploy.example import ExampleFiles, train_example


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExampleFiles]:
    """``forest`` and ``forest2`` (other seed: another artifact, similar metrics), ``logistic``, ``dummy``."""
    root = tmp_path_factory.mktemp("trained")
    return {
        "forest": train_example(root / "forest", kind="forest", seed=0),
        "forest2": train_example(root / "forest2", kind="forest", seed=1),
        "logistic": train_example(root / "logistic", kind="logistic"),
        "dummy": train_example(root / "dummy", kind="dummy"),
    }


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


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver for the module (deploy notifications and alerts)."""
    with WebhookReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Stack]:
    """The drift service and the production API on a fresh SQLite store, for the module."""
    work = tmp_path_factory.mktemp("stack")
    started = start_stack(
        work, database_url=f"sqlite:///{work / 'mlmon.db'}", model="bc", webhook_url=receiver.url
    )
    yield started
    started.stop()
