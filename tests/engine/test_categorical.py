"""CategoryCounts against collections.Counter, across every input layout."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlmon import _engine as e

labels = st.sampled_from(["a", "b", "c", "dé", "", "long label " * 3, "ü"])
values = st.lists(st.one_of(labels, st.none()), max_size=300)


def obj(xs: list[object]) -> np.ndarray:
    a = np.empty(len(xs), dtype=object)
    a[:] = xs
    return a


def expected(ref: list[object], cur: list[object], cats: list[object]) -> dict[str, int]:
    c = Counter(cur)
    seen = set(cats)
    return {
        "unseen": sum(n for v, n in c.items() if v is not None and v not in seen),
        "missing": c[None],
        **{str(k): c[k] for k in cats},
    }


@given(values.filter(lambda v: any(x is not None for x in v)), values)
def test_object_arrays_count_like_counter(ref: list[object], cur: list[object]) -> None:
    cc = e.CategoryCounts.fit(obj(ref))
    ref_counts = Counter(x for x in ref if x is not None)
    assert sorted(cc.categories) == sorted(ref_counts)
    assert cc.cardinality == len(ref_counts)
    # Categories come by descending frequency, ties by value.
    assert cc.categories == sorted(ref_counts, key=lambda k: (-ref_counts[k], k))
    live = cc.empty_like()
    live.update(obj(cur))
    want = expected(ref, cur, cc.categories)
    assert live.unseen == want["unseen"]
    assert live.missing == want["missing"]
    assert [int(n) for n in live.counts] == [want[str(k)] for k in cc.categories]
    assert live.total == len(cur)


@given(values.filter(lambda v: any(x is not None for x in v)), values)
def test_unicode_arrays_and_codes_agree_with_objects(ref: list[object], cur: list[object]) -> None:
    cc = e.CategoryCounts.fit(obj(ref))
    present = [x for x in cur if x is not None]
    via_obj, via_u, via_codes = cc.empty_like(), cc.empty_like(), cc.empty_like()
    via_obj.update(obj(present))
    via_u.update(np.array(present, dtype=str) if present else np.array([], dtype="U1"))
    dictionary = sorted(set(present))
    codes = np.array([dictionary.index(x) for x in present], dtype=np.int16)
    via_codes.update_codes(codes, dictionary)
    assert via_obj == via_u
    assert via_obj.distribution.tolist() == via_codes.distribution.tolist()


def test_integer_categories_and_bools() -> None:
    cc = e.CategoryCounts.fit(np.array([3, 3, 1, 7], dtype=np.int64))
    assert cc.categories == [3, 1, 7]
    cc.update(np.array([1, 9, 9], dtype=np.int8))
    assert cc.unseen == 2
    assert cc.top_unseen() == [(9, 2)]
    b = e.CategoryCounts.fit(np.array([True, False, True]))
    assert b.categories == ["True", "False"]


def test_codes_with_missing_and_out_of_range() -> None:
    cc = e.CategoryCounts.fit(obj(["x", "y", "y"]))
    live = cc.empty_like()
    live.update_codes(np.array([0, 1, -1, 1], dtype=np.int8), ["y", "x"])
    assert live.counts.tolist() == [1, 2]
    assert live.missing == 1
    with pytest.raises(e.InputError, match="code 5 is out of range"):
        live.update_codes(np.array([0, 5]), ["y", "x"])
    assert live.total == 4, "a rejected batch must change no count"


def test_folding_beyond_max_categories() -> None:
    ref = obj([f"v{i}" for i in range(50) for _ in range(50 - i)])
    cc = e.CategoryCounts.fit(ref, max_categories=10)
    assert len(cc.categories) == 10
    assert cc.folded and cc.cardinality == 50
    assert cc.other == sum(50 - i for i in range(10, 50))
    live = cc.empty_like()
    live.update(obj(["v0", "v30", "v49", "brand-new"]))
    assert live.counts[0] == 1
    assert live.other == 2
    assert live.unseen == 1


def test_top_unseen_is_bounded_and_names_the_heavy_values() -> None:
    cc = e.CategoryCounts.fit(obj(["a"]), top_k=5)
    noise = [f"n{i}" for i in range(1000)]
    cc.update(obj(noise + ["hot"] * 300))
    top = cc.top_unseen()
    assert len(top) <= 5
    assert top[0] == ("hot", 300)


def test_missing_values_forms() -> None:
    cc = e.CategoryCounts.fit(obj(["a", None, float("nan")]))
    assert cc.missing == 2
    with pytest.raises(e.DtypeError, match="must be str or int"):
        cc.update(obj([1.5]))
    with pytest.raises(e.DtypeError, match="unsupported dtype"):
        cc.update(np.array([1.5, 2.5]))


@pytest.mark.parametrize("ref", [obj([]), obj([None, None])])
def test_unusable_references(ref: np.ndarray) -> None:
    with pytest.raises(e.InputError, match="cannot fit categories"):
        e.CategoryCounts.fit(ref)


def test_merge_requires_same_categories() -> None:
    a = e.CategoryCounts.fit(obj(["a", "b"]))
    b = e.CategoryCounts.fit(obj(["a", "c"]))
    with pytest.raises(e.SchemaMismatchError, match="different categories"):
        a.merge(b)


@given(values, values)
def test_merge_is_exact_addition(x: list[object], y: list[object]) -> None:
    base = e.CategoryCounts.fit(obj(["a", "b", "c"]))
    whole, a, b = base.empty_like(), base.empty_like(), base.empty_like()
    whole.update(obj(x + y))
    a.update(obj(x))
    b.update(obj(y))
    a.merge(b)
    assert a.distribution.tolist() == whole.distribution.tolist()
    assert a.missing == whole.missing


def test_strided_unicode_array() -> None:
    base = np.array(["a", "b", "c", "a"] * 10)
    cc = e.CategoryCounts.fit(base[::2])
    assert cc.categories == ["a", "c"]
    assert cc.counts.tolist() == [10, 10]


def arrow_chunks(arr: "object") -> list[tuple[np.ndarray, object, np.ndarray | None, int]]:
    import pyarrow as pa

    out = []
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]  # type: ignore[attr-defined]
    for c in chunks:
        if pa.types.is_string_view(c.type):
            validity, views, *data = c.buffers()
            raw = np.frombuffer(views, dtype=np.uint8)[c.offset * 16 : (c.offset + len(c)) * 16]
            bufs = [np.frombuffer(b, dtype=np.uint8) for b in data if b is not None]
            bits = None if validity is None else np.frombuffer(validity, dtype=np.uint8)
            out.append((raw, bufs, bits, c.offset))
            continue
        validity, offsets, data = c.buffers()[:3]
        width = np.int32 if pa.types.is_string(c.type) else np.int64
        offs = np.frombuffer(offsets, dtype=width)[c.offset : c.offset + len(c) + 1]
        bits = None if validity is None else np.frombuffer(validity, dtype=np.uint8)
        out.append((offs, np.frombuffer(data, dtype=np.uint8), bits, c.offset))
    return out


@given(values.filter(lambda v: any(x is not None for x in v)), values, st.integers(0, 50))
def test_arrow_buffers_count_like_objects(ref: list[object], cur: list[object], cut: int) -> None:
    pa = pytest.importorskip("pyarrow")
    for typ in (pa.string(), pa.large_string(), pa.string_view()):
        ref_arr = pa.array(ref, type=typ)
        via_arrow = e.CategoryCounts.fit_arrow(arrow_chunks(ref_arr))
        via_obj = e.CategoryCounts.fit(obj(ref))
        assert via_arrow == via_obj
        cut = min(cut, len(cur))
        # Sliced chunks: offsets and validity bits must start at the slice, not the buffer.
        chunked = pa.chunked_array([pa.array(cur, type=typ)[:cut], pa.array(cur, type=typ)[cut:]], type=typ)
        a, o = via_obj.empty_like(), via_obj.empty_like()
        a.update_arrow(arrow_chunks(chunked))
        o.update(obj(cur))
        assert a == o


def test_arrow_buffers_are_validated() -> None:
    data = np.frombuffer(b"abc", dtype=np.uint8)
    cc = e.CategoryCounts.fit(obj(["a"]))
    with pytest.raises(e.InputError, match="out of bounds"):
        cc.update_arrow([(np.array([0, 9], dtype=np.int32), data, None, 0)])
    with pytest.raises(e.InputError, match="out of bounds or decreasing"):
        cc.update_arrow([(np.array([2, 1], dtype=np.int64), data, None, 0)])
    with pytest.raises(e.InputError, match="bitmap"):
        cc.update_arrow([(np.arange(12, dtype=np.int32) % 3, data, np.zeros(1, np.uint8), 0)])
    with pytest.raises(e.InputError, match="UTF-8"):
        cc.update_arrow([(np.array([0, 1], dtype=np.int32), np.array([0xFF], dtype=np.uint8), None, 0)])
    with pytest.raises(e.DtypeError):
        cc.update_arrow([(np.array([0.0, 1.0]), data, None, 0)])
    assert cc.total == 1, "rejected batches change no count"
