"""Baseline: the reference distributions of a model's features, fitted once and saved to a file.

A baseline holds, per feature, the engine's reference profile (quantile bin edges and counts for a
numerical feature, categories and counts for a categorical one) plus the schema, feature importances and
model identity, which monitored columns are the model's outputs, and the model's performance reference
(bytes that :mod:`mlmon.performance` reads; the core keeps them opaque). The file format is
:mod:`mlmon.core._baseline_file`'s. Counting and quantiles are the engine's; this module only decides
kinds and wires columns to it.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any, TypeAlias

import numpy as np

from mlmon.core import _baseline_file as _file
from mlmon.core import _native, _parallel
from mlmon.core._baseline_file import FORMAT_VERSION
from mlmon.core.exceptions import DtypeError, InputError, MlmonError, SchemaMismatchError
from mlmon.core.frames import (
    BOOL_CATEGORIES,
    Batch,
    Coded,
    Column,
    Numeric,
    Strings,
    as_categorical,
    count_numeric,
    feature_errors,
    fit_categories,
    numeric_edges,
    to_batch,
)
from mlmon.core.schema import FeatureKind, FeatureSpec

__all__ = ["FORMAT_VERSION", "Baseline", "Profile"]

# No decoder can name a column holding these (msgspec refuses them as field names); the service
# asks more still (mlmon.store.names), but spaces and slashes are common in real data sets.
_UNUSABLE = re.compile(r'["\\\x00-\x1f\x7f]')

Profile: TypeAlias = _native.NumericHistogram | _native.CategoryCounts


def _infer_kind(col: Column) -> FeatureKind:
    return "numerical" if isinstance(col, Numeric) else "categorical"


def _dtype_name(col: Column) -> str:
    if isinstance(col, Coded):
        return "bool" if list(col.categories) == list(BOOL_CATEGORIES) else "category"
    if isinstance(col, Strings):
        return "string"
    dtype = col.values.dtype
    return "string" if dtype.kind in "OU" and not isinstance(col, Numeric) else dtype.name


def _fit_numeric(name: str, col: Column, bins: int) -> _native.NumericHistogram:
    with feature_errors(name):
        edges = numeric_edges(col, bins)
        if edges is None:
            raise DtypeError(f"feature {name!r}: declared numerical but holds {_dtype_name(col)} values")
        hist = _native.NumericHistogram(edges)
        count_numeric(hist, col)
    return hist


def _fit_categorical(name: str, col: Column, max_categories: int) -> _native.CategoryCounts:
    cat = as_categorical(col, name)
    with feature_errors(name):
        return fit_categories(cat, max_categories)


def _kind(
    name: str, col: Column, categorical: Collection[str] | None, numerical: Collection[str]
) -> FeatureKind:
    """The typing rule (see ``mlmon.core.schema``): declared kinds first, then the dtype's."""
    if categorical is not None and name in categorical:
        return "categorical"
    if name in numerical:
        return "numerical"
    inferred = _infer_kind(col)
    if categorical is not None and not categorical and inferred == "categorical":
        raise DtypeError(
            f"feature {name!r}: holds {_dtype_name(col)} values, but categorical=[] says no feature is "
            "categorical; list it in categorical, exclude it, or leave categorical=None to type features "
            "by dtype"
        )
    return inferred


def _fit_one(
    batch: Batch,
    name: str,
    categorical: Collection[str] | None,
    numerical: Collection[str],
    bins: int,
    max_categories: int,
) -> tuple[FeatureSpec, Profile]:
    col = batch.consume(name)
    kind = _kind(name, col, categorical, numerical)
    return FeatureSpec(name, kind, _dtype_name(col)), _fit_column(name, col, kind, bins, max_categories)


def _fit_column(name: str, col: Column, kind: FeatureKind, bins: int, max_categories: int) -> Profile:
    if kind == "numerical":
        return _fit_numeric(name, col, bins)
    return _fit_categorical(name, col, max_categories)


def _fit_listed(name: str, col: Column, kind: FeatureKind, bins: int, max_categories: int) -> list[Profile]:
    return [_fit_column(name, col, kind, bins, max_categories)]


def _fit_numeric_block(names: list[str], cols: list[Numeric], bins: int) -> list[Profile]:
    """Every numeric column's histogram in one engine call (one GIL release, the columns spread over
    the engine's pool); on an error, the columns again one by one, so it names its feature."""
    refs = [(c.values, *c.validity) if c.validity is not None else (c.values, None, 0) for c in cols]
    try:
        return list(_native.fit_numeric(refs, bins))
    except MlmonError:
        return [_fit_numeric(name, col, bins) for name, col in zip(names, cols, strict=True)]


