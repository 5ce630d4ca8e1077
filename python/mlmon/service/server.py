"""Runs the service under uvicorn (uvloop + httptools), with N worker processes sharing the socket.

Uvicorn rather than granian: in the wrk bench (benches/load/RESULTS.md) granian was faster with two
workers on the shared machine, but the SIGTERM contract (RELIABILITY R9: unready at once, drain, commit,
exit 0) is built on and tested with uvicorn's worker lifecycle. Each worker gets its own
``SO_REUSEPORT`` socket and SIGTERM is forwarded to the workers at once (see ``_supervise``).
Slow clients are bounded per worker: header and body read deadlines (408, see
:mod:`mlmon.service.protocol`), idle keep-alive connections closed, and at most ``max_connections`` open
connections (uvicorn's ``limit_concurrency``: 503 beyond). Settings reach the workers as JSON in
``MLMON_SETTINGS_JSON``; with several workers a fresh
``PROMETHEUS_MULTIPROC_DIR`` is made before they start so /metrics merges every worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import tempfile

import msgspec
import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from mlmon.service.protocol import with_deadlines
from mlmon.service.settings import Settings
from mlmon.store import open_store

__all__ = ["serve"]

_log = logging.getLogger("uvicorn.error")

# R9: exit within 10 s of SIGTERM: the drain window plus the server's graceful shutdown fit in it.
_EXIT_BUDGET_SECONDS = 10.0
_STARTUP_FAILURE = 3  # uvicorn's exit status for a failed start


def _exit_zero(signum: int, frame: object) -> None:
    # uvicorn re-raises a captured SIGTERM after its graceful shutdown; without this handler the
    # process then dies of the signal (status -15) although it drained cleanly.
    raise SystemExit(0)


def _listeners(config: uvicorn.Config) -> list[socket.socket]:
    """One listening socket per worker, all bound to the port with ``SO_REUSEPORT`` where the system
    has it (else the one shared socket).

    With one shared socket, whichever worker wakes first accepts a whole burst of connections, and a
    few long-lived keep-alive clients (a load balancer, wrk) end up on one worker: the profile of the
    2-worker load bench showed 97% of samples in one process. With a socket per worker the kernel
    spreads new connections over the workers by hash.
    """
    if not hasattr(socket, "SO_REUSEPORT") or config.workers < 2:
        return [config.bind_socket()]
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sockets: list[socket.socket] = []
    port = config.port
    for _ in range(config.workers):
        sock = socket.socket(family=family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((config.host, port))
        except OSError as exc:  # as uvicorn: say why and exit with its startup-failure status
            _log.error("cannot listen on %s:%s: %s", config.host, port, exc)
            raise SystemExit(_STARTUP_FAILURE) from exc
        port = sock.getsockname()[1]  # port 0: the others join the port the first one got
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


class _Supervisor(Multiprocess):
    """Uvicorn's multi-worker supervisor, each worker on its own listening socket (a restarted worker
    listens on all of them, so no socket is ever left without a reader)."""

    def init_processes(self) -> None:
        own = self.sockets if len(self.sockets) == self.processes_num else [None] * self.processes_num
        for sock in own:
            process = Process(self.config, [sock] if sock is not None else self.sockets)
            process.start()
            self.processes.append(process)


def _supervise(config: uvicorn.Config) -> None:
    """Runs the workers, with SIGTERM forwarded to them at once.

    Uvicorn's supervisor alone polls its signal queue every 0.5 s before it signals the workers, too late
    for R9's 100 ms to an unready ``/readyz``. Here the signal reaches every worker immediately (each
    starts its drain window, see :mod:`mlmon.service.drain`), and the supervisor's own SIGTERM that
    follows is ignored by the draining workers.
    """
    supervisor = _Supervisor(config, sockets=_listeners(config))

    def forward(signum: int, frame: object) -> None:
        for process in supervisor.processes:
            if process.pid is not None and process.exitcode is None:
                os.kill(process.pid, signal.SIGTERM)
        supervisor.signal_queue.append(signum)

    signal.signal(signal.SIGTERM, forward)
    supervisor.run()


def _protocol(settings: Settings) -> str | type[asyncio.Protocol]:
    """The HTTP protocol with the read deadlines: bound here for a server in this process; by name for
    spawned workers, which read the deadlines from ``MLMON_SETTINGS_JSON`` (a class made here would not
    unpickle there)."""
    if settings.workers > 1:
        return "mlmon.service.protocol:DeadlineProtocol"
    return with_deadlines(settings.header_timeout_seconds, settings.body_timeout_seconds)


def serve(
    settings: Settings,
    workers: int | None = None,
    host: str | None = None,
    port: int | None = None,
    insecure: bool | None = None,
) -> None:
    """Serves until SIGINT/SIGTERM, then drains: ``/readyz`` 503 for ``drain_seconds`` while still
    serving (SIGTERM only), then stop accepting, finish requests, commit, exit.

    Args:
        settings: The settings; the other arguments override their fields.
        workers: Worker processes.
        host: Bind address.
        port: Bind port.
        insecure: Allow no auth on a non-loopback host.

    Raises:
        InputError: no auth on a non-loopback host without ``insecure``.
    """
    overrides = {"workers": workers, "host": host, "port": port, "insecure": insecure}
    settings = msgspec.structs.replace(settings, **{k: v for k, v in overrides.items() if v is not None})
    settings.check_startup()
    # Migrate once in the parent, so workers do not race on the schema at start.
    open_store(settings.database_url).close()
    os.environ["MLMON_SETTINGS_JSON"] = settings.to_json().decode()
    made_dir = None
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        made_dir = tempfile.mkdtemp(prefix="mlmon-prom-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = made_dir
    signal.signal(signal.SIGTERM, _exit_zero)
    grace = max(1, int(_EXIT_BUDGET_SECONDS - settings.drain_seconds))
    config = uvicorn.Config(
        "mlmon.service.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http=_protocol(settings),
        lifespan="on",
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=grace,
        timeout_keep_alive=settings.keep_alive_seconds,
        limit_concurrency=settings.max_connections,
    )
    try:
        if settings.workers > 1:
            _supervise(config)
        else:
            config.load_app()
            server = uvicorn.Server(config)
            server.run()
            if not server.started:  # as uvicorn.run: the app or the socket failed at startup
                raise SystemExit(_STARTUP_FAILURE)
    finally:
        if made_dir is not None:
            shutil.rmtree(made_dir, ignore_errors=True)
