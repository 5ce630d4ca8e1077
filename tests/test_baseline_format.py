"""The baseline file's whole-file checksum (issue 17, item 7; docs/baseline-format.md): every byte of a
sample file flipped three ways, and every truncation, is a CodecError; format 1 files still read."""

from __future__ import annotations

import hashlib

import msgspec
import numpy as np
import pytest

import mlmon
from mlmon.core.baseline import FORMAT_VERSION

MASKS = (0x01, 0x80, 0xFF)


@pytest.fixture(scope="module")
def sample() -> bytes:
    """A small file with both kinds of feature, a model identity and importances."""
    rng = np.random.default_rng(0)
    data = {"age": rng.normal(40, 9, 300), "plan": rng.choice(["a", "b"], 300)}
    baseline = mlmon.Baseline.fit(data, bins=3, model="m", version="v1", feature_importance={"age": 1.0})
    return baseline.to_bytes()


def test_the_file_ends_with_the_sha256_of_the_rest(sample: bytes) -> None:
    assert FORMAT_VERSION == 2
    assert sample[-34:-32] == b"\xc4\x20" and sample[-32:] == hashlib.sha256(sample[:-32]).digest()
    assert mlmon.Baseline.from_bytes(sample).to_bytes() == sample


def test_every_flipped_byte_is_refused(sample: bytes) -> None:
    accepted = []
    for offset in range(len(sample)):
        for mask in MASKS:
            damaged = bytearray(sample)
            damaged[offset] ^= mask
            try:
                mlmon.Baseline.from_bytes(bytes(damaged))
            except mlmon.CodecError:
                continue
            accepted.append((offset, mask))
    assert not accepted, f"flipped bytes accepted at (offset, xor mask): {accepted[:20]}"


def test_every_truncation_is_refused(sample: bytes) -> None:
    for size in range(len(sample)):
        with pytest.raises(mlmon.CodecError):
            mlmon.Baseline.from_bytes(sample[:size])


def test_format_1_files_still_read_and_cannot_be_faked(sample: bytes) -> None:
    doc = msgspec.msgpack.decode(sample)
    doc["format"] = 1
    checksum = doc.pop("checksum")
    old = mlmon.Baseline.from_bytes(msgspec.msgpack.encode(doc))
    assert old.fingerprint == mlmon.Baseline.from_bytes(sample).fingerprint
    doc["checksum"] = checksum  # a format 2 file whose format byte was turned into 1
    with pytest.raises(mlmon.CodecError, match="format 1 does not carry a checksum"):
        mlmon.Baseline.from_bytes(msgspec.msgpack.encode(doc))
    doc["format"] = 0
    with pytest.raises(mlmon.CodecError, match="format version 0"):
        mlmon.Baseline.from_bytes(msgspec.msgpack.encode(doc))
