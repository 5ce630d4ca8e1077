"""mlmon: exact, fast drift monitoring for machine-learning models.

Fit a :class:`Baseline` on training data, feed production batches to a :class:`Monitor`, read its
:class:`DriftReport`. The counting and statistics run in the Rust engine (``mlmon._engine``).
"""

from mlmon.core._native import __version__
from mlmon.core.baseline import Baseline
from mlmon.core.drift import DriftReport, FeatureDrift, FeatureThresholds, Severity, Thresholds
from mlmon.core.functional import chi_square, psi
from mlmon.core.monitor import Monitor
from mlmon.core.outputs import model_outputs, output_columns
from mlmon.core.quality import QualityThresholds
from mlmon.core.schema import FeatureKind, FeatureSpec
from mlmon.exceptions import CodecError, DtypeError, InputError, MlmonError, SchemaMismatchError

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
    "model_outputs",
    "output_columns",
    "psi",
]
