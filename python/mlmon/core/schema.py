"""Feature schema: the two feature kinds, one feature's spec, and the typing rule.

Owns the vocabulary shared by baselines, monitors and reports. It imports only numpy and msgspec, never
pandas, polars or pyarrow (the adapters in ``mlmon.core.frames`` turn those into plain columns first).

The typing rule of ``Baseline.fit``: with ``categorical=None`` (the default) a feature's kind follows
its dtype: numbers (ints and floats) are numerical, strings, bools and dictionary-encoded columns
(pandas Categorical, Arrow dictionary, polars Categorical/Enum) categorical. A list in ``categorical``
makes those features categorical whatever their dtype (integer codes); the other features keep the
rule. ``categorical=[]`` says there is no categorical feature: every feature must then be numeric, and
a string column is refused at fit. ``numerical`` lists features that must be numerical (a string
column listed there is refused too).
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["FeatureKind", "FeatureSpec", "describe_typing", "integer_hint"]

FeatureKind = Literal["numerical", "categorical"]
"""``numerical`` features are binned on quantile edges; ``categorical`` ones count reference categories."""


class FeatureSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One monitored feature as the baseline recorded it.

    Attributes:
        name: Column name.
        kind: ``numerical`` or ``categorical``.
        dtype: The dtype seen at fit time, for humans (``float64``, ``string``, ``int64``...).
    """

    name: str
    kind: FeatureKind
    dtype: str


_CATEGORICAL_DTYPES = frozenset(["string", "category", "bool"])


def describe_typing(spec: FeatureSpec) -> str:
    """How a feature was typed, for reports: ``numerical (float64)``, ``categorical (string)``, or
    ``categorical (int64, declared)`` for a numeric column made categorical by ``categorical=[...]``."""
    declared = spec.kind == "categorical" and spec.dtype not in _CATEGORICAL_DTYPES
    return f"{spec.kind} ({spec.dtype}{', declared' if declared else ''})"


def integer_hint(spec: FeatureSpec, n_bins: int, bins: int) -> str | None:
    """A hint for an integer feature binned as numbers whose repeated values merged bins at fit (fewer
    bins than asked for): it may hold the codes of a category. ``None`` when nothing looks odd."""
    if spec.kind != "numerical" or not spec.dtype.startswith(("int", "uint")) or n_bins >= bins:
        return None
    return (
        f"integer feature binned into {n_bins} of {bins} bins (repeated values): if its values are codes, "
        f"fit with categorical=[{spec.name!r}, ...]"
    )