def _fit_all(
    batch: Batch,
    names: list[str],
    categorical: Collection[str] | None,
    numerical: Collection[str],
    bins: int,
    max_categories: int,
) -> list[tuple[FeatureSpec, Profile]]:
    """Fits every feature: below :data:`mlmon.core._parallel.PARALLEL_MIN_VALUES` one column at a time on
    this thread; above it, the numeric arrays in one :func:`_native.fit_numeric` call beside the other
    columns on threads (the engine releases the GIL in both)."""
    values = batch.n_rows * len(names)
    if values < _parallel.PARALLEL_MIN_VALUES:
        return [_fit_one(batch, name, categorical, numerical, bins, max_categories) for name in names]
    cols = {name: batch.consume(name) for name in names}
    specs = {n: FeatureSpec(n, _kind(n, c, categorical, numerical), _dtype_name(c)) for n, c in cols.items()}
    block = {n: c for n, c in cols.items() if specs[n].kind == "numerical" and isinstance(c, Numeric)}
    rest = [n for n in names if n not in block]
    tasks: list[Callable[[], list[Profile]]] = []
    if block:
        tasks.append(functools.partial(_fit_numeric_block, list(block), list(block.values()), bins))
    for name in rest:
        tasks.append(functools.partial(_fit_listed, name, cols[name], specs[name].kind, bins, max_categories))
    fitted = [p for ps in _parallel.run(tasks, values) for p in ps]
    profiles = dict(zip([*block, *rest], fitted, strict=True))
    return [(specs[name], profiles[name]) for name in names]


def _select(
    batch: Batch, features: Sequence[str] | None, exclude: Collection[str], outputs: Collection[str]
) -> list[str]:
    names = list(features) if features is not None else [n for n in batch.names if n not in exclude]
    names += [n for n in outputs if n not in names]
    absent = [n for n in names if n not in batch.names]
    if absent:
        what = "outputs" if set(absent) <= set(outputs) else "features"
        raise SchemaMismatchError(f"{what} not in the data: {', '.join(map(repr, absent))}")
    if not names:
        raise InputError("no features to fit")
    for name in names:
        if not name or _UNUSABLE.search(name):
            raise InputError(
                f"feature {name!r}: a feature name must be non-empty and hold no quote, backslash or "
                "control character (it becomes a column name of every wire format)"
            )
    return names


def _int_or_str(label: str) -> int | str:
    # Only the canonical spelling converts ("7", "-7"; not "07", "+7", "7_0", "٧"), so no two
    # distinct strings land on the same integer.
    try:
        value = int(label)
    except ValueError:
        return label
    return value if str(value) == label else label


def _opaque(data: bytes | None) -> bytes | None:
    if data is None:
        return None
    if not isinstance(data, bytes | bytearray | memoryview) or not len(data):
        raise InputError(f"performance: expected non-empty bytes, got {type(data).__name__}")
    return bytes(data)


