"""A deterministic corpus of malformed ingest bodies (RELIABILITY R10): truncations, wrong types,
declared-length bombs (2³²), nesting 10⁵ deep, the body limit + 1, odd byte counts, bad dtypes,
duplicate keys, non-UTF-8 strings, NaN/Inf in JSON, and seeded byte mutations of valid bodies.

Each case is ``(name, content_type, body)``; the same seed always gives the same corpus.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import msgspec
from service_helpers import body

__all__ = ["Case", "corpus"]

Case = tuple[str, str, bytes]
MP = "application/msgpack"
JS = "application/json"
_enc = msgspec.msgpack.encode


def _valid() -> list[tuple[str, bytes]]:
    raw = body("fz", 64, seed=5)
    lists = body("fz", 64, seed=5, raw=False)
    return [
        (MP, _enc(raw)),
        (MP, _enc(lists)),
        (JS, msgspec.json.encode(lists)),
        (JS, msgspec.json.encode(raw)),
    ]


def _truncated() -> Iterator[Case]:
    for ct, data in _valid():
        step = max(1, len(data) // 400)
        for cut in range(0, len(data) - 1, step):
            yield f"truncated@{cut}", ct, data[:cut]


_WRONG = [0, -1, 2**63, 1.5, True, None, "", "x" * 200, [], [1, 2], {}, {"a": 1}, b"\x00\xff"]


def _wrong_types() -> Iterator[Case]:
    for value in _WRONG:
        v = value if not isinstance(value, bytes) else list(value)
        for field in ("batch_id", "columns", "version", "sent_at"):
            doc = {**body("fz", 8, raw=False), field: v}
            yield f"wrong-{field}-{type(value).__name__}", MP, _enc(doc)
            yield f"wrong-{field}-{type(value).__name__}", JS, msgspec.json.encode(doc)
        for col in ("age", "plan"):
            doc = body("fz", 8, raw=False)
            doc["columns"][col] = v
            yield f"wrong-col-{col}", MP, _enc(doc)
            doc["columns"][col] = [v] * 8
            yield f"wrong-cell-{col}", MP, _enc(doc)
    yield "top-level-array", MP, _enc([1, 2, 3])
    yield "top-level-string", JS, b'"hello"'
    yield "unknown-field", MP, _enc({**body("fz", 8), "extra": 1})
    yield "unknown-column", MP, _enc({"batch_id": "fz", "columns": {"nope": [1.0]}})


def _prefix() -> bytes:
    # {"batch_id": "fz", "columns": <what follows>}
    return b"\x82" + _enc("batch_id") + _enc("fz") + _enc("columns")


def _bombs() -> Iterator[Case]:
    p = _prefix()
    for marker in (b"\xdd", b"\xdf", b"\xdb", b"\xc6"):  # array32, map32, str32, bin32
        yield f"len32-top-{marker.hex()}", MP, marker + b"\xff\xff\xff\xff"
        yield f"len32-columns-{marker.hex()}", MP, p + marker + b"\xff\xff\xff\xff"
        col = p + b"\x81" + _enc("age") + marker + b"\xff\xff\xff\xff"
        yield f"len32-column-{marker.hex()}", MP, col
        raw = p + b"\x81" + _enc("age") + b"\x82" + _enc("dtype") + _enc("<f8") + _enc("data") + marker
        yield f"len32-data-{marker.hex()}", MP, raw + b"\xff\xff\xff\xff"
    yield "depth-1e5-top", MP, b"\x91" * 100_000 + b"\xc0"
    yield "depth-1e5-columns", MP, p + b"\x91" * 100_000 + b"\xc0"
    yield "depth-1e5-map", MP, p + (b"\x81" + _enc("a")) * 100_000 + b"\xc0"
    yield "depth-1e5-json-top", JS, b"[" * 100_000 + b"]" * 100_000
    yield (
        "depth-1e5-json-columns",
        JS,
        b'{"batch_id":"fz","columns":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    )
    yield "depth-1e5-json-open", JS, b'{"batch_id":"fz","columns":' + b'{"a":' * 100_000


def _raw_columns() -> Iterator[Case]:
    for n in (1, 3, 7, 9, 15, 17, 801):
        doc = {"batch_id": "fz", "columns": {"age": {"dtype": "<f8", "data": b"\x00" * n}}}
        yield f"odd-bytes-{n}", MP, _enc(doc)
        codes = {"categories": ["a"], "codes": {"dtype": "<i4", "data": b"\x00" * n}}
        yield f"odd-codes-{n}", MP, _enc({"batch_id": "fz", "columns": {"plan": codes}})
    for dtype in ("<f16", ">f8", "|S1", "object", "<c16", "<u8", "", "f8", "<f8\x00", "<" + "f" * 500):
        doc = {"batch_id": "fz", "columns": {"age": {"dtype": dtype, "data": b"\x00" * 16}}}
        yield f"bad-dtype-{dtype[:8]!r}", MP, _enc(doc)
    codes = {"categories": ["a", "b"], "codes": [0, 1, 7, -9, 2**40]}
    yield "codes-out-of-range", MP, _enc({"batch_id": "fz", "columns": {"plan": codes}})
    yield (
        "codes-overflow",
        MP,
        _enc({"batch_id": "fz", "columns": {"plan": {"categories": ["a"], "codes": [2**64 - 1]}}}),
    )
    unequal = {"age": [1.0, 2.0, 3.0], "plan": ["a"]}
    yield "unequal-rows", MP, _enc({"batch_id": "fz", "columns": unequal})
    yield "no-rows", MP, _enc({"batch_id": "fz", "columns": {"age": []}})
    yield "no-columns", MP, _enc({"batch_id": "fz", "columns": {}})


def _dup_keys_and_text() -> Iterator[Case]:
    p = b"\x83" + _enc("batch_id") + _enc("a") + _enc("batch_id") + _enc("b") + _enc("columns")
    yield "dup-batch_id", MP, p + _enc({"age": [1.0]})
    yield "dup-column", MP, _prefix() + b"\x82" + _enc("age") + _enc([1.0]) + _enc("age") + _enc([2.0])
    yield "dup-json", JS, b'{"batch_id":"a","batch_id":"b","columns":{"age":[1.0],"age":[2.0,3.0]}}'
    for bad in (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"a\x00b"):
        yield (
            f"non-utf8-id-{bad.hex()}",
            MP,
            b"\x82"
            + _enc("batch_id")
            + bytes([0xA0 | len(bad)])
            + bad
            + _enc("columns")
            + _enc({"age": [1.0]}),
        )
        cat = _prefix() + b"\x81" + _enc("plan") + b"\x91" + bytes([0xA0 | len(bad)]) + bad
        yield f"non-utf8-category-{bad.hex()}", MP, cat
        yield (
            f"non-utf8-json-{bad.hex()}",
            JS,
            b'{"batch_id":"' + bad + b'","columns":{"plan":["' + bad + b'"]}}',
        )
    for lit in (
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b"1e999",
        b"-1e999",
        b"nan",
        b"inf",
        b"0x10",
        b"+1",
        b".5",
    ):
        yield f"json-number-{lit.decode()}", JS, b'{"batch_id":"fz","columns":{"age":[1.0,' + lit + b"]}}"


def _mutations(n: int, seed: int) -> Iterator[Case]:
    rng = random.Random(seed)
    valid = _valid()
    for i in range(n):
        ct, data = valid[i % len(valid)]
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            pos = rng.randrange(len(buf))
            if op < 0.5:
                buf[pos] = rng.randrange(256)
            elif op < 0.7:
                buf[pos : pos + 1] = bytes([0xDD, 0xFF, 0xFF, 0xFF, 0xFF])
            elif op < 0.85:
                del buf[pos : pos + rng.randint(1, 16)]
            else:
                buf[pos:pos] = rng.randbytes(rng.randint(1, 16))
        # Mutations keep the id apart from the others so an accepted mutant is a batch of its own.
        yield f"mutation-{i}", ct, bytes(buf)


def corpus(total: int = 10_000, seed: int = 10) -> list[Case]:
    """At least ``total`` cases: every structured case, then seeded mutations to fill up."""
    cases = [*_truncated(), *_wrong_types(), *_bombs(), *_raw_columns(), *_dup_keys_and_text()]
    cases += list(_mutations(max(0, total - len(cases)), seed))
    return cases
