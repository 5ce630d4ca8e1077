"""``mlmon serve``: the arguments and the runner, so the main CLI wires it in one line:
``add_serve_arguments(sub.add_parser("serve"))`` and ``run_serve(args)``."""

from __future__ import annotations

import argparse
import sys

from mlmon.exceptions import InputError
from mlmon.service.settings import Settings

__all__ = ["add_serve_arguments", "run_serve"]


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--host``, ``--port``, ``--workers``, ``--database-url`` and ``--insecure``.

    Unset options fall back to ``MLMON_HOST``, ``MLMON_PORT``... then to the defaults (127.0.0.1:8000,
    1 worker, ``sqlite:///./mlmon.db``).
    """
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1; MLMON_HOST)")
    parser.add_argument("--port", type=int, default=None, help="bind port (default 8000; MLMON_PORT)")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default 1; MLMON_WORKERS)"
    )
    parser.add_argument("--database-url", default=None, help="store URL (MLMON_DATABASE_URL)")
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="allow serving a non-loopback address without tokens (MLMON_INSECURE)",
    )


def run_serve(args: argparse.Namespace) -> int:
    """Runs the service with the parsed arguments over the environment's settings.

    Returns:
        The exit code: 0 after a clean stop, 2 for invalid settings (such as no auth on a public host).
    """
    from mlmon.service.server import serve  # uvicorn: the service extra, imported only to serve

    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            workers=args.workers,
            database_url=args.database_url,
            insecure=args.insecure,
        )
        serve(settings)
    except InputError as exc:
        print(f"mlmon serve: {exc}", file=sys.stderr)
        return 2
    return 0
