"""Baselines from data larger than memory: two streaming passes whose state merges across partitions.

Pass 1 keeps a KLL quantile sketch per numerical feature (the engine's ``QuantileSketch``: bounded
memory, rank error ``QuantileSketch.epsilon``) and exact value counts per categorical feature; its bin
edges are the sketch's quantiles. Pass 2 counts the numerical features into histograms on those edges.
Both states serialize to bytes and merge exactly (counts add; sketches merge within the same bound), so
Spark partitions and a local stream share this code.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypedDict

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlmon.core import _native, _parallel
from mlmon.core.baseline import Baseline
from mlmon.core.frames import Numeric, as_numeric, count_numeric, feature_errors, to_batch
from mlmon.core.schema import FeatureKind, FeatureSpec
from mlmon.exceptions import DtypeError, InputError, SchemaMismatchError

__all__ = ["CountPass", "FitOptions", "SketchPass", "build_baseline", "feature_kinds", "fit_two_passes"]


def _arrow_kind(typ: Any) -> FeatureKind | None:
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return "numerical"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return "categorical"
    if pa.types.is_boolean(typ):
        return "categorical"
    return None


def _dtype_name(typ: Any) -> str:
    if pa.types.is_dictionary(typ):
        return "category"
    if pa.types.is_boolean(typ):
        return "bool"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return "string"
    try:
        return str(np.dtype(typ.to_pandas_dtype()))
    except (NotImplementedError, TypeError):
        return str(typ)


def feature_kinds(
    schema: Any,
    *,
    features: Sequence[str] | None = None,
    exclude: Collection[str] = (),
    categorical: Collection[str] | None = None,
    numerical: Collection[str] = (),
) -> list[FeatureSpec]:
    """The features to fit and their kinds, from an Arrow schema.

    Without ``features``, every numeric, string, bool or dictionary column not in ``exclude`` (timestamps
    and nested columns are skipped). Kinds follow ``Baseline.fit``'s typing rule (``mlmon.core.schema``):
    ``categorical=None`` types by dtype, ``categorical=[]`` refuses string columns.

    Raises:
        SchemaMismatchError: a named feature is not in the data.
        DtypeError: a feature of an unsupported type, or a string feature declared numerical.
        InputError: no features, or a feature declared both ways.
    """
    declared = set(categorical or ())
    both = declared & set(numerical)
    if both:
        raise InputError(f"features declared both categorical and numerical: {sorted(both)}")
    types = {f.name: f.type for f in schema}
    names = (
        list(features)
        if features is not None
        else [n for n in types if n not in exclude and _arrow_kind(types[n]) is not None]
    )
    absent = [n for n in [*names, *declared, *numerical] if n not in types]
    if absent:
        raise SchemaMismatchError(f"features not in the data: {', '.join(map(repr, absent))}")
    if not names:
        raise InputError("no features to fit")
    specs = []
    for name in names:
        inferred = _arrow_kind(types[name])
        if inferred is None:
            raise DtypeError(
                f"feature {name!r}: unsupported type {types[name]} (expected numbers, strings or bools)"
            )
        kind: FeatureKind = (
            "categorical" if name in declared else "numerical" if name in numerical else inferred
        )
        if categorical is not None and not declared and kind == "categorical":
            raise DtypeError(
                f"feature {name!r}: holds {_dtype_name(types[name])} values, but categorical=[] says no "
                "feature is categorical; list it in categorical, exclude it, or leave categorical=None"
            )
        if kind == "numerical" and inferred == "categorical":
            raise DtypeError(
                f"feature {name!r}: declared numerical but holds {_dtype_name(types[name])} values"
            )
        specs.append(FeatureSpec(name, kind, _dtype_name(types[name])))
    return specs


def _category_values(col: Any, name: str) -> Any:
    """The column with values the categorical counts accept: decoded dictionaries, integral floats as
    integers (NaN as missing)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    if pa.types.is_floating(col.type):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
        try:
            col = pc.cast(col, pa.int64())
        except pa.ArrowInvalid as exc:
            raise DtypeError(f"feature {name!r}: fractional numbers cannot be categories") from exc
    return col


class _Pass1Wire(msgspec.Struct):
    rows: int
    sketches: dict[str, bytes]
    counts: dict[str, list[tuple[str | int | bool | None, int]]]


