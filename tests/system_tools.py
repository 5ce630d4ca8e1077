"""The system programs some tests run (promtool, prometheus, chromium, curl, wrk), found on ``PATH``.

``scripts/install-system-deps`` (which ``make test`` and ``.ci/run`` call first) installs them as root on
Debian/Ubuntu. When one is still missing, a test that needs it skips with a reason naming the package and
the command, so a developer without root gets a green suite that says what it could not run; under
``CI=true`` or ``MLMON_REQUIRE_SYSTEM=1`` it fails instead, so CI never passes by skipping."""

from __future__ import annotations

import os
import shutil

import pytest

# program -> the Debian package that ships it
PACKAGES = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "chromium": "chromium",
    "chromium-browser": "chromium",
    "curl": "curl",
    "wrk": "wrk",
}


def strict() -> bool:
    """Whether a missing system program fails the test instead of skipping it."""
    return os.environ.get("CI") == "true" or os.environ.get("MLMON_REQUIRE_SYSTEM") == "1"


def missing(reason: str) -> None:
    """Skips the running test for ``reason``, or fails it under :func:`strict`."""
    if strict():
        pytest.fail(f"{reason} (CI=true or MLMON_REQUIRE_SYSTEM=1: missing tools fail)")
    pytest.skip(reason)


def require(*programs: str) -> str:
    """The path of the first of ``programs`` found on ``PATH``; skips (or fails) the test when none is."""
    for program in programs:
        path = shutil.which(program)
        if path is not None:
            return path
    package = PACKAGES.get(programs[0], programs[0])
    missing(
        f"{' or '.join(programs)} not found: sudo apt-get install -y {package} "
        "(or run scripts/install-system-deps as root)"
    )
    raise AssertionError("unreachable")  # pytest.skip / pytest.fail raise


def headless_chromium(*args: str) -> list[str]:
    """A headless Chromium command line (Debian's ``chromium``), logging to stderr, ending in ``args``."""
    browser = require("chromium", "chromium-browser")
    flags = ["--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu"]
    return [browser, *flags, "--enable-logging=stderr", "--v=0", *args]
