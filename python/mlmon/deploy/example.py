"""The example training pipeline of ``deploy/train.py`` and ``mlmon demo``: a scikit-learn classifier
on the breast-cancer data set that ships with scikit-learn, saved the way ``mlmon deploy`` wants it (a
``.skops`` artifact, training and validation Parquet files with the target column).

The ten ``mean ...`` measurements are the features, renamed to identifiers (``mean_radius``...), so the
drift table, metrics labels and JSON stay readable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlmon.core._compat import require

__all__ = ["TARGET", "ExampleFiles", "example_frame", "train_example"]

TARGET = "malignant"
KINDS = ("forest", "logistic", "dummy")


class ExampleFiles:
    """Where :func:`train_example` wrote the artifact and the two tables."""

    def __init__(self, out: Path) -> None:
        self.artifact = out / "model.skops"
        self.training = out / "train.parquet"
        self.validation = out / "validation.parquet"


def example_frame() -> Any:
    """The data set as a pandas DataFrame: ten ``mean_*`` features and the ``malignant`` target (1 when
    the tumour is malignant)."""
    bunch = require("sklearn.datasets", "deploy").load_breast_cancer(as_frame=True)
    frame = bunch.frame
    columns = [c for c in frame.columns if str(c).startswith("mean ")]
    out = frame[columns].rename(columns=lambda c: str(c).replace(" ", "_"))
    out[TARGET] = (frame["target"] == 0).astype(np.int64)  # sklearn codes malignant as 0
    return out


def _estimator(kind: str, seed: int) -> Any:
    if kind == "forest":
        return require("sklearn.ensemble", "deploy").RandomForestClassifier(
            n_estimators=60, max_depth=6, random_state=seed, n_jobs=1
        )
    if kind == "logistic":
        scale = require("sklearn.preprocessing", "deploy").StandardScaler()
        logistic = require("sklearn.linear_model", "deploy").LogisticRegression(max_iter=500)
        return require("sklearn.pipeline", "deploy").make_pipeline(scale, logistic)
    if kind == "dummy":  # a model that must fail any sensible gate
        return require("sklearn.dummy", "deploy").DummyClassifier(strategy="most_frequent")
    raise ValueError(f"unknown estimator kind {kind!r}: expected one of {', '.join(KINDS)}")


def train_example(out: str | Path, *, kind: str = "forest", seed: int = 0) -> ExampleFiles:
    """Splits the data (70 % training, 30 % validation, stratified, fixed seed), fits the estimator on
    the training part and writes ``model.skops``, ``train.parquet`` and ``validation.parquet``.

    Args:
        out: Output directory (created).
        kind: ``forest`` (random forest), ``logistic`` (scaled logistic regression) or ``dummy``.
        seed: Seed of the estimator (the split is fixed, so validation sets are comparable).
    """
    sio = require("skops.io", "deploy")
    model_selection = require("sklearn.model_selection", "deploy")

    files = ExampleFiles(Path(out))
    Path(out).mkdir(parents=True, exist_ok=True)
    frame = example_frame()
    train, valid = model_selection.train_test_split(
        frame, test_size=0.3, random_state=42, stratify=frame[TARGET]
    )
    model = _estimator(kind, seed).fit(train.drop(columns=[TARGET]), train[TARGET])
    sio.dump(model, files.artifact)
    train.reset_index(drop=True).to_parquet(files.training, index=False)
    valid.reset_index(drop=True).to_parquet(files.validation, index=False)
    return files
