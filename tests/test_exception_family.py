"""One exception family (issue 17, item 12): every exception class defined anywhere in the package is
an ``MlmonError`` (so ``except MlmonError`` also catches the 429 overload error), the builtins the
classes refined are kept, and the service and the production API share one set of HTTP error classes."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import mlmon
from mlmon.exceptions import MlmonError

PACKAGE = Path(mlmon.__file__).parent
_EXCEPTION_BASES = {"Exception", "BaseException", "RuntimeError", "ValueError", "TypeError", "LookupError"}


def _defining_modules() -> list[str]:
    """Modules whose source defines a class named ``*Error``/``*Exception``/``*Unavailable`` or one
    deriving straight from a builtin exception (found in the source, so no module is missed for not
    being imported elsewhere)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            if node.name.endswith(("Error", "Exception", "Unavailable")) or bases & _EXCEPTION_BASES:
                rel = path.relative_to(PACKAGE.parent).with_suffix("")
                found.append(".".join(rel.parts))
                break
    return found


def test_every_exception_class_is_an_mlmon_error() -> None:
    modules = _defining_modules()
    assert "mlmon.service.errors" in modules and "mlmon.serving.models" in modules
    outside = []
    for name in modules:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException) and not issubclass(cls, MlmonError):
                outside.append(f"{name}.{cls.__qualname__}")
    assert not outside, f"exception classes outside MlmonError: {outside}"


def test_overload_error_is_caught_as_mlmon_error() -> None:
    from mlmon.service.errors import OverloadedError

    with pytest.raises(MlmonError):
        raise OverloadedError("the worker's queue is full")


@pytest.mark.parametrize(
    ("path", "builtin"),
    [
        ("mlmon.exceptions.InputError", ValueError),
        ("mlmon.exceptions.DtypeError", TypeError),
        ("mlmon.core.artifacts.ArtifactError", ValueError),
        ("mlmon.store.ConflictError", ValueError),
        ("mlmon.store.NotFoundError", LookupError),
        ("mlmon.store.StoreUnavailableError", ConnectionError),
        ("mlmon.store.testing.PostgresUnavailable", RuntimeError),
        ("mlmon.service.errors.BadRequestError", ValueError),
        ("mlmon.deploy.errors.GateFailedError", ValueError),
    ],
)
def test_refined_builtins_are_kept(path: str, builtin: type[BaseException]) -> None:
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, MlmonError) and issubclass(cls, builtin)


def test_service_and_serving_share_the_http_error_classes() -> None:
    from mlmon.service import errors
    from mlmon.serving import predict

    with pytest.raises(errors.BadRequestError):
        predict.decode(b"{not json", "application/json")
    with pytest.raises(errors.UnsupportedMediaError):
        predict.decode(b"", "text/csv")
    for module in ("mlmon.serving.predict", "mlmon.serving.app", "mlmon.serving.routes"):
        own = [
            n for n, c in inspect.getmembers(importlib.import_module(module), inspect.isclass)
            if issubclass(c, BaseException) and c.__module__ == module and c.__name__ != "ShaMismatchError"
        ]  # fmt: skip
        assert own == [], f"{module} defines its own HTTP errors: {own}"
