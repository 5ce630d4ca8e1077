"""Structured output of a deploy: one JSON line per step and one summary line, secrets redacted."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

import msgspec

__all__ = ["EventLog", "StepRecord"]


class StepRecord(msgspec.Struct):
    """What one step did: ``ok``, ``skipped``, ``failed`` or ``rolled_back``, its duration and details."""

    step: str
    status: str
    seconds: float
    detail: dict[str, Any] = {}


class EventLog:
    """Writes each event as one JSON line on ``stream`` (stdout by default) and keeps the steps for the
    summary. Every string goes through ``redact`` first, so a secret in an error never reaches a log.

    Args:
        redact: Hides secrets in a string.
        stream: Where lines go.
    """

    def __init__(self, redact: Callable[[str], str], stream: TextIO | None = None) -> None:
        self.redact = redact
        self.stream = stream if stream is not None else sys.stdout
        self.steps: list[StepRecord] = []

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {str(k): self._clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._clean(v) for v in value]
        return value

    def emit(self, event: str, **fields: Any) -> None:
        """Writes ``{"event": event, "ts": ..., **fields}`` as one line."""
        line = {"event": event, "ts": round(time.time(), 3), **self._clean(fields)}
        self.stream.write(msgspec.json.encode(line).decode() + "\n")
        self.stream.flush()

    def step(self, step: str, status: str, started: float, **detail: Any) -> StepRecord:
        """Records and writes the outcome of ``step`` that began at ``started`` (``time.monotonic``)."""
        record = StepRecord(step, status, round(time.monotonic() - started, 3), self._clean(detail))
        self.steps.append(record)
        self.emit("step", step=step, status=status, seconds=record.seconds, **record.detail)
        return record
