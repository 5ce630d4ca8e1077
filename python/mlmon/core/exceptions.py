"""The exceptions mlmon raises: one small family, created by the engine so Rust and Python raise the
same classes. Each subclasses ``MlmonError`` and the builtin it refines, so ``except ValueError``
keeps working.

Every other exception class of the package derives from one of these, so ``except MlmonError`` catches
anything mlmon raises on purpose: ``ArtifactError`` (:mod:`mlmon.core.artifacts`), the store's
``NotFoundError``/``ConflictError``/``SchemaVersionError``/``StoreUnavailableError``, the HTTP errors
shared by the service and the production API (``BadRequestError`` 400, ``UnsupportedMediaError`` 415,
``BatchConflictError`` 409, ``OverloadedError`` 429, in :mod:`mlmon.service.errors`), the production
API's ``NoModelError`` (503), the alert sinks' ``DeliveryError``, the deploy step's ``DeployError``
family and the CLI's ``CliError``. ``tests/test_exception_family.py`` checks that none is left out."""

from mlmon.core._native import (
    CodecError,
    DtypeError,
    InputError,
    MlmonError,
    SchemaMismatchError,
)

__all__ = ["CodecError", "DtypeError", "InputError", "MlmonError", "SchemaMismatchError"]
