"""Model artifacts: hash them, tell their format, and load them without running untrusted code.

The loading rule is the security contract of ``mlmon deploy`` and of the reference production API:

* the sha256 is checked before any deserializer sees a byte (skops included, when a digest is given);
* skops files are loaded with an explicit list of trusted types: classes defined by scikit-learn, numpy
  and scipy, and numpy ufuncs. Anything else the file names (``builtins.eval``, ``operator.call``,
  ``os.system``, a class from another package) refuses the file; ``skops.io.get_untrusted_types`` is
  only used to list what the file names, never trusted blindly;
* pickle and joblib files can run arbitrary code while they load, so they are accepted only when the
  caller gives the sha256 it expects and the bytes match it: the digest is what vouches for the file.
  That is integrity, not trust: the production API (:mod:`mlmon.serving`) also needs the operator to
  allow them at start-up and to vouch for each file, by a sha256 allow-list in its configuration or an
  HMAC-SHA256 signature (:func:`artifact_signature`) made with a key only the deploy step holds.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import io
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mlmon.core._compat import require
from mlmon.core.exceptions import MlmonError

__all__ = [
    "FORMATS",
    "ArtifactError",
    "artifact_signature",
    "check_loadable",
    "check_sha256",
    "detect_format",
    "load_model",
    "normalize_sha256",
    "sha256_bytes",
    "sha256_file",
    "trusted_skops_types",
]

FORMATS = ("skops", "joblib", "pickle")
_SUFFIXES = {".skops": "skops", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle"}
_TRUSTED_PACKAGES = ("sklearn", "numpy", "scipy")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ArtifactError(MlmonError, ValueError):
    """A model artifact was refused: unknown format, digest mismatch, untrusted types or unreadable."""


def artifact_signature(key: str, data: bytes) -> str:
    """The HMAC-SHA256 of ``data`` under ``key``, as lowercase hex: what ``mlmon deploy`` sends as
    ``X-Model-Signature`` and the production API checks before loading a pickle or joblib artifact."""
    return hmac.new(key.encode(), data, hashlib.sha256).hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The lowercase hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """The lowercase hex sha256 of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def normalize_sha256(value: str) -> str:
    """``value`` as 64 lowercase hex digits, or :class:`ArtifactError` naming what is wrong."""
    text = value.strip().lower()
    if not _HEX64.match(text):
        raise ArtifactError(f"sha256 must be 64 hex digits, got {len(text)} characters")
    return text


def check_sha256(data: bytes, expected: str) -> str:
    """Return the digest of ``data`` if it equals ``expected``, else raise :class:`ArtifactError`."""
    want = normalize_sha256(expected)
    got = sha256_bytes(data)
    if got != want:
        raise ArtifactError(
            f"artifact sha256 mismatch: expected {want}, the bytes hash to {got}; "
            "the file was changed or is not the one that was approved, so it was not loaded"
        )
    return got


def detect_format(path: str | Path) -> str:
    """``"skops"``, ``"joblib"`` or ``"pickle"`` from the file suffix, else from its first bytes."""
    p = Path(path)
    by_suffix = _SUFFIXES.get(p.suffix.lower())
    if by_suffix is not None:
        return by_suffix
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise ArtifactError(f"cannot read artifact {p}: {exc.strerror}") from exc
    if head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(p):
        return "skops"
    if head[:1] == b"\x80":
        return "pickle"
    raise ArtifactError(f"cannot tell the format of {p.name}: use a .skops, .joblib, .pkl or .pickle file")


def _resolve(name: str) -> Any:
    """The object a dotted ``module.attr`` name points to, or ``None`` (never imports outside the
    trusted packages, so naming a type cannot import arbitrary code)."""
    if name.split(".", 1)[0] not in _TRUSTED_PACKAGES:
        return None
    module_name, _, attr = name.rpartition(".")
    while module_name:
        try:
            obj: Any = importlib.import_module(module_name)
        except ImportError:
            module_name, _, head = module_name.rpartition(".")
            attr = f"{head}.{attr}"
            continue
        for part in attr.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj
    return None


def _is_trusted(name: str) -> bool:
    """True when ``name`` is a class of scikit-learn, numpy or scipy, or a numpy ufunc."""

    obj = _resolve(name)
    if isinstance(obj, np.ufunc):
        return True
    if not isinstance(obj, type):
        return False
    return obj.__module__.split(".", 1)[0] in _TRUSTED_PACKAGES


def trusted_skops_types(data: bytes) -> list[str]:
    """The types ``data`` names beyond skops' defaults, all checked against the trusted list.

    Raises :class:`ArtifactError` listing every type that is not trusted."""
    sio = require("skops.io", "deploy")

    try:
        named = sio.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises many kinds on a corrupt zip; all mean "unreadable"
        raise ArtifactError(f"not a readable skops file: {exc}") from exc
    refused = sorted(name for name in named if not _is_trusted(name))
    if refused:
        raise ArtifactError(
            "skops artifact names types outside the trusted list (scikit-learn, numpy and scipy "
            f"classes, numpy ufuncs): {', '.join(refused)}; it was not loaded"
        )
    return list(named)


def _load_skops(data: bytes) -> Any:
    sio = require("skops.io", "deploy")

    trusted = trusted_skops_types(data)
    try:
        return sio.loads(data, trusted=trusted)
    except Exception as exc:  # a file that passed the type audit but is corrupt
        raise ArtifactError(f"skops artifact could not be loaded: {exc}") from exc


def check_loadable(data: bytes, *, fmt: str, expected_sha256: str | None) -> str:
    """Every check :func:`load_model` makes before a deserializer runs, without deserializing: a known
    format, the digest when given, and a digest required for pickle and joblib. Returns the digest.

    Raises:
        ArtifactError: unknown format, digest mismatch, or pickle/joblib without a digest.
    """
    if fmt not in FORMATS:
        raise ArtifactError(f"unknown artifact format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if expected_sha256 is not None:
        return check_sha256(data, expected_sha256)
    if fmt != "skops":
        raise ArtifactError(
            f"{fmt} artifacts can run arbitrary code while they load, so they are loaded only "
            "with the sha256 you expect (--sha256): give it, or save the model with skops"
        )
    return sha256_bytes(data)


def load_model(data: bytes, *, fmt: str, expected_sha256: str | None) -> Any:
    """Deserialize a model from ``data`` under the rules in the module docstring.

    Args:
        data: The artifact bytes.
        fmt: ``"skops"``, ``"joblib"`` or ``"pickle"``.
        expected_sha256: The digest the bytes must have; required for joblib and pickle.

    Raises:
        ArtifactError: Unknown format, digest mismatch, missing digest for pickle/joblib, untrusted
            skops types, or unreadable bytes.
    """
    check_loadable(data, fmt=fmt, expected_sha256=expected_sha256)  # before any deserializer
    if fmt == "skops":
        return _load_skops(data)
    try:
        if fmt == "joblib":
            joblib = require("joblib", "deploy")

            return joblib.load(io.BytesIO(data))
        return pickle.loads(data)  # digest verified above: the caller vouched for these bytes
    except Exception as exc:
        raise ArtifactError(f"{fmt} artifact could not be loaded: {exc}") from exc
