"""Received model artifacts on disk, named by their sha256 only: no part of a path comes from a client.

Each artifact is ``<model_dir>/<sha256>.<format>``, written to a temporary file and renamed (a reader or
a crash never sees half a file); ``current.json`` names the live one so a restarted API serves it again.
Every path is checked to resolve inside the directory before it is opened (MLflow's path traversals,
CVE-2023-1177 and its bypasses, came from paths built from client input).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from mlmon.core.artifacts import FORMATS, normalize_sha256
from mlmon.exceptions import InputError

__all__ = ["ArtifactDir"]

_CURRENT = "current.json"


class ArtifactDir:
    """A directory of artifacts named by sha256.

    Args:
        directory: Created (mode 0700) when missing.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.root = Path(directory).resolve()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _inside(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if path.parent != self.root:
            raise InputError("artifact path escapes the model directory")
        return path

    def path(self, sha256: str, fmt: str) -> Path:
        """Where the artifact with this digest and format lives.

        Raises:
            ArtifactError: a malformed digest.
            InputError: an unknown format.
        """
        if fmt not in FORMATS:
            raise InputError(f"unknown model format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return self._inside(f"{normalize_sha256(sha256)}.{fmt}")

    def _write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def save(self, data: bytes, sha256: str, fmt: str, meta: dict[str, Any]) -> None:
        """Stores the artifact (once per digest) and marks it live with ``meta`` (name, version...)."""
        path = self.path(sha256, fmt)
        if not path.exists():
            self._write(path, data)
        current = {**meta, "sha256": sha256, "format": fmt}
        self._write(self._inside(_CURRENT), json.dumps(current).encode())

    def current(self) -> tuple[dict[str, Any], bytes] | None:
        """The live artifact's metadata and bytes, or ``None`` when there is none (or it is unreadable)."""
        try:
            meta = json.loads(self._inside(_CURRENT).read_bytes())
            return meta, self.path(str(meta["sha256"]), str(meta["format"])).read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            return None