class Baseline:
    """Reference distributions of a model's features.

    Build one with :meth:`fit`, keep it with :meth:`save` and :meth:`load`, and give it to
    :class:`mlmon.Monitor`.

    Example:
        >>> import numpy as np, mlmon
        >>> rng = np.random.default_rng(0)
        >>> b = mlmon.Baseline.fit({"age": rng.normal(40, 9, 1000), "plan": rng.choice(["a", "b"], 1000)})
        >>> [(f.name, f.kind) for f in b.features.values()]
        [('age', 'numerical'), ('plan', 'categorical')]
    """

    def __init__(
        self,
        features: Iterable[FeatureSpec],
        profiles: Mapping[str, Profile],
        *,
        n_rows: int,
        bins: int = 10,
        feature_importance: Mapping[str, float] | None = None,
        model: str | None = None,
        version: str | None = None,
        created_at: datetime | None = None,
        mlmon_version: str = _native.__version__,
        outputs: Collection[str] = (),
        performance: bytes | None = None,
    ) -> None:
        """Assembles a baseline from fitted profiles (use :meth:`fit` to build one from data)."""
        self.features: dict[str, FeatureSpec] = {f.name: f for f in features}
        if set(profiles) != set(self.features):
            raise SchemaMismatchError("every feature needs exactly one profile")
        if isinstance(outputs, str) or not set(outputs) <= set(self.features):
            raise SchemaMismatchError(f"outputs must name monitored columns, got {outputs!r}")
        #: The monitored columns that are the model's outputs (predicted class, probabilities, score
        #: or value), in baseline order: scored like features, reported as prediction drift.
        self.outputs: tuple[str, ...] = tuple(n for n in self.features if n in set(outputs))
        self.profiles: dict[str, Profile] = dict(profiles)
        self.n_rows = n_rows
        self.bins = bins
        self.feature_importance: dict[str, float] = dict(feature_importance or {})
        unknown = set(self.feature_importance) - set(self.features)
        if unknown:
            raise SchemaMismatchError(f"feature_importance names unknown features: {sorted(unknown)}")
        self.model = model
        self.version = version
        self.created_at = created_at or datetime.now(timezone.utc)
        self.mlmon_version = mlmon_version
        #: The model's performance reference on its validation set, as bytes: opaque here, read by
        #: ``mlmon.performance.Reference.from_baseline`` (``None`` when the baseline has none).
        self.performance = _opaque(performance)
        self._profile_bytes = _native.encode_profile(list(self.profiles.items()))
        self.fingerprint = hashlib.sha256(self._profile_bytes).hexdigest()[:16]

    @classmethod
    def fit(
        cls,
        data: Any,
        *,
        categorical: Collection[str] | None = None,
        numerical: Collection[str] = (),
        features: Sequence[str] | None = None,
        exclude: Collection[str] = (),
        bins: int = 10,
        max_categories: int = 10_000,
        feature_importance: Mapping[str, float] | None = None,
        model: str | None = None,
        version: str | None = None,
        feature_names: Sequence[str] | None = None,
        outputs: Collection[str] = (),
    ) -> Baseline:
        """Fits reference distributions on training data.

        Typing rule (``mlmon.core.schema``): with ``categorical=None`` numeric columns are numerical
        (quantile bins), strings, bools and dictionary-encoded columns categorical. ``categorical`` and
        ``numerical`` lists override that per feature; ``categorical=[]`` declares that no feature is
        categorical, so a string column is then refused. Each report shows how a feature was typed
        (``FeatureDrift.typing``), with a hint for integer features that look like codes.

        Args:
            data: pandas/polars DataFrame, pyarrow Table/RecordBatch, dict of 1-D arrays or lists, or a
                2-D numpy array with ``feature_names``.
            categorical: Features to treat as categorical (e.g. integer-coded ones); ``None`` types
                every feature by its dtype; ``[]`` declares there is none.
            numerical: Features to treat as numerical.
            features: The features to monitor, in order (default: every column not in ``exclude``).
            exclude: Columns to leave out (ids, timestamps, the target).
            bins: Quantile bins per numerical feature (ties merged, so maybe fewer).
            max_categories: Reference categories kept per feature; rarer ones are folded into ``other``.
            feature_importance: Weights of the overall score, e.g. from the model.
            model: Model name.
            version: Model version.
            feature_names: Column names of a 2-D numpy array.
            outputs: Columns of ``data`` that hold the model's outputs on these rows (its predicted
                class, class probabilities, score or predicted value), monitored whatever ``features``
                and ``exclude`` say: their drift is prediction drift, the first sign that the model
                behaves differently, shown apart from the inputs'.

        Returns:
            The fitted baseline.

        Raises:
            SchemaMismatchError: a named feature is not in the data.
            DtypeError: a column mlmon cannot read, or a non-numeric column declared numerical.
            InputError: an empty or all-missing column, an empty feature name or one holding ``"``,
                ``\\`` or a control character, or bad arguments.
        """
        if isinstance(categorical, str) or isinstance(numerical, str):
            raise InputError("categorical and numerical take a list of feature names, not a string")
        declared = set(categorical or ())
        both = declared & set(numerical)
        if both:
            raise InputError(f"features declared both categorical and numerical: {sorted(both)}")
        if isinstance(outputs, str):
            raise InputError("outputs takes a list of column names, not a string")
        listed = to_batch(data, wanted=(), feature_names=feature_names)
        names = _select(listed, features, exclude, outputs)
        undeclared = (declared | set(numerical)) - set(names)
        if undeclared:
            raise SchemaMismatchError(f"declared features not in the data: {sorted(undeclared)}")
        batch = to_batch(data, wanted=set(names), feature_names=feature_names)
        fitted = _fit_all(batch, names, categorical, numerical, bins, max_categories)
        specs = [spec for spec, _ in fitted]
        profiles = {spec.name: prof for spec, prof in fitted}
        return cls(
            specs,
            profiles,
            n_rows=batch.n_rows,
            bins=bins,
            feature_importance=feature_importance,
            model=model,
            version=version,
            outputs=outputs,
        )

    def with_outputs(self, data: Any, *, categorical: Collection[str] | None = None) -> Baseline:
        """This baseline with the model's outputs recorded too, fitted on ``data``: one column per
        output, as :func:`mlmon.output_columns` names them. Fit them on a held-out set (the deploy step
        uses its validation set): a model is overconfident on its own training rows, and production
        looks like the held-out set.

        Args:
            data: The output columns (any input :meth:`fit` takes).
            categorical: Outputs to treat as categorical, such as a classifier's ``prediction`` when
                its classes are integers (default: typed by dtype).

        Raises:
            SchemaMismatchError: an output named like a feature of this baseline.

        Example:
            >>> import numpy as np, mlmon
            >>> b = mlmon.Baseline.fit({"age": np.arange(100.0)})
            >>> b.with_outputs({"prediction": np.array(["no", "yes"] * 50)}).outputs
            ('prediction',)
        """
        fitted = Baseline.fit(data, categorical=categorical, bins=self.bins)
        clash = sorted(set(fitted.features) & set(self.features))
        if clash:
            raise SchemaMismatchError(f"outputs named like features of the baseline: {clash}")
        return Baseline(
            [*self.features.values(), *fitted.features.values()],
            {**self.profiles, **fitted.profiles},
            n_rows=self.n_rows,
            bins=self.bins,
            feature_importance=self.feature_importance,
            model=self.model,
            version=self.version,
            created_at=self.created_at,
            mlmon_version=self.mlmon_version,
            outputs=[*self.outputs, *fitted.features],
            performance=self.performance,
        )

    def with_performance(self, data: bytes) -> Baseline:
        """A copy of this baseline carrying the model's performance reference ``data`` (the bytes of
        ``mlmon.performance.Reference.to_bytes``; ``Reference.attach`` calls this). The profiles and
        the fingerprint are this baseline's.

        Raises:
            InputError: ``data`` is not non-empty bytes.
        """
        out = copy.copy(self)
        out.performance = _opaque(data)
        if out.performance is None:
            raise InputError("performance: give the reference's bytes")
        return out

    @property
    def inputs(self) -> list[str]:
        """The monitored columns that are the model's inputs (every feature but :attr:`outputs`)."""
        return [n for n in self.features if n not in self.outputs]

    def reference_counts(self, name: str) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """Reference counts of ``name`` aligned as the statistics compare them (bins, or categories
        then ``other`` then ``unseen``)."""
        prof = self.profiles[name]
        return prof.counts if isinstance(prof, _native.NumericHistogram) else prof.distribution

    @functools.cached_property
    def int_label_features(self) -> frozenset[str]:
        """Categorical features whose fitted categories are all integers: a batch's labels for them are
        integers (a baseline fitted on ``[0, 1, 2]`` does not match the strings ``"0"``, ``"1"``...),
        while every other categorical feature's labels are strings."""
        names = []
        for name, prof in self.profiles.items():
            cats = getattr(prof, "categories", None)
            if cats and all(type(c) is int for c in cats):
                names.append(name)
        return frozenset(names)

    def labels_in_domain(self, name: str, labels: list[Any]) -> list[Any]:
        """``labels`` of feature ``name`` in the baseline's label domain: canonical integer strings
        (``"7"``, ``"-7"``; not ``"07"``, ``"+7"``) become integers for an integer-labelled feature
        (:attr:`int_label_features`), integers become strings for any other. A batch already in the
        domain is returned as is (the usual case costs one pass over the types in C)."""
        types = set(map(type, labels))
        if name in self.int_label_features:
            return [_int_or_str(v) if type(v) is str else v for v in labels] if str in types else labels
        return [str(v) if type(v) is int else v for v in labels] if int in types else labels

    def to_bytes(self) -> bytes:
        """The baseline file's bytes (see :meth:`save`)."""
        return _file.encode(
            _file.BaselineFile(
                kind=_file.KIND,
                format=FORMAT_VERSION,
                mlmon_version=self.mlmon_version,
                created_at=self.created_at,
                model=self.model,
                version=self.version,
                n_rows=self.n_rows,
                bins=self.bins,
                features=list(self.features.values()),
                feature_importance=self.feature_importance,
                profile=self._profile_bytes,
                outputs=list(self.outputs),
                performance=self.performance,
                checksum=bytes(_file.CHECKSUM_BYTES),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Baseline:
        """Reads :meth:`to_bytes` output.

        Raises:
            CodecError: not a baseline, corrupted, or written by a newer incompatible format version.
        """
        env = _file.decode(data)
        profiles = dict(_native.decode_profile(env.profile))
        return cls(
            env.features,
            profiles,
            n_rows=env.n_rows,
            bins=env.bins,
            feature_importance=env.feature_importance,
            model=env.model,
            version=env.version,
            created_at=env.created_at,
            mlmon_version=env.mlmon_version,
            outputs=env.outputs,
            performance=env.performance,
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes the baseline to ``path`` (conventionally ``<model>-<version>.mlmon``)."""
        with open(path, "wb") as fh:
            fh.write(self.to_bytes())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Reads a baseline written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            CodecError: not a baseline, corrupted, or from a newer incompatible format.
        """
        with open(path, "rb") as fh:
            return cls.from_bytes(fh.read())

    def __repr__(self) -> str:
        kinds = [f.kind for f in self.features.values()]
        outputs = f", outputs={len(self.outputs)}" if self.outputs else ""
        return (
            f"Baseline(model={self.model!r}, version={self.version!r}, rows={self.n_rows}, "
            f"numerical={kinds.count('numerical')}, categorical={kinds.count('categorical')}{outputs})"
        )
