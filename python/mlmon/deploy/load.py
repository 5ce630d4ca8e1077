"""Step 1, load: read the artifact and check it (:func:`read_artifact`, in the deploy process), deserialize
it under the rules of :mod:`mlmon.core.artifacts` (:func:`load_artifact`, in the sandbox child), and read the
training and validation tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlmon.core._compat import require
from mlmon.core.artifacts import ArtifactError, check_loadable, detect_format, load_model, sha256_bytes
from mlmon.deploy.config import DataConfig, ModelConfig
from mlmon.deploy.errors import BadInputError

__all__ = ["Artifact", "Dataset", "load_artifact", "load_dataset", "read_artifact"]


@dataclass(frozen=True)
class Artifact:
    """A model artifact: its bytes, digest, format and, once deserialized, the estimator."""

    path: Path
    data: bytes
    sha256: str
    fmt: str
    model: Any = None

    @property
    def uri(self) -> str:
        """The artifact's ``file://`` URI."""
        return self.path.resolve().as_uri()


@dataclass(frozen=True)
class Dataset:
    """Features (a pandas DataFrame in the model's column order) and the target."""

    features: Any
    target: Any

    @property
    def columns(self) -> list[str]:
        """Feature names, in order."""
        return [str(c) for c in self.features.columns]


def read_artifact(cfg: ModelConfig, expected_sha256: str | None) -> Artifact:
    """Reads the artifact and makes every check that needs no deserializer (format, digest, digest
    required for pickle/joblib); the model stays bytes.

    Raises:
        BadInputError: unreadable, digest mismatch, or pickle/joblib without a digest.
    """
    path = Path(cfg.artifact)
    try:
        data = path.read_bytes()
        fmt = cfg.format or detect_format(path)
        digest = check_loadable(data, fmt=fmt, expected_sha256=expected_sha256)
    except OSError as exc:
        raise BadInputError(f"cannot read the artifact {path}: {exc.strerror}") from exc
    except ArtifactError as exc:
        raise BadInputError(f"artifact {path.name} refused: {exc}") from exc
    return Artifact(path, data, digest, fmt)


def load_artifact(cfg: ModelConfig, expected_sha256: str | None) -> Artifact:
    """Reads and loads the artifact named by ``cfg``.

    Raises:
        BadInputError: unreadable, digest mismatch, untrusted content, or pickle/joblib without a digest.
    """
    path = Path(cfg.artifact)
    try:
        data = path.read_bytes()
        fmt = cfg.format or detect_format(path)
        model = load_model(data, fmt=fmt, expected_sha256=expected_sha256)
    except OSError as exc:
        raise BadInputError(f"cannot read the artifact {path}: {exc.strerror}") from exc
    except ArtifactError as exc:
        raise BadInputError(f"artifact {path.name} refused: {exc}") from exc
    if not callable(getattr(model, "predict", None)):
        raise BadInputError(f"artifact {path.name} holds a {type(model).__name__}, which has no predict()")
    return Artifact(path, data, sha256_bytes(data), fmt, model)


def _read(path: Path) -> Any:
    pacsv = require("pyarrow.csv", "arrow")
    pq = require("pyarrow.parquet", "arrow")

    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pq.read_table(path).to_pandas()
        if name.endswith((".csv", ".csv.gz")):
            return pacsv.read_csv(path).to_pandas()
    except FileNotFoundError as exc:
        raise BadInputError(f"no such data file: {path}") from exc
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError...: all mean "unreadable"
        raise BadInputError(f"cannot read {path}: {exc}") from exc
    raise BadInputError(f"cannot read {path}: expected a .csv or .parquet file")


def model_features(model: Any) -> list[str] | None:
    """The feature names the model was fitted with, if it knows them."""
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def load_dataset(
    path: str | Path, cfg: DataConfig, model: Any = None, features: list[str] | None = None
) -> Dataset:
    """Reads a table and splits it into the model's features (``features``, else the model's own
    names, else every column but the target and ``exclude``) and the target.

    Raises:
        BadInputError: unreadable, no target column, missing features (named), or no rows.
    """
    frame = _read(Path(path))
    if cfg.target not in frame.columns:
        raise BadInputError(f"{Path(path).name} has no target column {cfg.target!r}")
    if len(frame) == 0:
        raise BadInputError(f"{Path(path).name} has no rows")
    wanted = features or model_features(model)
    if wanted is None:
        wanted = [str(c) for c in frame.columns if c != cfg.target and c not in cfg.exclude]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise BadInputError(f"{Path(path).name} lacks the model's features: {', '.join(missing)}")
    expected = getattr(model, "n_features_in_", None)
    if isinstance(expected, int) and expected != len(wanted):
        raise BadInputError(
            f"{Path(path).name} has {len(wanted)} feature columns, the model takes {expected}"
        )
    return Dataset(frame[wanted], frame[cfg.target])
