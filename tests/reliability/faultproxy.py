"""A small asyncio TCP fault proxy in place of Toxiproxy (not packaged for Debian; RELIABILITY §2).

It sits between the service and PostgreSQL (the service's database URL points at the proxy's port) and
injects one fault at a time: added latency, connection resets, a black hole (bytes accepted, never
forwarded, no RST), a cut after N client bytes or in the middle of the next ``INSERT`` message, and a cut
right after a ``COMMIT`` was forwarded — the ambiguous commit of RELIABILITY R6, where the server
commits but the client never hears it.

To find ``COMMIT`` the client-to-server stream is split into PostgreSQL wire-protocol messages: untyped
start-up packets (SSLRequest, GSSENCRequest, StartupMessage) until the start-up message, then typed
messages (one type byte, an int32 length that counts itself). A simple Query (``Q``) whose text is
``COMMIT`` is forwarded whole and the client side is then closed at once; for the extended protocol a
``Parse`` (``P``) of ``COMMIT`` arms the cut, which happens after the next ``Sync`` (``S``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

__all__ = ["FaultProxy"]

_UNTYPED_CODES = {80877103, 80877104, 80877102}  # SSLRequest, GSSENCRequest, CancelRequest


@dataclass
class _Faults:
    delay: float = 0.0
    blackhole: bool = False
    reset_new: bool = False
    cut_after_bytes: int | None = None
    cut_mid_insert: bool = False
    commit_cuts: int = 0
    stats: dict[str, int] = field(
        default_factory=lambda: {"commits_cut": 0, "connections": 0, "resets": 0, "cuts": 0}
    )


def _is_commit(sql: bytes) -> bool:
    text = sql.rstrip(b"\x00").strip().rstrip(b";").strip().upper()
    return text in {b"COMMIT", b"END", b"COMMIT TRANSACTION", b"COMMIT WORK"}


class _MessageSplitter:
    """Splits the client's byte stream into whole protocol messages."""

    def __init__(self) -> None:
        self.buf = b""
        self.started = False

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        """Returns ``(type, whole message bytes)`` for every complete message (type ``b""`` if untyped)."""
        self.buf += data
        out = []
        while True:
            if not self.started:
                if len(self.buf) < 8:
                    break
                (length,) = struct.unpack("!I", self.buf[:4])
                (code,) = struct.unpack("!I", self.buf[4:8])
                if len(self.buf) < length:
                    break
                msg, self.buf = self.buf[:length], self.buf[length:]
                if code not in _UNTYPED_CODES:
                    self.started = True  # the StartupMessage: typed messages follow
                out.append((b"", msg))
                continue
            if len(self.buf) < 5:
                break
            (length,) = struct.unpack("!I", self.buf[1:5])
            if len(self.buf) < 1 + length:
                break
            msg, self.buf = self.buf[: 1 + length], self.buf[1 + length :]
            out.append((msg[:1], msg))
        return out


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream`` with switchable faults; runs its own event loop in a
    daemon thread. Use as a context manager.

    Args:
        upstream_port: The real server's loopback port.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.faults = _Faults()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fault-proxy")
        self._server: asyncio.Server | None = None
        self._conns: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self.port = 0

    # --- control (called from the test thread) ---------------------------------------------------------
    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.heal()
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()  # its self-pipe socket pair would otherwise leak (a ResourceWarning later)

    def _call(self, coro: object) -> object:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    def heal(self) -> None:
        """Removes every fault (connections already cut stay cut)."""
        stats = self.faults.stats
        self.faults = _Faults(stats=stats)

    def cut_next_commits(self, n: int = 1) -> None:
        """The next ``n`` COMMITs are forwarded, then their client connection is closed unanswered."""
        self.faults.commit_cuts = n

    def reset_all(self) -> None:
        """Resets (RST) every open connection now."""
        self._call(self._reset_all())

    @property
    def stats(self) -> dict[str, int]:
        """Counters: connections seen, commits cut, resets sent."""
        return self.faults.stats

    # --- the proxy (event-loop thread) ------------------------------------------------------------------
    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._reset_all()

    async def _reset_all(self) -> None:
        for client, upstream in list(self._conns):
            _rst(client)
            _rst(upstream)
            self.faults.stats["resets"] += 1
        self._conns.clear()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self.faults.stats["connections"] += 1
        if self.faults.reset_new:
            _rst(client_w)
            self.faults.stats["resets"] += 1
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            _rst(client_w)
            return
        pair = (client_w, up_w)
        self._conns.add(pair)
        try:
            with contextlib.suppress(ConnectionError, OSError):
                await asyncio.gather(self._to_server(client_r, up_w, client_w), _pump(up_r, client_w))
        finally:
            self._conns.discard(pair)
            for w in pair:
                w.close()

    async def _to_server(
        self, reader: asyncio.StreamReader, upstream: asyncio.StreamWriter, client: asyncio.StreamWriter
    ) -> None:
        splitter = _MessageSplitter()
        armed = False
        while data := await reader.read(65536):
            f = self.faults
            if f.delay:
                await asyncio.sleep(f.delay)
            while f.blackhole and not client.is_closing():
                await asyncio.sleep(0.05)  # swallow: no forward, no RST, like a stopped host
                f = self.faults
            if f.cut_after_bytes is not None:
                # Counted across connections from the moment the fault is set: the message that
                # crosses the mark is forwarded in part, then both sides are reset.
                if len(data) > f.cut_after_bytes:
                    upstream.write(data[: f.cut_after_bytes])
                    f.cut_after_bytes = None
                    f.stats["cuts"] += 1
                    _rst(client)
                    _rst(upstream)
                    return
                f.cut_after_bytes -= len(data)
            for kind, msg in splitter.feed(data):
                if f.cut_mid_insert and kind in (b"Q", b"P") and b"INSERT" in msg.upper():
                    upstream.write(msg[: len(msg) // 2])  # half a message: the server sees a torn query
                    f.cut_mid_insert = False
                    f.stats["cuts"] += 1
                    await upstream.drain()
                    _rst(client)
                    _rst(upstream)
                    return
                upstream.write(msg)
                if f.commit_cuts > 0 and kind == b"Q" and _is_commit(msg[5:]):
                    await self._cut_after_commit(upstream, client)
                    return
                if kind == b"P" and f.commit_cuts > 0:
                    # Parse: name\0 query\0 ...; arm on a COMMIT statement, cut after the Sync.
                    body = msg[5:]
                    query = body[body.index(b"\x00") + 1 :].split(b"\x00", 1)[0]
                    armed = _is_commit(query)
                if kind == b"S" and armed:
                    await self._cut_after_commit(upstream, client)
                    return
            await upstream.drain()
        upstream.close()

    async def _cut_after_commit(self, upstream: asyncio.StreamWriter, client: asyncio.StreamWriter) -> None:
        await upstream.drain()
        self.faults.commit_cuts -= 1
        self.faults.stats["commits_cut"] += 1
        _rst(client)  # the client never hears the outcome
        await asyncio.sleep(0.5)  # the server reads and commits before it sees EOF
        upstream.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            if writer.is_closing():
                return
            writer.write(data)
            await writer.drain()
    writer.close()


def _rst(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER 0 makes close() send RST instead of FIN: a "connection reset by peer" for the other side.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
