"""Type stubs for ``mlmon._engine``, the Rust extension. Docstrings live here (pydantic-core style).

Use the public ``mlmon`` API; this module is private and may change between releases.
"""

from collections.abc import Sequence
from typing import Any, Final, TypeAlias, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_EPS",
    "FORMAT_VERSION",
    "SIMD",
    "BinEdges",
    "CategoryCounts",
    "CodecError",
    "DtypeError",
    "IngestReader",
    "InputError",
    "MlmonError",
    "NumericHistogram",
    "Profile",
    "QuantileSketch",
    "SchemaMismatchError",
    "__version__",
    "chi2_sf",
    "chi_square_contingency",
    "chi_square_gof",
    "chi_square_pooled",
    "decode_profile",
    "encode_profile",
    "fit_numeric",
    "hellinger",
    "js_distance",
    "kl_divergence",
    "psi",
    "update_2d",
    "wasserstein",
]

__version__: Final[str]
FORMAT_VERSION: Final[int]
DEFAULT_EPS: Final[float]
SIMD: Final[str]

class MlmonError(Exception):
    """Base class of every error mlmon raises."""

class InputError(MlmonError, ValueError):
    """Input values are unusable: empty, out of range, mismatched lengths."""

class SchemaMismatchError(MlmonError, ValueError):
    """Profiles built on different edges or categories, or data that does not match a schema."""

class CodecError(MlmonError, ValueError):
    """Bytes that are not a valid encoded mlmon profile."""

class DtypeError(MlmonError, TypeError):
    """An array or value of a type mlmon cannot read."""

_Category: TypeAlias = str | int
_ArrowChunk: TypeAlias = tuple[
    npt.NDArray[np.int32] | npt.NDArray[np.int64] | npt.NDArray[np.uint8],
    npt.NDArray[np.uint8] | list[npt.NDArray[np.uint8]],
    npt.NDArray[np.uint8] | None,
    int,
]

@final
class BinEdges:
    """Cut points of one numerical feature and the reference range ``[lower, upper]``.

    Bins are left-closed ``[c_i, c_i+1)`` as ``np.searchsorted(cuts, x, side="right")`` assigns; the
    outer bins are open, so every non-NaN value lands in a bin.
    """

    @staticmethod
    def quantile(
        reference: npt.NDArray[Any],
        bins: int = 10,
        validity: npt.NDArray[np.uint8] | None = None,
        validity_offset: int = 0,
    ) -> BinEdges:
        """Quantile edges: numpy's linear ``np.quantile`` of the finite reference values at
        ``i / bins``, then ties merged so that no bin is empty on the reference. With an Arrow-style
        ``validity`` bitmap (LSB first, 1 = present; ``validity_offset`` is the bit of element 0),
        values whose bit is clear are nulls and left out.

        Raises:
            InputError: empty or all-NaN reference, or ``bins`` outside 1..65536.
            DtypeError: not a 1-D numeric numpy array.
        """
    @staticmethod
    def uniform(reference: npt.NDArray[Any], bins: int = 10) -> BinEdges:
        """``bins`` equal-width bins between the finite reference minimum and maximum."""
    @staticmethod
    def explicit(cuts: npt.ArrayLike, lower: float = float("-inf"), upper: float = float("inf")) -> BinEdges:
        """Explicit cut points (finite, strictly increasing) and an optional reference range."""
    @property
    def cuts(self) -> npt.NDArray[np.float64]:
        """Inner cut points, ``n_bins - 1`` of them."""
    @property
    def lower(self) -> float:
        """Smallest finite reference value (``-inf`` when unknown)."""
    @property
    def upper(self) -> float:
        """Largest finite reference value (``inf`` when unknown)."""
    @property
    def n_bins(self) -> int:
        """Number of bins."""
    def positions(self) -> npt.NDArray[np.float64]:
        """A position per bin for Wasserstein distance: inner-bin midpoints; outer bins at the midpoint
        between the reference extreme and their cut."""
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

