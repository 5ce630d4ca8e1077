"""The SQLite writer queue: a second writer enters only after the first leaves; after its timeout a
waiter goes on (SQLite's own lock and busy timeout then decide)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from mlmon.store._writer_turn import writer_turn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def test_writers_take_turns(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    events: list[str] = []
    held = threading.Event()

    def first() -> None:
        with writer_turn(db, 10):
            events.append("first in")
            held.set()
            time.sleep(0.3)
            events.append("first out")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(10)
    with writer_turn(db, 10):
        events.append("second in")
    thread.join()
    assert events == ["first in", "first out", "second in"]
    assert (tmp_path / "x.db-writer").exists()


def test_waiter_goes_on_after_its_timeout(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    release = threading.Event()
    held = threading.Event()

    def holder() -> None:
        with writer_turn(db, 10):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    with writer_turn(db, 0.05):
        entered_while_held = not release.is_set()
    release.set()
    thread.join()
    assert entered_while_held
