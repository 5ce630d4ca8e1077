"""mlmon.core.artifacts: digests checked before any deserializer, skops with a trusted-type list, pickle and
joblib refused without a matching sha256, and a tampered artifact never runs its payload."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import FunctionTransformer

from mlmon.core.artifacts import (
    ArtifactError,
    detect_format,
    load_model,
    sha256_bytes,
    sha256_file,
)
from mlmon.exceptions import MlmonError
from shared_helpers import Payload, rewrite_skops_schema


@pytest.fixture(scope="module")
def model() -> RandomForestClassifier:
    x, y = load_iris(return_X_y=True)
    return RandomForestClassifier(n_estimators=3, random_state=0).fit(x, y)


def test_error_family() -> None:
    assert issubclass(ArtifactError, MlmonError)
    assert issubclass(ArtifactError, ValueError)


def test_sha256_bytes_and_file_agree(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)  # more than one read chunk
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert sha256_file(path) == sha256_bytes(data)
    assert sha256_bytes(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_detect_format_by_suffix_and_content(tmp_path: Path, model: RandomForestClassifier) -> None:
    assert detect_format(tmp_path / "m.skops") == "skops"
    assert detect_format(tmp_path / "m.JOBLIB") == "joblib"
    assert detect_format(tmp_path / "m.pkl") == "pickle"
    zipped = tmp_path / "model.bin"
    zipped.write_bytes(sio.dumps(model))
    assert detect_format(zipped) == "skops"
    pickled = tmp_path / "model.dat"
    pickled.write_bytes(pickle.dumps(model))
    assert detect_format(pickled) == "pickle"
    text = tmp_path / "model.txt"
    text.write_text("hello")
    with pytest.raises(ArtifactError, match=r"cannot tell the format of model\.txt"):
        detect_format(text)
    with pytest.raises(ArtifactError, match="cannot read"):
        detect_format(tmp_path / "missing")


def test_skops_roundtrip_with_and_without_digest(model: RandomForestClassifier) -> None:
    data = sio.dumps(model)
    x = load_iris().data[:5]
    for expected in (None, sha256_bytes(data), sha256_bytes(data).upper()):
        loaded = load_model(data, fmt="skops", expected_sha256=expected)
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_skops_digest_checked_before_loading(model: RandomForestClassifier) -> None:
    data = sio.dumps(model)
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        load_model(data, fmt="skops", expected_sha256="0" * 64)
    with pytest.raises(ArtifactError, match="64 hex digits"):
        load_model(data, fmt="skops", expected_sha256="abc")


def test_skops_numpy_ufunc_is_trusted() -> None:
    data = sio.dumps(FunctionTransformer(func=np.log1p).fit(np.ones((3, 2))))
    loaded = load_model(data, fmt="skops", expected_sha256=None)
    assert loaded.func is np.log1p


@pytest.mark.parametrize("evil", ["builtins.eval", "operator.call", "os.system", "subprocess.Popen"])
def test_skops_untrusted_types_refused(evil: str) -> None:
    data = sio.dumps(FunctionTransformer(func=np.log1p))
    module, name = evil.rsplit(".", 1)
    tampered = rewrite_skops_schema(
        data,
        (b'"__module__": "numpy"', f'"__module__": "{module}"'.encode(), -1),
        (b'"__class__": "log1p"', f'"__class__": "{name}"'.encode(), -1),
    )
    assert tampered != data
    with pytest.raises(ArtifactError, match=f"outside the trusted list.*{evil}"):
        load_model(tampered, fmt="skops", expected_sha256=None)


def test_skops_garbage_refused() -> None:
    with pytest.raises(ArtifactError, match="not a readable skops file"):
        load_model(b"PK\x03\x04 not really a zip", fmt="skops", expected_sha256=None)


@pytest.mark.parametrize("fmt", ["joblib", "pickle"])
def test_pickle_family_needs_a_digest(fmt: str, model: RandomForestClassifier) -> None:
    buf = io.BytesIO()
    joblib.dump(model, buf)
    data = buf.getvalue() if fmt == "joblib" else pickle.dumps(model)
    with pytest.raises(ArtifactError, match=r"can run arbitrary code.*--sha256"):
        load_model(data, fmt=fmt, expected_sha256=None)
    loaded = load_model(data, fmt=fmt, expected_sha256=sha256_bytes(data))
    assert isinstance(loaded, RandomForestClassifier)


@pytest.mark.parametrize("fmt", ["joblib", "pickle"])
def test_tampered_pickle_payload_never_runs(fmt: str, tmp_path: Path, model: RandomForestClassifier) -> None:
    sentinel = tmp_path / "pwned"
    honest = io.BytesIO()
    joblib.dump(model, honest)
    approved = sha256_bytes(honest.getvalue() if fmt == "joblib" else pickle.dumps(model))
    evil = io.BytesIO()
    joblib.dump(Payload(sentinel), evil)
    tampered = evil.getvalue() if fmt == "joblib" else pickle.dumps(Payload(sentinel))
    with pytest.raises(ArtifactError, match="sha256 mismatch"):
        load_model(tampered, fmt=fmt, expected_sha256=approved)
    with pytest.raises(ArtifactError, match="can run arbitrary code"):
        load_model(tampered, fmt=fmt, expected_sha256=None)
    assert not sentinel.exists()
    # the payload is real: a careless loader would have run it
    opened = pickle.loads(tampered) if fmt == "pickle" else joblib.load(io.BytesIO(tampered))
    opened.close()
    assert sentinel.exists()


def test_unknown_format_refused() -> None:
    with pytest.raises(ArtifactError, match="unknown artifact format 'onnx'"):
        load_model(b"x", fmt="onnx", expected_sha256=None)


def test_corrupt_pickle_with_matching_digest() -> None:
    data = b"\x80\x05garbage"
    with pytest.raises(ArtifactError, match="pickle artifact could not be loaded"):
        load_model(data, fmt="pickle", expected_sha256=sha256_bytes(data))