class SketchPass:
    """Pass 1: quantile sketches of numerical features, value counts of categorical ones."""

    def __init__(self, specs: Sequence[FeatureSpec], k: int = 200) -> None:
        """An empty pass over ``specs``."""
        self.specs = list(specs)
        self.rows = 0
        self.sketches = {s.name: _native.QuantileSketch(k) for s in specs if s.kind == "numerical"}
        self.counts: dict[str, dict[Any, int]] = {s.name: {} for s in specs if s.kind == "categorical"}

    def add(self, rb: Any) -> None:
        """Adds a record batch holding every feature."""
        self.rows += rb.num_rows
        batch = to_batch(rb, wanted=set(self.sketches))
        tasks = [functools.partial(self._sketch, name, batch) for name in self.sketches]
        _parallel.run(tasks, rb.num_rows * len(tasks))
        for name, seen in self.counts.items():
            vc = pc.value_counts(_category_values(rb.column(name), name))
            for value, n in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True):
                seen[value] = seen.get(value, 0) + n

    def _sketch(self, name: str, batch: Any) -> None:
        col = batch.consume(name)
        sketch = self.sketches[name]
        with feature_errors(name):
            if isinstance(col, Numeric) and col.validity is not None:
                sketch.update(col.values, col.validity[0], col.validity[1])
                return
            values = as_numeric(col)
            if values is None:
                raise DtypeError(f"feature {name!r}: declared numerical but holds non-numeric values")
            sketch.update(values)

    def merge(self, other: SketchPass) -> None:
        """Adds another partition's pass."""
        self.rows += other.rows
        for name, sketch in self.sketches.items():
            sketch.merge(other.sketches[name])
        for name, seen in self.counts.items():
            for value, n in other.counts[name].items():
                seen[value] = seen.get(value, 0) + n

    def to_bytes(self) -> bytes:
        """The pass as bytes (sketches in the engine codec)."""
        wire = _Pass1Wire(
            self.rows,
            {n: s.to_bytes() for n, s in self.sketches.items()},
            {n: list(c.items()) for n, c in self.counts.items()},
        )
        return msgspec.msgpack.encode(wire)

    @classmethod
    def from_bytes(cls, specs: Sequence[FeatureSpec], data: bytes, k: int = 200) -> SketchPass:
        """Reads :meth:`to_bytes` output of a pass over the same ``specs``."""
        wire = msgspec.msgpack.decode(data, type=_Pass1Wire)
        out = cls(specs, k)
        out.rows = wire.rows
        out.sketches = {n: _native.QuantileSketch.from_bytes(b) for n, b in wire.sketches.items()}
        out.counts = {n: dict(pairs) for n, pairs in wire.counts.items()}
        return out

    def edges(self, bins: int) -> dict[str, _native.BinEdges]:
        """Bin edges per numerical feature from its sketch.

        Raises:
            InputError: a feature without any finite value.
        """
        out = {}
        for name, sketch in self.sketches.items():
            with feature_errors(name):
                out[name] = sketch.edges(bins)
        return out

    def categories(self, max_categories: int) -> dict[str, _native.CategoryCounts]:
        """Reference category counts per categorical feature."""
        out = {}
        for name, seen in self.counts.items():
            with feature_errors(name):
                out[name] = _native.CategoryCounts.fit_counts(
                    list(seen), list(seen.values()), max_categories=max_categories
                )
        return out


class CountPass:
    """Pass 2: exact histograms of the numerical features on the fitted edges."""

    def __init__(self, edges: Mapping[str, _native.BinEdges]) -> None:
        """Empty histograms on ``edges``."""
        self.hists = {name: _native.NumericHistogram(e) for name, e in edges.items()}

    def add(self, rb: Any) -> None:
        """Counts a record batch holding every numerical feature."""
        batch = to_batch(rb, wanted=set(self.hists))
        tasks = [functools.partial(self._count, name, batch) for name in self.hists]
        _parallel.run(tasks, rb.num_rows * len(tasks))

    def _count(self, name: str, batch: Any) -> None:
        with feature_errors(name):
            count_numeric(self.hists[name], batch.consume(name))

    def merge(self, other: CountPass) -> None:
        """Adds another partition's counts (exact)."""
        for name, hist in self.hists.items():
            hist.merge(other.hists[name])

    def to_bytes(self) -> bytes:
        """The histograms as one engine profile."""
        return _native.encode_profile(list(self.hists.items()))

    @classmethod
    def from_bytes(cls, data: bytes) -> CountPass:
        """Reads :meth:`to_bytes` output."""
        out = cls({})
        for name, prof in _native.decode_profile(data):
            if not isinstance(prof, _native.NumericHistogram):
                raise SchemaMismatchError(f"feature {name!r}: expected a histogram")
            out.hists[name] = prof
        return out


def build_baseline(
    specs: Sequence[FeatureSpec],
    first: SketchPass,
    second: CountPass,
    *,
    bins: int,
    max_categories: int,
    **meta: Any,
) -> Baseline:
    """The baseline from both passes (``meta``: feature_importance, model, version)."""
    cats = first.categories(max_categories)
    profiles = {s.name: second.hists[s.name] if s.kind == "numerical" else cats[s.name] for s in specs}
    return Baseline(specs, profiles, n_rows=first.rows, bins=bins, **meta)


class FitOptions(TypedDict, total=False):
    """The keyword arguments :func:`mlmon.batch.fit_baseline` and :func:`mlmon.spark.fit_baseline` share
    (documented there); :func:`fit_two_passes` holds their defaults."""

    features: Sequence[str] | None
    exclude: Collection[str]
    categorical: Collection[str] | None
    numerical: Collection[str]
    bins: int
    max_categories: int
    k: int
    feature_importance: Mapping[str, float] | None
    model: str | None
    version: str | None


def fit_two_passes(
    schema: Any,
    options: FitOptions,
    sketch: Callable[[list[FeatureSpec], int], SketchPass],
    count: Callable[[SketchPass, CountPass], CountPass],
) -> Baseline:
    """A baseline in two passes over data of Arrow ``schema``: ``sketch(specs, k)`` runs pass 1,
    ``count(first, empty)`` fills pass 2's histograms (skipped without numerical features). The local
    stream and Spark differ only in how they run the passes."""
    o = options
    # **options accepts any keyword at run time: a misspelled one must not be ignored silently.
    unknown = sorted(set(o) - set(FitOptions.__annotations__))
    if unknown:
        raise InputError(
            f"unknown fit_baseline arguments: {unknown} (known: {sorted(FitOptions.__annotations__)})"
        )
    specs = feature_kinds(
        schema,
        features=o.get("features"),
        exclude=o.get("exclude", ()),
        categorical=o.get("categorical"),
        numerical=o.get("numerical", ()),
    )
    first = sketch(specs, o.get("k", 200))
    bins = o.get("bins", 10)
    edges = first.edges(bins)
    second = count(first, CountPass(edges)) if edges else CountPass({})
    return build_baseline(
        specs,
        first,
        second,
        bins=bins,
        max_categories=o.get("max_categories", 10_000),
        feature_importance=o.get("feature_importance"),
        model=o.get("model"),
        version=o.get("version"),
    )
