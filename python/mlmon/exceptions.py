"""The exceptions mlmon raises, at their public import path.

The classes are created by the engine and documented in :mod:`mlmon.core.exceptions`, which the core
modules import (so that the core never imports this package's top level). Everything else, inside mlmon
and out, imports them from here.
"""

from mlmon.core.exceptions import CodecError, DtypeError, InputError, MlmonError, SchemaMismatchError

__all__ = ["CodecError", "DtypeError", "InputError", "MlmonError", "SchemaMismatchError"]
