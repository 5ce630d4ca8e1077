"""Codec round trips, and hostile bytes always raising CodecError (never a crash)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlmon import _engine as e


def sample_profile() -> list[tuple[str, e.NumericHistogram | e.CategoryCounts]]:
    h = e.NumericHistogram(e.BinEdges.quantile(np.random.default_rng(0).normal(size=500), 10))
    h.update(np.array([0.1, np.nan, 99.0]))
    c = e.CategoryCounts.fit(np.array(["a", "b", "b", None], dtype=object), max_categories=1)
    c.update(np.array(["zz", "a"], dtype=object))
    return [("age", h), ("plan", c)]


def test_round_trips() -> None:
    features = sample_profile()
    h, c = features[0][1], features[1][1]
    assert isinstance(h, e.NumericHistogram) and isinstance(c, e.CategoryCounts)
    assert e.NumericHistogram.from_bytes(h.to_bytes()) == h
    assert e.CategoryCounts.from_bytes(c.to_bytes()) == c
    back = e.decode_profile(e.encode_profile(features))
    assert [n for n, _ in back] == ["age", "plan"]
    assert back[0][1] == h and back[1][1] == c


def test_every_truncation_is_rejected() -> None:
    data = e.encode_profile(sample_profile())
    for n in range(len(data)):
        with pytest.raises(e.CodecError):
            e.decode_profile(data[:n])


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_raise_codec_error(data: bytes) -> None:
    for decode in (e.decode_profile, e.NumericHistogram.from_bytes, e.CategoryCounts.from_bytes):
        with pytest.raises(e.CodecError):
            decode(data)


@given(st.data())
def test_corrupted_bytes_raise_codec_error(data: st.DataObject) -> None:
    raw = bytearray(e.encode_profile(sample_profile()))
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    with pytest.raises(e.CodecError):
        e.decode_profile(bytes(raw))


def test_hostile_declared_length_fails_fast() -> None:
    import struct
    import zlib

    body = b"MLMN" + struct.pack("<HB", 1, 3) + struct.pack("<I", 0xFFFFFFFF)
    data = body + struct.pack("<I", zlib.crc32(body))
    with pytest.raises(e.CodecError, match="exceeds the input"):
        e.decode_profile(data)


def test_newer_version_is_named() -> None:
    import struct
    import zlib

    body = b"MLMN" + struct.pack("<HB", 99, 3) + struct.pack("<I", 0)
    with pytest.raises(e.CodecError, match="unsupported format version 99"):
        e.decode_profile(body + struct.pack("<I", zlib.crc32(body)))


def test_encode_rejects_other_objects() -> None:
    with pytest.raises(e.DtypeError, match='feature "x"'):
        e.encode_profile([("x", object())])  # type: ignore[list-item]