@final
class NumericHistogram:
    """Exact counts of one numerical feature: per bin, missing (NaN) and out-of-range.

    Thread-safe: updates release the GIL and lock the counts.
    """

    def __new__(cls, edges: BinEdges) -> NumericHistogram: ...
    def update(
        self,
        values: npt.NDArray[Any],
        validity: npt.NDArray[np.uint8] | None = None,
        validity_offset: int = 0,
    ) -> None:
        """Counts a 1-D float64/float32/integer array, contiguous or strided, without copying it.
        With an Arrow-style ``validity`` bitmap (float arrays only), values whose bit is clear count as
        missing: nullable columns are counted without a NaN-filled copy.

        Raises:
            DtypeError: unsupported dtype, not an array, or a bitmap with integer values.
            InputError: not 1-D, or a bitmap too short for the values.
        """
    def merge(self, other: NumericHistogram) -> None:
        """Adds ``other``'s counts in place.

        Raises:
            SchemaMismatchError: the edges differ.
        """
    def copy(self) -> NumericHistogram:
        """An independent copy."""
    def reset(self) -> None:
        """Zeroes the counts."""
    @property
    def edges(self) -> BinEdges:
        """The edges the counts align to."""
    @property
    def counts(self) -> npt.NDArray[np.uint64]:
        """Count per bin (a copy)."""
    @property
    def missing(self) -> int:
        """NaN values seen."""
    @property
    def out_of_range(self) -> int:
        """Values outside the reference range (also counted in their outer bin)."""
    @property
    def total(self) -> int:
        """All values seen, missing included."""
    def to_bytes(self) -> bytes:
        """Compact, versioned, checksummed encoding."""
    @staticmethod
    def from_bytes(data: bytes) -> NumericHistogram:
        """Decodes :meth:`to_bytes` output.

        Raises:
            CodecError: truncated, corrupted or unsupported bytes.
        """
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

@final
class CategoryCounts:
    """Exact counts of one categorical feature against the reference's categories, plus ``other``
    (folded reference categories beyond ``max_categories``), ``unseen`` and ``missing``.

    Counting releases the GIL for codes, integers, numpy ``U`` strings and Arrow buffers; object
    arrays are read with the GIL held, since their elements are Python objects (each distinct object
    is looked at once). Thread-safe: updates lock the counts.
    """

    @staticmethod
    def fit(values: npt.NDArray[Any], max_categories: int = 10000, top_k: int = 20) -> CategoryCounts:
        """Fits on a reference array (object array of str/int/None, numpy ``U`` strings, integers or
        bools) and counts it. Categories are ordered by descending frequency.

        Raises:
            InputError: empty or all-missing reference.
            DtypeError: unsupported dtype or value type.
        """
    @staticmethod
    def fit_codes(
        codes: npt.NDArray[np.integer[Any]],
        categories: Sequence[_Category | None] | npt.NDArray[Any],
        max_categories: int = 10000,
        top_k: int = 20,
    ) -> CategoryCounts:
        """Fits on dictionary codes (pandas Categorical codes, Arrow indices); negative codes are missing."""
    @staticmethod
    def fit_arrow(
        chunks: Sequence[_ArrowChunk], max_categories: int = 10000, top_k: int = 20
    ) -> CategoryCounts:
        """Fits on Arrow string arrays given by their buffers, without building Python strings.

        Each chunk is ``(offsets, data, validity, bit_offset)`` for ``string``/``large_string``: int32
        or int64 offsets already sliced to the array (``n + 1`` of them) and the uint8 data buffer; or
        ``(views, [data buffers], validity, bit_offset)`` for ``string_view``: the array's ``n * 16``
        view bytes and its variadic buffers. ``validity`` is the uint8 bitmap or ``None``, and
        ``bit_offset`` the bit index of the array's first element in that bitmap.

        Raises:
            InputError: offsets out of bounds or decreasing, a short bitmap, or invalid UTF-8.
        """
    @staticmethod
    def fit_counts(
        values: Sequence[_Category | bool | None],
        counts: Sequence[int],
        missing: int = 0,
        max_categories: int = 10000,
        top_k: int = 20,
    ) -> CategoryCounts:
        """Fits on distinct values and their counts (``None``/NaN values add to ``missing``, duplicates
        add up): the reference of a stream whose value counts were summed batch by batch.

        Raises:
            InputError: lengths differ, or no value has a positive count.
            DtypeError: a value that is not str, int, bool or None.
        """
    def update_arrow(self, chunks: Sequence[_ArrowChunk]) -> None:
        """Counts Arrow string arrays given by their buffers (see :meth:`fit_arrow`)."""
    def update(self, values: npt.NDArray[Any]) -> None:
        """Counts a batch (same input kinds as :meth:`fit`)."""
    def update_codes(
        self,
        codes: npt.NDArray[np.integer[Any]],
        categories: Sequence[_Category | None] | npt.NDArray[Any],
    ) -> None:
        """Counts a batch given as codes into its own dictionary ``categories``.

        Raises:
            InputError: a code is out of range for the dictionary (nothing is counted).
        """
    def merge(self, other: CategoryCounts) -> None:
        """Adds ``other``'s counts in place.

        Raises:
            SchemaMismatchError: the categories differ.
        """
    def empty_like(self) -> CategoryCounts:
        """The same categories with zero counts."""
    def copy(self) -> CategoryCounts:
        """An independent copy."""
    def reset(self) -> None:
        """Zeroes the counts and the unseen sketch."""
    @property
    def categories(self) -> list[_Category]:
        """Reference categories by descending reference frequency."""
    @property
    def counts(self) -> npt.NDArray[np.uint64]:
        """Count per category."""
    @property
    def distribution(self) -> npt.NDArray[np.uint64]:
        """Counts per category, then ``other``, then ``unseen``: what the statistics compare."""
    @property
    def other(self) -> int:
        """Values of folded reference categories."""
    @property
    def unseen(self) -> int:
        """Values not in the reference."""
    @property
    def missing(self) -> int:
        """Missing values (None, NaN, negative codes)."""
    @property
    def total(self) -> int:
        """All values, missing included."""
    @property
    def cardinality(self) -> int:
        """Distinct non-missing values in the reference (exact, from fit)."""
    @property
    def folded(self) -> bool:
        """Whether some reference categories were folded into ``other``."""
    def top_unseen(self, k: int | None = None) -> list[tuple[_Category, int]]:
        """The most frequent unseen values with (upper-bound) counts, largest first."""
    def to_bytes(self) -> bytes:
        """Compact, versioned, checksummed encoding."""
    @staticmethod
    def from_bytes(data: bytes) -> CategoryCounts:
        """Decodes :meth:`to_bytes` output.

        Raises:
            CodecError: truncated, corrupted or unsupported bytes.
        """
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

