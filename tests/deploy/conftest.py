"""Deploy fixtures: example models trained once per session (a good forest, a second forest, a dummy
classifier that fails the gates), TOML configs written per test, and a real stack (drift service and
production API processes on loopback, SQLite) for the steps that talk HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mlmon.demo.processes import WebhookReceiver
from mlmon.demo.stack import Stack, start_stack
from mlmon.deploy.example import ExampleFiles
from shared_helpers import train_examples


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ExampleFiles]:
    """``forest`` and ``forest2`` (other seed: another artifact, similar metrics), ``logistic``, ``dummy``."""
    return train_examples(tmp_path_factory.mktemp("trained"), "forest", "forest2", "logistic", "dummy")


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
