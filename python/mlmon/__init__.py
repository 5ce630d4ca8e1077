"""mlmon: exact, fast drift monitoring for machine-learning models."""

from mlmon._engine import __version__
from mlmon.exceptions import CodecError, DtypeError, InputError, MlmonError, SchemaMismatchError

__all__ = [
    "CodecError",
    "DtypeError",
    "InputError",
    "MlmonError",
    "SchemaMismatchError",
    "__version__",
]
