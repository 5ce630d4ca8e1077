"""mlmon: exact, fast drift monitoring for machine-learning models.

Fit a :class:`Baseline` on training data, feed production batches to a :class:`Monitor`, read its
:class:`DriftReport`. The counting and statistics run in the Rust engine (``mlmon._engine``).
"""

from mlmon._engine import __version__
from mlmon.baseline import Baseline
from mlmon.drift import DriftReport, FeatureDrift, FeatureThresholds, Severity, Thresholds
from mlmon.exceptions import CodecError, DtypeError, InputError, MlmonError, SchemaMismatchError
from mlmon.functional import chi_square, psi
from mlmon.monitor import Monitor
from mlmon.quality import QualityThresholds
from mlmon.schema import FeatureKind, FeatureSpec

__all__ = [
    "Baseline",
    "CodecError",
    "DriftReport",
    "DtypeError",
    "FeatureDrift",
    "FeatureKind",
    "FeatureSpec",
    "FeatureThresholds",
    "InputError",
    "MlmonError",
    "Monitor",
    "QualityThresholds",
    "SchemaMismatchError",
    "Severity",
    "Thresholds",
    "__version__",
    "chi_square",
    "psi",
]
