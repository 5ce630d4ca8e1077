"""Duplicate column names in an ingest body are refused (RELIABILITY.md: no duplicate column names).

msgspec, like most decoders, keeps the last value of a repeated map key, so ``{"age": [...], "age":
[...]}`` would silently count one of the two columns. The check is exact and cheap in the usual case:
msgpack maps declare their entry count in the header, so fewer distinct names than entries means a
repeat; JSON objects have no count, so the columns object is compacted (whitespace removed, in C) and its
length compared with the length its distinct entries account for; only when they differ (a repeat, or a
name spelled with escapes) does a Python pass over the top-level pairs decide and name the column.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Literal

import msgspec

__all__ = ["duplicate_columns"]

_MSGPACK_KEYS = msgspec.msgpack.Decoder(dict[str, msgspec.Raw])
_JSON_KEYS = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _msgpack_entries(raw: memoryview) -> int | None:
    """The entry count a msgpack map header declares (``None``: not a map)."""
    if not raw:
        return None
    first = raw[0]
    if 0x80 <= first <= 0x8F:
        return first & 0x0F
    if first == 0xDE and len(raw) >= 3:
        return int.from_bytes(raw[1:3], "big")
    if first == 0xDF and len(raw) >= 5:
        return int.from_bytes(raw[1:5], "big")
    return None


def _json_compact_length(keys: dict[str, msgspec.Raw]) -> int:
    """The compact length of a JSON object holding exactly these entries, names written plainly."""
    if not keys:
        return 2
    body = sum(len(msgspec.json.encode(k)) + 1 + len(v) for k, v in keys.items())
    return 2 + body + len(keys) - 1


def _repeated(names: list[str]) -> list[str]:
    return sorted(name for name, n in Counter(names).items() if n > 1)


def duplicate_columns(raw: msgspec.Raw, fmt: Literal["json", "msgpack"]) -> str | None:
    """A message naming the repeated column names of a ``columns`` map, or ``None`` when none repeats.

    Call it after the typed decode succeeded (the map is well formed).
    """
    if fmt == "msgpack":
        declared = _msgpack_entries(memoryview(raw))
        if declared is None or declared < 2:
            return None
        distinct = len(_MSGPACK_KEYS.decode(raw))
        if distinct == declared:
            return None
        return f"columns: the map has {declared} entries but {distinct} distinct names: a column is repeated"
    compact = msgspec.json.format(raw, indent=-1)
    keys = _JSON_KEYS.decode(compact)
    if len(compact) == _json_compact_length(keys):
        return None
    pairs: Any = json.loads(compact, object_pairs_hook=lambda p: p)
    repeated = _repeated([name for name, _ in pairs])
    return f"columns: {', '.join(map(repr, repeated))} repeated" if repeated else None
