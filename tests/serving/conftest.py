"""Serving fixtures: two fitted scikit-learn models on the features ``age`` and ``income`` (fitted on a
DataFrame, so they know their feature names) and their skops artifacts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

# Reuse the service tests' process helpers (free_port, service_env, start_service).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "service"))

from serving_helpers import FEATURES


def training_frame(seed: int = 0, n: int = 2000) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    """``age`` ~ N(40, 9), ``income`` ~ N(50, 12); the label depends on both."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"age": rng.normal(40, 9, n), "income": rng.normal(50, 12, n)})
    y = ((x["age"] - 40) / 9 + (x["income"] - 50) / 12 + rng.normal(0, 0.5, n) > 0).astype(int).to_numpy()
    return x, y


@pytest.fixture(scope="session")
def models() -> dict[str, Any]:
    """``v1``: logistic regression; ``v2``: a depth-3 decision tree (different predictions)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    x, y = training_frame()
    return {
        "v1": LogisticRegression().fit(x, y),
        "v2": DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y),
    }


@pytest.fixture(scope="session")
def artifacts(models: dict[str, Any]) -> dict[str, bytes]:
    """The models as skops bytes."""
    import skops.io as sio

    return {version: sio.dumps(model) for version, model in models.items()}


@pytest.fixture(scope="session")
def rows() -> list[dict[str, float]]:
    """200 rows to score."""
    x, _ = training_frame(seed=7, n=200)
    return [dict(zip(FEATURES, map(float, r), strict=True)) for r in x.to_numpy()]
