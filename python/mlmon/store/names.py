"""Validation of the names and values the store accepts from callers.

Model, version, feature, writer and batch names reach SQL (always as bound parameters), Prometheus
labels, HTML, file names, Slack text and logs, so they are held to one conservative rule:
``[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}``: ASCII letters, digits, ``_ . : -``, at most 128 characters, not
starting with ``.``, ``:`` or ``-`` (so ``..`` and option-like names are impossible). No ``/``, no
whitespace, no quotes, no unicode: a name that passes needs no escaping anywhere. This module imports
nothing from the rest of the store.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

from mlmon.exceptions import InputError

__all__ = [
    "MAX_NAME_LENGTH",
    "validate_count",
    "validate_name",
    "validate_score",
    "validate_sha256",
    "validate_timestamp",
    "validate_window",
]

MAX_NAME_LENGTH = 128
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _shown(value: str) -> str:
    # Echo enough of a bad value to find it, never a 10 KB payload into a log line.
    return repr(value if len(value) <= 40 else value[:40] + "...")


def validate_name(value: object, field: str) -> str:
    """Checks a model, version, feature, writer or batch name.

    Args:
        value: The candidate name.
        field: What the name is (``"model"``, ``"feature"``...), used in the error message.

    Returns:
        The name, unchanged.

    Raises:
        InputError: not a string, empty, longer than 128 characters, or outside the charset.
    """
    if not isinstance(value, str):
        raise InputError(f"{field} must be a string, got {type(value).__name__}")
    if _NAME.fullmatch(value) is None:
        if not value:
            raise InputError(f"{field} must not be empty")
        if len(value) > MAX_NAME_LENGTH:
            raise InputError(f"{field} is {len(value)} characters long, the limit is {MAX_NAME_LENGTH}")
        raise InputError(
            f"{field} {_shown(value)} is not a valid name: use ASCII letters, digits and _ . : - "
            "(starting with a letter, digit or _)"
        )
    return value


def validate_sha256(value: object, field: str = "sha256") -> str:
    """Checks a lowercase hex SHA-256 digest.

    Raises:
        InputError: not 64 lowercase hex digits.
    """
    if not isinstance(value, str) or _SHA256.fullmatch(value) is None:
        raise InputError(f"{field} must be 64 lowercase hex digits")
    return value


def validate_timestamp(value: object, field: str) -> datetime:
    """Checks that a timestamp is a timezone-aware ``datetime`` and returns it in UTC.

    Naive datetimes are refused rather than guessed: a window stored in local time on one replica and
    UTC on another would silently never merge.

    Raises:
        InputError: not a ``datetime`` or naive.
    """
    if not isinstance(value, datetime):
        raise InputError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{field} must be timezone-aware (got a naive datetime)")
    return value.astimezone(timezone.utc)


def validate_window(start: object, end: object) -> tuple[datetime, datetime]:
    """Checks a ``[start, end)`` window: both aware, ``end`` after ``start``.

    Raises:
        InputError: a bad timestamp or an empty/negative window.
    """
    s = validate_timestamp(start, "window_start")
    e = validate_timestamp(end, "window_end")
    if e <= s:
        raise InputError(f"window_end ({e.isoformat()}) must be after window_start ({s.isoformat()})")
    return s, e


def validate_count(value: object, field: str) -> int:
    """Checks a non-negative integer count (``bool`` refused).

    Raises:
        InputError: not a non-negative ``int``.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{field} must be a non-negative integer, got {value!r}")
    return value


def validate_score(value: object, field: str = "score") -> float | None:
    """Checks a score: a real number or ``None`` (insufficient data). NaN is refused.

    Raises:
        InputError: not a number, or NaN.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{field} must be a number or None, got {type(value).__name__}")
    if math.isnan(value):
        raise InputError(f"{field} must not be NaN (use None for insufficient data)")
    return float(value)
