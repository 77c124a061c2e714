"""What every client class of the package shares: the upstream's constructor arguments and the link they make."""
import os

from . import _status
from ._link import WorkerLink
from ._status import DsError, Status
from ._types import INT32_MAX, check_range, check_types


class ClientBase:
    def __init__(self, host="", port=0, connect_timeout_ms=9000, req_timeout_ms=0, transport="auto"):
        check_types(("host", host, str), ("port", port, int), ("connect_timeout_ms", connect_timeout_ms, int),
                    ("req_timeout_ms", req_timeout_ms, int))
        if bool(host) != bool(port):
            raise RuntimeError("host and port should be given together, got host %r and port %r" % (host, port))
        check_range("connect_timeout_ms", connect_timeout_ms, 0, INT32_MAX)
        check_range("req_timeout_ms", req_timeout_ms, 0, INT32_MAX)
        self._host = host
        self._port = port
        self._connect_timeout_ms = connect_timeout_ms or 9000
        self._req_timeout_ms = req_timeout_ms
        # "tcp" keeps every value inline over TCP even on the worker's host (the Java SDK's TCP_INLINE transport)
        self._transport = os.environ.get("DS4J_TRANSPORT", transport)
        self._link = None
        self._owns_link = True

    @classmethod
    def _sharing(cls, link):
        """A client over a link another client made (DsClient: one connection for kv(), object(), hetero())."""
        client = cls.__new__(cls)
        client._host, client._port = link.host, link.port
        client._link = link
        client._owns_link = False
        return client

    def init(self):
        """Connects to the worker; RuntimeError when it cannot (upstream ``init``)."""
        if self._link is not None and not self._link.closed:
            return
        host, port = self._host, self._port
        if not host:
            host = os.environ.get("DATASYSTEM_HOST", "")
            port = int(os.environ.get("DATASYSTEM_PORT", "0") or 0)
            if not host or not port:
                raise DsError(_status.INVALID, "no worker address: pass host and port, or set DATASYSTEM_HOST and"
                                               " DATASYSTEM_PORT")
        link = WorkerLink(host, port, self._connect_timeout_ms, self._req_timeout_ms, self._transport)
        link.connect()
        self._link = link

    def _ready(self):
        link = self._link
        if link is None:
            raise DsError(_status.NOT_READY, "the client is not initialized: call init() first")
        return link

    def health_check(self):
        """Status OK when the worker answers a heartbeat; an error Status otherwise (also before ``init``)."""
        if self._link is None:
            return Status(_status.NOT_READY, "the client is not initialized: call init() first")
        from . import _protocol as P

        def beat(conn, state):
            conn.call(conn.begin(P.HEARTBEAT), self._link.request_timeout())

        try:
            self._link.invoke(beat)
            return Status()
        except DsError as e:
            return Status(e.code, e.message)

    def shutdown(self):
        """Ends the session: unmaps the pool (views then read zeros) and says BYE."""
        if self._link is not None and self._owns_link:
            self._link.close()

    close = shutdown

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.shutdown()
