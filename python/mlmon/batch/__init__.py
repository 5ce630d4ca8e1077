"""Batch drift analysis of historical data: drift per period over files of any size, and baselines from
data larger than memory.

>>> history = mlmon.batch.profile("data/*.parquet", "churn.mlmon", by="1d", timestamp="ts")  # doctest: +SKIP
>>> history.to_pandas()  # one row per day and feature  # doctest: +SKIP

Needs pyarrow (``pip install 'mlmon[io]'``). The same on Spark: :mod:`mlmon.spark`.
"""

from __future__ import annotations

from mlmon.batch._fit_local import fit_baseline
from mlmon.batch._profile import profile
from mlmon.batch.history import COLUMNS, DriftHistory

__all__ = ["COLUMNS", "DriftHistory", "fit_baseline", "profile"]
