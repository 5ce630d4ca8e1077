"""The exceptions mlmon raises: one small family, created by the engine so Rust and Python raise the
same classes. Each subclasses ``MlmonError`` and the builtin it refines, so ``except ValueError``
keeps working."""

from mlmon._engine import (
    CodecError,
    DtypeError,
    InputError,
    MlmonError,
    SchemaMismatchError,
)

__all__ = ["CodecError", "DtypeError", "InputError", "MlmonError", "SchemaMismatchError"]