@final
class QuantileSketch:
    """A mergeable KLL quantile sketch of one numerical feature, for quantile edges of references larger
    than memory or split across partitions.

    Keeps about ``4 * k`` values whatever the input size; exact up to ``k`` values. With probability
    99%, every quantile it answers is within :attr:`epsilon` (``2.446 / k**0.9433``: 1.66% at
    ``k = 200``) of the requested rank, as a fraction of :attr:`n`, also after merges. Deterministic:
    the same input in the same order gives the same sketch. NaN, infinities and nulls are skipped.
    Thread-safe: updates release the GIL and lock the sketch.
    """

    def __new__(cls, k: int = 200) -> QuantileSketch:
        """An empty sketch.

        Raises:
            InputError: ``k`` outside 8..65535.
        """
    def update(
        self,
        values: npt.NDArray[Any],
        validity: npt.NDArray[np.uint8] | None = None,
        validity_offset: int = 0,
    ) -> None:
        """Adds the finite values of a 1-D float64/float32/integer array (any strides, not copied);
        with an Arrow-style ``validity`` bitmap, values whose bit is clear are skipped."""
    def merge(self, other: QuantileSketch) -> None:
        """Adds ``other``'s values in place.

        Raises:
            SchemaMismatchError: the sketches have different ``k``.
        """
    def quantiles(self, probs: Sequence[float]) -> npt.NDArray[np.float64]:
        """A value per probability (each in [0, 1]): the smallest kept value whose cumulative weight
        reaches ``p * n``; 0 gives the minimum and 1 the maximum. Every answer is an input value.

        Raises:
            InputError: an empty sketch or a probability outside [0, 1].
        """
    def rank(self, x: float, inclusive: bool = True) -> float:
        """Estimated fraction of values ``<= x`` (``< x`` when not ``inclusive``); NaN when empty."""
    def edges(self, bins: int = 10) -> BinEdges:
        """Quantile bin edges at ``i / bins`` with ties merged; no bin is empty on the reference.

        Raises:
            InputError: an empty sketch or ``bins`` outside 1..65536.
        """
    @property
    def k(self) -> int:
        """The accuracy parameter."""
    @property
    def n(self) -> int:
        """Finite values seen."""
    @property
    def min(self) -> float:
        """Smallest finite value seen (``inf`` when empty)."""
    @property
    def max(self) -> float:
        """Largest finite value seen (``-inf`` when empty)."""
    @property
    def retained(self) -> int:
        """Values kept."""
    @property
    def epsilon(self) -> float:
        """The normalized rank error bound (99% confidence, all quantiles at once)."""
    @staticmethod
    def epsilon_for(k: int) -> float:
        """The rank error bound of a sketch with accuracy ``k``."""
    def copy(self) -> QuantileSketch:
        """An independent copy."""
    def to_bytes(self) -> bytes:
        """Compact, versioned, checksummed encoding (the engine codec)."""
    @staticmethod
    def from_bytes(data: bytes) -> QuantileSketch:
        """Decodes :meth:`to_bytes` output.

        Raises:
            CodecError: truncated, corrupted or inconsistent bytes.
        """
    def __eq__(self, other: object, /) -> bool: ...
    def __reduce__(self) -> tuple[Any, ...]: ...

