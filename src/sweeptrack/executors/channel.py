"""The executor's end of the trial channel: a Unix socket that trial processes connect to.

Every connection is authenticated with a random key (the :mod:`multiprocessing.connection`
handshake, so a trial connects with a plain ``Client``), introduces itself with one
:data:`~sweeptrack.core.channel.Hello` and is then read by its own thread. Everything that happens
(a hello, a message, an end of connection, a process exit) becomes one item in
:attr:`ChannelServer.inbox`, which the executor drains in its controller thread: the order of one
connection's messages is kept.
"""

from __future__ import annotations

import itertools
import os
import pickle
import queue
import secrets
import select
import shutil
import socket
import struct
import tempfile
import threading
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge

from sweeptrack.core.channel import ExecutorSide, TrialSide, Unreadable, pack, unpack_trial_side
from sweeptrack.executors.processes import Process
from sweeptrack.trial import shutdown_connection

__all__ = ["ChannelServer", "Closed", "Connected", "Exited", "Inbound", "Received"]

_HANDSHAKE_TIMEOUT = 10  # seconds


@dataclass(frozen=True, slots=True)
class Connected:
    """A connection authenticated and said who it is (``hello``; anything else than a
    :data:`~sweeptrack.core.channel.Hello` is a caller to hang up on)."""

    conn_id: int
    hello: object


@dataclass(frozen=True, slots=True)
class Received:
    """A connection sent ``message`` (an :class:`~sweeptrack.core.channel.Unreadable` in place of
    one that could not be unpickled)."""

    conn_id: int
    message: TrialSide


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection ended (the other process closed it or died); ``conn_id`` None: a connection
    failed before its hello (a process died while connecting, or a wrong key)."""

    conn_id: int | None


@dataclass(frozen=True, slots=True)
class Exited:
    """A process started by the executor exited with ``returncode``."""

    key: int
    returncode: int


Inbound = Connected | Received | Closed | Exited


class ChannelServer:
    """Listens on ``<private temp dir>/channel.sock``; :meth:`close` removes the folder.

    Only the thread that drains :attr:`inbox` sends, drops and releases connections: a
    connection's descriptor is closed in :meth:`release`, after its reader reported Closed, so no
    thread ever uses a descriptor number that was closed and reused.

    :meth:`settled` tells whether every connection made so far has been reported, so that a process
    that exited before its hello was read can be told from one that never connected.
    """

    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="sweeptrack-")
        self.address = os.path.join(self.folder, "channel.sock")
        self.authkey = secrets.token_bytes(32)
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self._conns: dict[int, tuple[Connection, threading.Thread]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._unreported = 0  # accepted (or about to be) but not yet drained as Connected/Closed
        self._closed = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.address)
        self._sock.listen(128)
        self._wake_r, self._wake_w = os.pipe()
        self._acceptor = threading.Thread(target=self._accept_loop, name="sweeptrack-accept", daemon=True)
        self._acceptor.start()

    def watch(self, key: int, proc: Process) -> None:
        """Report :class:`Exited` for ``proc`` when it exits (a thread reaps it)."""
        thread = threading.Thread(target=self._wait, args=(key, proc), name="sweeptrack-wait", daemon=True)
        thread.start()

    def reported(self, item: Inbound) -> None:
        """The executor calls this for each Connected and Closed it drained."""
        if isinstance(item, Connected) or (isinstance(item, Closed) and item.conn_id is None):
            with self._lock:
                self._unreported -= 1

    def settled(self) -> bool:
        """No connection waits to be accepted and every accepted one has been drained."""
        if self._closed:
            return True
        # Order matters: a connection leaves the backlog only after _unreported counts it.
        if select.select([self._sock], [], [], 0)[0]:
            return False
        with self._lock:
            return self._unreported == 0

    def send(self, conn_id: int, message: ExecutorSide) -> bool:
        """Send to a connection; False if it is gone."""
        entry = self._conns.get(conn_id)
        if entry is None:
            return False
        try:
            entry[0].send_bytes(pack(message))
        except OSError:
            return False
        return True

    def descriptors(self) -> list[int]:
        """The descriptors of the socket and of every connection (a forked child closes them)."""
        fds = [self._sock.fileno(), self._wake_r, self._wake_w]
        return fds + [conn.fileno() for conn, _ in list(self._conns.values()) if not conn.closed]

    def drop(self, conn_id: int) -> None:
        """End a connection now; its reader reports Closed."""
        entry = self._conns.get(conn_id)
        if entry is not None:
            shutdown_connection(entry[0])

    def release(self, conn_id: int) -> None:
        """Close a connection whose Closed was drained."""
        entry = self._conns.pop(conn_id, None)
        if entry is not None:
            entry[1].join(timeout=5)
            entry[0].close()

    def close(self) -> None:
        """Stop accepting, end every connection and remove the socket folder."""
        if self._closed:
            return
        self._closed = True
        os.write(self._wake_w, b"x")
        self._acceptor.join(timeout=5)
        self._sock.close()
        os.close(self._wake_r)
        os.close(self._wake_w)
        for conn, _ in list(self._conns.values()):
            shutdown_connection(conn)
        for conn_id in list(self._conns):
            self.release(conn_id)
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- threads -------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while True:
            ready, _, _ = select.select([self._sock.fileno(), self._wake_r], [], [])
            if self._wake_r in ready:
                return
            with self._lock:
                self._unreported += 1
            try:
                sock, _ = self._sock.accept()
            except OSError:
                with self._lock:
                    self._unreported -= 1
                continue
            threading.Thread(target=self._serve, args=(sock,), name="sweeptrack-conn", daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        sock.setblocking(True)
        # A peer that connects and then says nothing must not hold this thread (and the socket)
        # forever: reads time out until the hello is in.
        _set_read_timeout(sock, _HANDSHAKE_TIMEOUT)
        conn = Connection(sock.detach())
        try:
            deliver_challenge(conn, self.authkey)
            answer_challenge(conn, self.authkey)
            hello = conn.recv()
            with socket.socket(fileno=conn.fileno()) as view:
                _set_read_timeout(view, 0)
                view.detach()
        except (OSError, EOFError, AuthenticationError, pickle.UnpicklingError):
            conn.close()
            self.inbox.put(Closed(None))
            return
        conn_id = next(self._ids)
        self._conns[conn_id] = (conn, threading.current_thread())
        self.inbox.put(Connected(conn_id, hello))
        while True:
            try:
                data = conn.recv_bytes()
            except (EOFError, OSError):
                break
            try:
                message = unpack_trial_side(data)
            except Exception as exc:  # an object the controller cannot import: say so, go on
                message = Unreadable(f"{type(exc).__name__}: {exc}")
            self.inbox.put(Received(conn_id, message))
        self.inbox.put(Closed(conn_id))

    def _wait(self, key: int, proc: Process) -> None:
        self.inbox.put(Exited(key, proc.wait()))


def _set_read_timeout(sock: socket.socket, seconds: int) -> None:
    """Blocking reads fail after ``seconds`` (0: never); unlike settimeout, it survives detach()."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", seconds, 0))
