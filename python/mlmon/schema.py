"""Feature schema: the two feature kinds, one feature's spec, and kind inference from a column.

Owns the vocabulary shared by baselines, monitors and reports. It imports only numpy and msgspec, never
pandas, polars or pyarrow (the adapters in ``mlmon._frames`` turn those into plain columns first).
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["FeatureKind", "FeatureSpec"]

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
