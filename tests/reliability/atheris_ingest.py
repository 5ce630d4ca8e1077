"""Coverage-guided fuzzing (atheris, libFuzzer) of the ingest path a request body takes: envelope decode,
then the stage the route runs, ``decode_and_count`` (msgpack columns read and counted by the engine's
reader, JSON ones decoded by msgspec against the baseline and folded) (RELIABILITY.md R10). Coverage
guides through mlmon's Python only; the engine's reader has its own proptests (engine/src/wire).

Any exception outside the ``MlmonError`` family (which the service answers with a 4xx) is a crash: it
would be a 500. Run: ``python tests/reliability/atheris_ingest.py -max_total_time=600`` (libFuzzer
flags); seeds are valid msgpack and JSON bodies written to a temporary corpus directory.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris
import msgspec
import numpy as np

import mlmon
from mlmon.exceptions import MlmonError

# Coverage from mlmon's own Python only (numpy and msgspec are C: instrumenting their Python shells
# costs start-up time and guides nothing).
with atheris.instrument_imports(include=["mlmon"]):
    from mlmon.service import ingest

MAX_ROWS = 10_000
_RNG = np.random.default_rng(0)
_BASELINE = mlmon.Baseline.fit(
    {
        "age": _RNG.normal(40, 9, 2000),
        "plan": _RNG.choice(["a", "b", "c"], 2000),
        "tier": _RNG.integers(0, 3, 2000),
    },
    categorical=["tier"],
)
ENTRY = ingest.BaselineEntry.build("m", "v1", "0" * 64, _BASELINE.to_bytes(), MAX_ROWS, 1000)


def seeds() -> list[bytes]:
    """Valid bodies of every column form, as msgpack (first byte 1) and JSON (first byte 0)."""
    age = np.array([1.5, np.nan, 40.0])
    raw_age = {"dtype": "<f8", "data": age.tobytes()}
    int_age = {"dtype": "<i4", "data": np.arange(3, dtype="<i4").tobytes()}
    raw_codes = {"dtype": "|i1", "data": b"\x00\x01\xff"}
    columns = [
        {"age": age.tolist(), "plan": ["a", None, "z"], "tier": [0, 1, "2"]},
        {"age": raw_age, "plan": {"categories": ["a", "b"], "codes": [0, 1, -1]}},
        {"age": int_age, "tier": {"categories": [2, 0], "codes": raw_codes}},
    ]
    out = []
    for i, cols in enumerate(columns):
        body = {"batch_id": f"b{i}", "version": "v1", "sent_at": "2026-01-01T00:00:00Z", "columns": cols}
        out += [b"\x01" + msgspec.msgpack.encode(body), b"\x00" + msgspec.json.encode(body)]
    return out


def one(data: bytes) -> None:
    """One input: first byte picks the format, the rest is the body."""
    if not data:
        return
    fmt: ingest.Format = "msgpack" if data[0] & 1 else "json"
    try:
        envelope = ingest.decode_envelope(data[1:], fmt)
        ingest.decode_and_count(ENTRY, envelope, fmt, MAX_ROWS)
    except MlmonError:
        pass  # a 4xx with its reason


def main(argv: list[str]) -> None:
    """Writes the seed corpus and hands over to libFuzzer."""
    corpus = Path(tempfile.mkdtemp(prefix="mlmon-atheris-"))
    for i, seed in enumerate(seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    atheris.Setup([*argv, str(corpus)], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
