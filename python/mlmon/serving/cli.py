"""``mlmon serve-model``: the arguments and the runner of the reference production API, so the main CLI
wires it in one line: ``add_serve_model_arguments(parser)`` and ``run_serve_model(args)``.

One process, one worker: the live model is process memory, so a deploy to one of several workers would
leave the others serving the old model. Scale out with more processes behind a load balancer, each
receiving the deploy.
"""

from __future__ import annotations

import argparse
import signal
import sys

from mlmon.core._compat import require
from mlmon.exceptions import InputError
from mlmon.serving.settings import ServingSettings

__all__ = ["add_serve_model_arguments", "run_serve_model"]

_GRACE_SECONDS = 10


def add_serve_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--host``, ``--port``, ``--model-dir`` and ``--insecure`` (unset ones fall back to
    ``MLMON_SERVING_*`` variables, then to 127.0.0.1:8080). Tokens come only from the environment."""
    parser.add_argument("--host", default=None, help="bind address (default 127.0.0.1; MLMON_SERVING_HOST)")
    parser.add_argument("--port", type=int, default=None, help="bind port (default 8080; MLMON_SERVING_PORT)")
    parser.add_argument(
        "--model-dir", default=None, help="where deployed artifacts are kept (MLMON_SERVING_MODEL_DIR)"
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="allow a non-loopback address without MLMON_SERVING_ADMIN_TOKEN (MLMON_SERVING_INSECURE)",
    )


def _exit_zero(signum: int, frame: object) -> None:
    # uvicorn re-raises a captured SIGTERM after its graceful shutdown; exit 0 after a clean drain.
    raise SystemExit(0)


def run_serve_model(args: argparse.Namespace) -> int:
    """Serves until SIGINT/SIGTERM (then drains and flushes the drift client).

    Returns:
        0 after a clean stop, 2 for invalid settings (such as no admin token on a public host).
    """
    uvicorn = require("uvicorn", "serving")
    from mlmon.serving.app import create_app  # litestar: the serving extra

    try:
        settings = ServingSettings.from_env(
            host=args.host, port=args.port, model_dir=args.model_dir, insecure=args.insecure
        )
        settings.check_startup()
    except InputError as exc:
        print(f"mlmon serve-model: {exc}", file=sys.stderr)
        return 2
    from mlmon.service.protocol import with_deadlines  # uvicorn: the serving extra

    signal.signal(signal.SIGTERM, _exit_zero)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        # Slow clients cannot hold the process: read deadlines (408), idle keep-alive, connection cap.
        http=with_deadlines(settings.header_timeout_seconds, settings.body_timeout_seconds),
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.max_connections,
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=_GRACE_SECONDS,
    )
    return 0