def update_2d(
    histograms: Sequence[NumericHistogram], values: npt.NDArray[Any], threads: int | None = None
) -> None:
    """Updates ``histograms[j]`` with column ``j`` of a rows x features array (C or F order, float64,
    float32, int64 or int32), splitting rows across ``threads`` workers (default: all cores)."""

def fit_numeric(
    columns: Sequence[tuple[npt.NDArray[Any], npt.NDArray[np.uint8] | None, int]],
    bins: int = 10,
    threads: int | None = None,
) -> list[NumericHistogram]:
    """The reference histogram of each ``(values, validity, validity_offset)`` column, fitted in one
    call with the GIL released once and the columns spread over ``threads`` workers (default: all
    cores); each equals ``NumericHistogram(BinEdges.quantile(values, bins, ...))`` updated with the
    values. The first column that cannot be fitted raises its error."""

def psi(expected: npt.ArrayLike, actual: npt.ArrayLike, eps: float = 1e-4) -> float:
    """Population Stability Index ``sum((a - e) * ln(a / e))`` over proportions floored at ``eps``
    and renormalized."""

def kl_divergence(expected: npt.ArrayLike, actual: npt.ArrayLike, eps: float = 1e-4) -> float:
    """``KL(actual || expected)`` in nats over proportions floored at ``eps`` and renormalized."""

