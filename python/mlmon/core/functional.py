"""Quick functional forms: PSI of two numeric samples, chi-square of two categorical samples.

For a one-off comparison without a baseline or monitor; the same engine paths, no state kept. Accepts
numpy arrays, lists, pandas/polars Series and pyarrow arrays.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from mlmon.core import _native
from mlmon.core.exceptions import DtypeError
from mlmon.core.frames import (
    as_categorical,
    as_numeric,
    count_categories,
    feature_errors,
    fit_categories,
    to_batch,
)

__all__ = ["ChiSquareResult", "chi_square", "psi"]


class ChiSquareResult(NamedTuple):
    """A chi-square test: statistic, degrees of freedom, p-value."""

    statistic: float
    dof: int
    p_value: float


def _column(values: Any, name: str) -> Any:
    return to_batch({name: values}).column(name)


def _numbers(values: Any, name: str) -> np.ndarray[Any, Any]:
    out = as_numeric(_column(values, name))
    if out is None:
        raise DtypeError(f"{name}: expected numbers")
    return out


def psi(reference: Any, current: Any, bins: int = 10) -> float:
    """Population Stability Index of ``current`` against ``reference`` on quantile bins of the reference.

    Example:
        >>> import numpy as np, mlmon
        >>> rng = np.random.default_rng(0)
        >>> round(mlmon.psi(rng.normal(size=10_000), rng.normal(0.5, 1, size=10_000)), 2)
        0.24

    Args:
        reference: Reference numbers (NaN ignored as missing).
        current: Current numbers.
        bins: Quantile bins of the reference (ties merged).

    Returns:
        ``sum((a - e) * ln(a / e))`` over bin proportions, empty bins floored at the engine's epsilon.

    Raises:
        DtypeError: non-numeric input.
        InputError: an empty or all-NaN reference.
    """
    ref, cur = _numbers(reference, "reference"), _numbers(current, "current")
    with feature_errors("reference"):
        edges = _native.BinEdges.quantile(ref, bins)
    expected, actual = _native.NumericHistogram(edges), _native.NumericHistogram(edges)
    expected.update(ref)
    actual.update(cur)
    return _native.psi(expected.counts.astype(np.float64), actual.counts.astype(np.float64))


def chi_square(reference: Any, current: Any) -> ChiSquareResult:
    """Chi-square test of homogeneity between two categorical samples (2 x k table).

    Categories are the reference's, plus one cell for values never seen in the reference; sparse cells
    are pooled until each expected count reaches 5, so novel values keep the result finite.

    Example:
        >>> import mlmon
        >>> res = mlmon.chi_square(["a"] * 50 + ["b"] * 50, ["a"] * 80 + ["b"] * 20)
        >>> res.dof, round(res.p_value, 5)
        (1, 1e-05)

    Args:
        reference: Reference categories (strings, integers, bools; None is missing).
        current: Current categories.

    Returns:
        ``(statistic, dof, p_value)``.

    Raises:
        DtypeError: values that cannot be categories.
        InputError: an empty or all-missing reference.
    """
    ref = as_categorical(_column(reference, "reference"), "reference")
    cur = as_categorical(_column(current, "current"), "current")
    with feature_errors("reference"):
        counts = fit_categories(ref)
    other = counts.empty_like()
    with feature_errors("current"):
        count_categories(other, cur)
    stat, dof, p = _native.chi_square_pooled(
        counts.distribution.astype(np.float64), other.distribution.astype(np.float64)
    )
    return ChiSquareResult(stat, dof, p)
