"""Everything a client holds of its worker: the session, the pool mapping and a pool of connections
(docs/protocol.md sections 6, 9, 10), with the Java SDK's rules: HELLO over TCP, then on the worker's host the
Unix socket plus the mapped pool; one connection per thread inside a call; reconnect within the reconnect wait
and retry a call once when its connection breaks; heartbeats; a watch connection that invalidates the mapping
the moment the worker dies; a mapping of an older worker run or an older session is never reused.
"""
import collections
import os
import socket
import struct
import threading
import time

from . import _protocol as P
from . import _status
from ._shm import PoolMapping
from ._status import DsError

_TIMEVAL = struct.Struct("@ll")


def _process_start_ms():
    """This process's start time, epoch ms, as the worker reads it from /proc to tell a live client (10)."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        start_ticks = int(fields[19])
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime"))
        return btime * 1000 + start_ticks * 1000 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return 0


class Timeout(Exception):
    """A request past its deadline (9): the connection is discarded and the call is not retried."""


class Connection:
    """One socket, used by one thread at a time for a request and its response."""

    def __init__(self, sock, epoch):
        self.sock = sock
        self.epoch = epoch
        self.correlation = 0
        self.max_frame = P.DEFAULT_MAX_FRAME
        self.open = True
        self._buf = bytearray(65536)
        self._view = memoryview(self._buf)
        self._timeout_ms = None
        self.pending = []  # NO_REPLY frames to send with the next request, in one write

    def begin(self, msg_type, no_reply=False):
        self.correlation += 1
        return P.Writer(msg_type, P.FLAG_NO_REPLY if no_reply else 0, self.correlation)

    def send(self, writer):
        frame = writer.frame()
        if self.pending:
            self.pending.append(frame)
            frame = b"".join(self.pending)
            self.pending = []
        self.sock.sendall(frame)

    def _set_timeout(self, timeout_ms):
        # SO_RCVTIMEO on a blocking socket: a deadline at no cost per call (socket.settimeout adds a poll per recv)
        if timeout_ms != self._timeout_ms:
            tv = _TIMEVAL.pack(timeout_ms // 1000, (timeout_ms % 1000) * 1000)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            self._timeout_ms = timeout_ms

    def call(self, writer, timeout_ms):
        """Sends the request and returns (buffer, Reader) of its status-0 response; an error status raises DsError."""
        expected = self.correlation
        self._set_timeout(max(1, timeout_ms))
        self.send(writer)
        try:
            buf, length = self._receive()
        except (BlockingIOError, socket.timeout):
            self.close()
            raise Timeout("no answer from the worker within %d ms" % timeout_ms)
        _, _, flags, correlation = P.HEADER.unpack_from(buf, 0)
        if not flags & P.FLAG_RESPONSE or correlation != expected:
            raise ConnectionError("worker answered correlation %d, expected %d" % (correlation, expected))
        reader = P.Reader(buf, P.HEADER_LENGTH, length)
        try:
            status, message = P.read_status(reader)
        except P.ProtocolError as e:
            self.close()
            raise DsError(_status.RUNTIME_ERROR, "malformed response from the worker: %s" % e)
        if status != 0:
            raise DsError(status, message)
        return buf, reader

    def _receive(self):
        buf, view, sock = self._buf, self._view, self.sock
        have = 0
        while have < P.HEADER_LENGTH:
            n = sock.recv_into(view[have:])
            if n == 0:
                raise ConnectionError("the worker closed the connection")
            have += n
        length = P.HEADER.unpack_from(buf, 0)[0]
        if length < P.HEADER_LENGTH or length > self.max_frame:
            self.close()
            raise DsError(_status.RUNTIME_ERROR, "malformed response from the worker: frame length %d" % length)
        if length > len(buf):
            big = bytearray(length)
            big[:have] = view[:have]
            buf, view = big, memoryview(big)
        while have < length:
            n = sock.recv_into(view[have:length])
            if n == 0:
                raise ConnectionError("the worker closed the connection")
            have += n
        return buf, length

    def await_close(self):
        """Blocks until the worker closes this connection (the watch: the worker never writes to it)."""
        self._set_timeout(0)
        try:
            while self.sock.recv(4096):
                pass
        except OSError:
            pass
        self.close()

    def close(self):
        if self.open:
            self.open = False
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


class State:
    """What one successful establish set up; replaced as a whole on reconnect."""

    __slots__ = ("epoch", "client_id", "generation", "worker_address", "mapping", "unix_socket_path",
                 "inline_threshold", "heartbeat_interval_ms", "reconnect_wait_ms", "max_frame_length")

    @property
    def shared_memory(self):
        return self.mapping is not None


class WorkerLink:
    def __init__(self, host, port, connect_timeout_ms, req_timeout_ms, transport="auto", reconnect_wait_ms=-1):
        self.host = host
        self.port = port
        self.connect_timeout_ms = connect_timeout_ms
        self.req_timeout_ms = req_timeout_ms if req_timeout_ms > 0 else connect_timeout_ms
        self.transport = transport
        self._reconnect_wait_ms = reconnect_wait_ms
        self._idle = collections.deque()
        self._reconnect_lock = threading.Lock()
        self._deferred = collections.deque()
        self._pid = os.getpid()
        self._start_ms = _process_start_ms()
        self._watch = None
        self._watch_lock = threading.Lock()
        self.closed = False
        self.state = None

    # ------------------------------------------------------------------------------------------ establish (6.1)

    def connect(self):
        try:
            self._establish(0, None, 0)
        except (OSError, DsError, Timeout, P.ProtocolError) as e:
            self.close()
            raise DsError(_status.RPC_UNAVAILABLE, "cannot reach a worker at %s:%d: %s; is it running (bin/dscli"
                          " start -w --worker_address %s:%d)?" % (self.host, self.port, e, self.host, self.port))
        threading.Thread(target=self._heartbeat_loop, name="ds4j-heartbeat", daemon=True).start()

    def _open_tcp(self, epoch):
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout_ms / 1000.0)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Connection(sock, epoch)

    def _open_unix(self, path, epoch):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout_ms / 1000.0)
            sock.connect(path)
            sock.settimeout(None)
        except OSError:
            sock.close()
            raise
        return Connection(sock, epoch)

    def _hello(self, conn, client_id, wants_shm):
        w = conn.begin(P.HELLO)
        P.write_hello(w, self._pid, self._start_ms, client_id, wants_shm)
        _, reader = conn.call(w, self.connect_timeout_ms)
        reply = P.read_hello(reader)
        conn.max_frame = reply.max_frame_length
        return reply

    def _establish(self, previous_client_id, previous_mapping, previous_epoch):
        epoch = previous_epoch + 1
        tcp = self._open_tcp(epoch)
        first = None
        mapping = None
        try:
            reply = self._hello(tcp, previous_client_id, False)
            # the old mapping stays only for the same worker run AND the same session (6.4)
            same_session = (previous_mapping is not None and previous_mapping.valid
                            and previous_mapping.generation == reply.generation
                            and previous_client_id == reply.client_id)
            if self.transport == "auto" and reply.unix_socket_path:
                mapping = previous_mapping if same_session else PoolMapping.try_map(reply.generation, reply.segments)
            if mapping is not None:
                try:
                    unix = self._open_unix(reply.unix_socket_path, epoch)
                    shared = self._hello(unix, reply.client_id, True)
                except OSError:
                    unix, shared = None, None
                if shared is not None and shared.shared_memory and shared.client_id == reply.client_id \
                        and shared.generation == reply.generation:
                    tcp.close()
                    first = unix
                else:
                    if unix is not None:
                        unix.close()
                    if mapping is not previous_mapping:
                        mapping.invalidate()
                    mapping = None
            if first is None:
                first = tcp
        except BaseException:
            tcp.close()
            if mapping is not None and mapping is not previous_mapping:
                mapping.invalidate()
            raise
        if previous_mapping is not None and previous_mapping is not mapping:
            previous_mapping.invalidate()
        s = State()
        s.epoch = epoch
        s.client_id = reply.client_id
        s.generation = reply.generation
        s.worker_address = reply.worker_address
        s.mapping = mapping
        s.unix_socket_path = reply.unix_socket_path
        s.inline_threshold = reply.inline_threshold
        s.heartbeat_interval_ms = max(reply.heartbeat_interval_ms, 10)
        s.reconnect_wait_ms = (self._reconnect_wait_ms if self._reconnect_wait_ms >= 0
                               else reply.client_reconnect_wait_s * 1000)
        s.max_frame_length = reply.max_frame_length
        self.state = s
        self._idle.append(first)
        if mapping is not None:
            self._start_watch(s)

    def _start_watch(self, watched):
        """A connection of the session that only ends: its end is the worker's death or the session's (10)."""
        try:
            watcher = self._open_connection(watched)
        except (OSError, DsError, Timeout, P.ProtocolError):
            return
        with self._watch_lock:
            previous, self._watch = self._watch, watcher
        if previous is not None:
            previous.close()

        def watch():
            watcher.await_close()
            if self.closed or self.state.epoch != watched.epoch:
                return
            watched.mapping.invalidate()
            try:
                self._reconnect(watched.epoch)
            except DsError:
                pass

        threading.Thread(target=watch, name="ds4j-session-watch", daemon=True).start()

    def _open_connection(self, current):
        if current.shared_memory:
            conn = self._open_unix(current.unix_socket_path, current.epoch)
        else:
            conn = self._open_tcp(current.epoch)
        try:
            reply = self._hello(conn, current.client_id, current.shared_memory)
            if (reply.client_id != current.client_id or reply.generation != current.generation
                    or reply.shared_memory != current.shared_memory):
                raise ConnectionError("the worker no longer knows this session (it restarted or reclaimed it)")
        except BaseException:
            conn.close()
            raise
        return conn

    # ------------------------------------------------------------------------------------------ calls (6.2, 6.3)

    def _borrow(self, current):
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return self._open_connection(current)
            if conn.epoch == current.epoch and conn.open:
                return conn
            conn.close()

    def _give_back(self, conn):
        if not self.closed and conn.open and conn.epoch == self.state.epoch:
            self._idle.append(conn)
        else:
            conn.close()

    def invoke(self, call):
        """Runs ``call(conn, state)``; when the connection breaks, reconnects and runs it once more."""
        last = None
        for _ in range(2):
            self._check_open()
            current = self.state
            try:
                conn = self._borrow(current)
            except (OSError, Timeout, P.ProtocolError) as e:
                last = e
                self._reconnect(current.epoch)
                continue
            try:
                self._queue_deferred(conn, current)
                result = call(conn, current)
            except Timeout as e:
                conn.close()
                raise DsError(_status.RPC_DEADLINE_EXCEEDED, str(e))
            except OSError as e:
                conn.close()
                last = e
                self._reconnect(current.epoch)
                continue
            except P.ProtocolError as e:
                conn.close()
                raise DsError(_status.RUNTIME_ERROR, "malformed response from the worker: %s" % e)
            except BaseException:
                self._give_back(conn)
                raise
            self._give_back(conn)
            return result
        raise DsError(_status.CLIENT_WORKER_DISCONNECT, "lost the connection to the worker at %s:%d twice in one"
                      " call: %s" % (self.host, self.port, last))

    def _reconnect(self, failed_epoch):
        with self._reconnect_lock:
            current = self.state
            if current.epoch != failed_epoch or self.closed:
                return
            while self._idle:
                self._idle.pop().close()
            deadline = time.monotonic() + current.reconnect_wait_ms / 1000.0
            last = None
            while True:
                try:
                    self._establish(current.client_id, current.mapping, current.epoch)
                    return
                except (OSError, DsError, Timeout, P.ProtocolError) as e:
                    last = e
                    time.sleep(0.1)
                if time.monotonic() >= deadline or self.closed:
                    break
            if current.mapping is not None:
                current.mapping.invalidate()
            raise DsError(_status.CLIENT_WORKER_DISCONNECT, "lost the worker at %s:%d and could not reconnect within"
                          " %d ms (%s); check that the worker is running"
                          % (self.host, self.port, current.reconnect_wait_ms, last))

    def request_timeout(self, extra_ms=0):
        return self.req_timeout_ms + extra_ms

    # ------------------------------------------------------------------------------------------ notices (5.7, 5.9, 5.21)

    def release_later(self, mapping, allocation_id):
        """A pin to give back; it rides ahead of the next request (called from finalizers: no I/O here)."""
        self._deferred.append((mapping, P.RELEASE, allocation_id))

    def abort_later(self, mapping, allocation_id):
        self._deferred.append((mapping, P.KV_ABORT, allocation_id))

    def _queue_deferred(self, conn, current):
        if not self._deferred:
            return
        ids = {P.RELEASE: [], P.KV_ABORT: []}
        while True:
            try:
                mapping, msg_type, allocation_id = self._deferred.popleft()
            except IndexError:
                break
            # a region of an ended session went with it: the worker reclaimed it already
            if mapping is current.mapping and mapping.valid:
                ids[msg_type].append(allocation_id)
        for msg_type, group in ids.items():
            if group:
                w = conn.begin(msg_type, no_reply=True)
                P.write_ids(w, group)
                conn.pending.append(w.frame())

    def notify_latch(self, mapping, msg_type, allocation_id, kind):
        """LATCH_HELD / LATCH_RELEASED on the watch connection, in order with BYE (5.21, 10). Never raises."""
        current = self.state
        if self.closed or current is None or mapping is not current.mapping or not mapping.valid:
            return
        w = None
        with self._watch_lock:
            watch = self._watch
            if watch is not None and watch.open and watch.epoch == current.epoch:
                w = watch.begin(msg_type, no_reply=True)
                w.i64(allocation_id).i8(kind)
                try:
                    watch.send(w)
                    return
                except OSError:
                    pass

        def send(conn, s):
            if s.mapping is mapping:
                w2 = conn.begin(msg_type, no_reply=True)
                w2.i64(allocation_id).i8(kind)
                conn.send(w2)

        try:
            self.invoke(send)
        except DsError:
            pass

    def flush(self):
        """Sends the queued releases now (tests and benchmarks that want the pool back at once)."""
        if self._deferred:
            def send(conn, s):
                if conn.pending:
                    frame = b"".join(conn.pending)
                    conn.pending = []
                    conn.sock.sendall(frame)
            self.invoke(send)

    # ------------------------------------------------------------------------------------------ life

    def _heartbeat_loop(self):
        while not self.closed:
            time.sleep(self.state.heartbeat_interval_ms / 1000.0)
            if self.closed:
                return

            def beat(conn, s):
                conn.call(conn.begin(P.HEARTBEAT), self.req_timeout_ms)

            try:
                self.invoke(beat)
            except DsError:
                pass

    def _check_open(self):
        if self.closed:
            raise DsError(_status.INVALID, "this client is closed")

    def close(self):
        if self.closed:
            return
        self.closed = True
        state = self.state
        # unmap before BYE: once the worker hears it, it gives this client's views to others (5.2a)
        if state is not None and state.mapping is not None:
            state.mapping.invalidate()
        with self._watch_lock:
            last = self._watch if self._watch is not None and self._watch.open else None
            if last is None and self._idle:
                last = self._idle.pop()
            if last is not None:
                try:
                    last.send(last.begin(P.BYE, no_reply=True))
                except OSError:
                    pass
                last.close()
        while self._idle:
            self._idle.pop().close()