def js_distance(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Jensen-Shannon distance, base 2, as ``scipy.spatial.distance.jensenshannon(..., base=2)``."""

def hellinger(expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Hellinger distance in [0, 1]."""

def wasserstein(positions: BinEdges | npt.ArrayLike, expected: npt.ArrayLike, actual: npt.ArrayLike) -> float:
    """Wasserstein-1 between two histograms placed at ``positions`` (or ``edges.positions()``)."""

def chi_square_gof(observed: npt.ArrayLike, expected_proportions: npt.ArrayLike) -> tuple[float, int, float]:
    """``(statistic, dof, p_value)`` as ``scipy.stats.chisquare``."""

def chi_square_contingency(reference: npt.ArrayLike, current: npt.ArrayLike) -> tuple[float, int, float]:
    """``(statistic, dof, p_value)`` of the 2 x k table, as ``scipy.stats.chi2_contingency(...,
    correction=False)``; columns empty in both rows are dropped."""

@final
class IngestReader:
    """Reads the ``columns`` map of a service ingest body (msgpack) straight into the counts of one
    baseline's features, with the service's column forms, limits and messages (engine/src/wire).

    Thread-safe and immutable: built once per baseline, used by every request.
    """

    def __new__(
        cls, empty_profile: bytes, int_labels: Sequence[str], max_rows: int, max_categories: int
    ) -> IngestReader:
        """A reader for the features of ``empty_profile`` (encoded, zero counts, baseline order);
        ``int_labels`` names the categorical features whose labels are integers.

        Raises:
            CodecError: ``empty_profile`` is not an encoded profile.
        """
    def fold_msgpack(self, columns: bytes | npt.NDArray[np.uint8]) -> tuple[bytes, int]:
        """The encoded profile of one body's ``columns`` map and its row count. ``columns`` is bytes or
        a contiguous 1-D uint8 view of them (``np.frombuffer`` over a ``msgspec.Raw``: no copy).

        Raises:
            InputError: a column the schema or the batch rules refuse, named with the problem.
            CodecError: bytes that are not msgpack (truncated, reserved byte, invalid UTF-8).
        """
    def fold_json(self, columns: bytes | npt.NDArray[np.uint8]) -> tuple[bytes, int] | None:
        """The encoded profile and row count of a JSON ``columns`` map when the engine's strict reader
        accepts it (no escapes, exact numbers, canonical base64, no repeated or unknown key); ``None``
        leaves it to msgspec. ``columns`` as for :meth:`fold_msgpack`.

        Raises:
            InputError: the batch rules refuse it (lengths, limits, codes), named with the problem.
        """
    @property
    def names(self) -> list[str]:
        """The features, in baseline order."""

@final
class Profile:
    """The counts of every feature of a baseline, in order: one ``NumericHistogram`` or
    ``CategoryCounts`` per feature, updated by a whole batch in one call.

    A profile built from counts objects shares them: updates through the profile are seen through
    the objects and the other way round. Thread-safe: updates lock every feature they count.
    """

    def __new__(cls, features: Sequence[tuple[str, NumericHistogram | CategoryCounts]]) -> Profile:
        """A profile over ``features`` (the objects themselves, not copies).

        Raises:
            InputError: a duplicate name, or the same object twice.
            DtypeError: an object that is not a histogram or category counts.
        """
    @staticmethod
    def from_bytes(data: bytes) -> Profile:
        """Decodes :meth:`to_bytes` (or :func:`encode_profile`) output into new counts objects.

        Raises:
            CodecError: truncated, corrupted, duplicate-named or unsupported bytes.
        """
    def to_bytes(self) -> bytes:
        """The counts in the codec's profile layout (what :func:`encode_profile` writes)."""
    @staticmethod
    def merge_bytes(a: bytes, b: bytes) -> bytes:
        """Merges two encoded profiles in the engine: counts of a feature add, features only ``b``
        has are appended.

        Raises:
            CodecError: either input is not a valid profile.
            SchemaMismatchError: a feature differs in kind, edges or categories.
        """
    @staticmethod
    def merge_all(blobs: Sequence[bytes]) -> bytes:
        """Merges encoded profiles in the engine, each decoded once: counts of a feature add, features
        keep the order they are first seen in.

        Raises:
            InputError: no profiles.
            CodecError: an input is not a valid profile.
            SchemaMismatchError: a feature differs in kind, edges or categories.
        """
    def merge(self, other: Profile) -> None:
        """Adds ``other``'s counts feature by feature (by name); nothing changes on an error.

        Raises:
            SchemaMismatchError: a feature of ``other`` is not here, or differs in kind, edges or
                categories.
        """
    def empty_like(self) -> Profile:
        """The same features with new, zeroed counts."""
    @property
    def names(self) -> list[str]:
        """Feature names, in order."""
    @property
    def features(self) -> list[tuple[str, NumericHistogram | CategoryCounts]]:
        """``(name, counts object)`` pairs, in order (the shared objects)."""
    def __len__(self) -> int: ...
    def update_dict(
        self, columns: Any, strict: bool = False
    ) -> tuple[int, list[tuple[str, int, int]], list[str], list[str]] | None:
        """Counts a plain ``dict`` of ``str`` to 1-D ``numpy.ndarray`` columns of one length in one call
        that releases the GIL once, as :meth:`update` counts them.

        Returns:
            ``(rows, invalid columns as (name, values, missing), names that are no feature, features
            absent)``, or ``None`` with nothing counted when ``columns`` is another kind of mapping or
            holds anything else (lists, 2-D arrays, subclasses, columns of unequal length, a column
            :meth:`update` leaves to the caller) or, with ``strict``, lacks a feature or holds a column
            of the wrong kind.

        Raises:
            InputError: codes out of range and other malformed columns.
            DtypeError: a column no feature can read (complex numbers, datetimes, records).
        """
    def update_arrow(
        self, data: Any, threads: int | None = None, strict: bool = False
    ) -> tuple[int, list[str], list[tuple[str, int, int]]] | None:
        """Counts every record batch of an object speaking the Arrow PyCapsule interface
        (``__arrow_c_stream__``, or ``__arrow_c_array__`` for one record batch), read in place by
        arrow-rs, in one call that releases the GIL once; all batches count or none do.

        Numbers (nulls as missing), booleans, ``utf8`` / ``large_utf8`` / ``utf8_view`` strings and
        dictionaries of strings are read; a column of the wrong kind for its feature is not counted and
        is reported as ``(name, values, missing)``. With ``strict``, any such column counts nothing.

        Returns:
            ``(rows, column names, invalid columns)``, or ``None`` with nothing read when ``data``
            speaks no Arrow or its schema holds a feature of another type (float16, uint64,
            decimals, dates, floats for a categorical feature, ...), a feature twice, or (with
            ``strict``) lacks a feature.

        Raises:
            InputError: unreadable Arrow data (a failing stream, invalid UTF-8).
            DtypeError: an Arrow array that is not a table (not a struct array).
        """

    def update(
        self,
        columns: dict[str, Any],
        strings: dict[str, Any] | None = None,
        threads: int | None = None,
        strict: bool = False,
        blocks: list[tuple[npt.NDArray[Any], list[str]]] | None = None,
    ) -> tuple[list[tuple[str, int, int]], list[str]]:
        """Counts one batch: every column whose name is a feature, in one call that releases the GIL
        once (and counts columns in parallel, on up to ``threads`` workers, only for large batches).
        ``strings`` adds Arrow string columns: name to a list of the chunk tuples
        ``CategoryCounts.update_arrow`` takes, or to any Arrow producer of string arrays
        (``__arrow_c_stream__`` or ``__arrow_c_array__``: a pyarrow ``ChunkedArray``), imported in
        place. ``blocks`` adds numeric columns as the rows of 2-D float64/float32/int64/int32 arrays,
        each with its rows' column names (a pandas frame's blocks).

        Numbers, booleans, numpy ``U`` strings and object arrays of str/int/None are read; a column of
        the wrong kind for its feature (strings or booleans for a numerical one) is not counted and is
        reported as ``(name, values, missing)``. Columns the profile does not read (lists, object
        arrays for numerical features, float16, uint64, bytes, floats for categorical features, ...)
        are left uncounted and their names returned, for the caller's per-feature path. With
        ``strict``, a batch with any invalid or left-over column counts nothing at all (so a caller can
        refuse it, or take its general path, from a clean state).

        Returns:
            The invalid columns, and the names of the columns left to the caller.

        Raises:
            InputError: columns of different lengths, a feature given twice, a block with more or
                fewer names than rows, malformed Arrow buffers, codes or code points out of range
                (then nothing is counted).
            DtypeError: not a dict, an array of a dtype no feature can hold (complex, datetime), a
                block of another dtype, or Arrow strings that are not strings.
        """

def chi_square_pooled(
    reference: npt.ArrayLike, current: npt.ArrayLike, min_expected: float = 5.0
) -> tuple[float, int, float]:
    """The 2 x k test with sparse columns pooled (ascending by total, until the pooled column's smaller
    expected count reaches ``min_expected``): finite for novel values."""

def chi2_sf(x: float, dof: float) -> float:
    """Chi-square survival function ``Q(dof / 2, x / 2)``."""

def encode_profile(features: Sequence[tuple[str, NumericHistogram | CategoryCounts]]) -> bytes:
    """Encodes an ordered multi-feature profile."""

def decode_profile(data: bytes) -> list[tuple[str, NumericHistogram | CategoryCounts]]:
    """Decodes :func:`encode_profile` output.

    Raises:
        CodecError: truncated, corrupted, duplicate-named or unsupported bytes.
    """
