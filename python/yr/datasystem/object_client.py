"""``yr.datasystem.object_client``: objects with global references, and the Buffer with its latches
(docs/protocol.md 5.13-5.21, docs/shm-layout.md 6.4).

On the worker's host a Buffer is the object in the pool: writes are visible to every holder at once (PRAM), a
publish makes a new version of the same bytes, and its latches are the header's latch word, shared with every
process (Java clients included). Over TCP a Buffer is local memory, published with OBJ_PUT.
"""
import time
import uuid

from . import _protocol as P
from . import _shm
from . import _status
from ._base import ClientBase
from ._status import DsError
from ._types import (INT32_MAX, CacheType, ConsistencyType, WriteMode, as_buffer, check_key_list, check_range,
                     check_types, failed_keys, nbytes)

__all__ = ["ObjectClient", "Buffer", "WriteMode", "ConsistencyType", "CacheType"]

_READ, _WRITE = 2, 1
_COUNT = 0xFFFFFFFF


class Buffer:
    """An object's bytes: the pool region (shared memory) or local memory (TCP)."""

    def __init__(self):
        self._client = None

    @classmethod
    def _make(cls, client, key, data, consistency, version=0, sealed=False, mapping=None, allocation_id=0,
              header_offset=0, segment=0, published=False, state=None):
        b = cls()
        b._client = client
        b._key = key
        b._data = data
        b._consistency = consistency
        b._version = version
        b._sealed = sealed
        b._mapping = mapping
        b._allocation_id = allocation_id
        b._header = header_offset
        b._segment = segment
        b._state = state or [published]
        b._invalid = False
        b._reads = 0
        b._writing = False
        if mapping is not None and _shm.ATOMICS is not None:
            b._latch = _shm.LatchWord(mapping.address(segment, header_offset + _shm.LATCH_OFFSET))
        else:
            b._latch = _shm.LocalLatchWord()
        return b

    # ---------------------------------------------------------------------------------------------- data

    def _check(self):
        if self._client is None:
            raise DsError(_status.INVALID, "this Buffer holds no object")
        if self._invalid:
            raise DsError(_status.BUFFER_DEPRECATED, "the buffer of %s was invalidated" % self._key)
        if self._mapping is not None:
            self._mapping.check_valid()

    def _is_sealed(self):
        if self._mapping is not None:
            return self._sealed or self._mapping.read_state(self._segment, self._header) == _shm.STATE_SEALED
        return self._sealed

    def get_size(self):
        self._check()
        return self._data.nbytes

    def mutable_data(self):
        self._check()
        if self._is_sealed():
            raise DsError(_status.OC_ALREADY_SEALED, "object %s is sealed: its bytes cannot change" % self._key)
        return self._data

    def immutable_data(self):
        self._check()
        return self._data.toreadonly()

    def memory_copy(self, value):
        data = as_buffer("value", value, allow_str=False)
        target = self.mutable_data()
        n = nbytes(data)
        if n > target.nbytes:
            raise DsError(_status.INVALID, "%d bytes do not fit in the buffer of %s (%d bytes)"
                          % (n, self._key, target.nbytes))
        target[:n] = data

    def publish(self, nested_object_keys=None):
        self._publish(False, nested_object_keys)

    def seal(self, nested_object_keys=None):
        self._publish(True, nested_object_keys)

    def _publish(self, seal, nested):
        self._check()
        nested = _nested(nested)
        client = self._client
        link = client._ready()
        if self._mapping is not None:
            def run(conn, state):
                w = conn.begin(P.OBJ_PUBLISH)
                w.string(self._key).i64(self._allocation_id).i8(P.obj_flags(seal, False)).keys(nested)
                return conn.call(w, link.request_timeout())[1].i64()
        else:
            def run(conn, state):
                w = conn.begin(P.OBJ_PUT)
                P.write_obj_params(w, self._consistency.value, 0)
                w.i8(P.obj_flags(seal, False)).i64(self._version).string(self._key).keys(nested)
                w.bytes_(self._data)
                return conn.call(w, link.request_timeout())[1].i64()
        version = link.invoke(run)
        self._state[0] = True
        if version:
            self._version = version
        if seal:
            self._sealed = True

    def invalidate_buffer(self):
        self._invalid = True

    # ---------------------------------------------------------------------------------------------- latches

    def wlatch(self, timeout_sec=60):
        check_types(("timeout_sec", timeout_sec, int))
        check_range("timeout_sec", timeout_sec, 1, INT32_MAX)
        self._check()
        token = self._token()
        deadline = time.monotonic() + timeout_sec
        pause = _Pause()
        while True:  # claim the writer bit; readers already inside stay counted
            w = self._latch.load()
            if not w & _shm.LatchWord.WRITER and self._latch.cas(w, w | _shm.LatchWord.WRITER | (token << 32)):
                break
            if time.monotonic() > deadline:
                raise self._timed_out(w, timeout_sec)
            pause.wait()
        self._notify(P.LATCH_HELD, _WRITE)
        while True:  # own it once the readers inside have left
            w = self._latch.load()
            if w & _COUNT == 0:
                self._writing = True
                return
            if time.monotonic() > deadline:
                self._release_writer(token)
                raise self._timed_out(w, timeout_sec)
            pause.wait()

    def unwlatch(self):
        self._check()
        if not self._writing:
            raise DsError(_status.INVALID, "this buffer of %s holds no write latch" % self._key)
        self._writing = False
        self._release_writer(self._token())

    def rlatch(self, timeout_sec=60):
        check_types(("timeout_sec", timeout_sec, int))
        check_range("timeout_sec", timeout_sec, 1, INT32_MAX)
        self._check()
        deadline = time.monotonic() + timeout_sec
        pause = _Pause()
        while True:
            w = self._latch.load()
            if not w & _shm.LatchWord.WRITER and w & _COUNT < _COUNT and self._latch.cas(w, w + 1):
                self._reads += 1
                self._notify(P.LATCH_HELD, _READ)
                return
            if time.monotonic() > deadline:
                raise self._timed_out(w, timeout_sec)
            pause.wait()

    def unrlatch(self):
        self._check()
        if self._reads == 0:
            raise DsError(_status.INVALID, "this buffer of %s holds no read latch" % self._key)
        while True:
            w = self._latch.load()
            if w & _COUNT == 0 or self._latch.cas(w, w - 1):
                break
        self._reads -= 1
        self._notify(P.LATCH_RELEASED, _READ)

    def _release_writer(self, token):
        while True:
            w = self._latch.load()
            if not w & _shm.LatchWord.WRITER or (w >> 32) & 0x7FFFFFFF != token:
                break
            if self._latch.cas(w, w & _COUNT):
                break
        self._notify(P.LATCH_RELEASED, _WRITE)

    def _token(self):
        link = self._client._link
        token = (link.state.client_id & 0x7FFFFFFF) if link is not None and link.state else 1
        return token or 1

    def _notify(self, msg_type, kind):
        if self._mapping is not None:
            self._client._link.notify_latch(self._mapping, msg_type, self._allocation_id, kind)

    def _timed_out(self, w, timeout_sec):
        return DsError(_status.TRY_AGAIN, "latch of %s is held (writer token %d / %d readers); timed out after %d ms"
                       % (self._key, (w >> 32) & 0x7FFFFFFF, w & _COUNT, timeout_sec * 1000))


class _Pause:
    """Spin briefly, then sleep with a growing pause up to 200 us, as the Java SDK's latch waiters do."""

    def __init__(self):
        self._n = 0

    def wait(self):
        self._n += 1
        if self._n > 16:
            time.sleep(min(0.0002, 0.00001 * (self._n - 16)))


def _nested(nested):
    if nested is None:
        return []
    if isinstance(nested, (set, frozenset, tuple)):
        nested = list(nested)
    check_types(("nested_object_keys", nested, list))
    if len(nested) > P.MAX_NESTED:
        raise DsError(_status.INVALID, "at most %d nested keys, got %d" % (P.MAX_NESTED, len(nested)))
    return nested


def _consistency(param):
    if param is None:
        return ConsistencyType.PRAM
    check_types(("param", param, dict))
    if "consistency_type" not in param:
        raise TypeError("The param should have the key consistency_type")
    check_types(("consistency_type", param["consistency_type"], ConsistencyType))
    return param["consistency_type"]


class ObjectClient(ClientBase):
    def __init__(self, host, port, connect_timeout_ms=9000, token="", client_public_key="", client_private_key="",
                 server_public_key="", access_key="", secret_key="", tenant_id="", req_timeout_ms=0):
        super().__init__(host, port, connect_timeout_ms, req_timeout_ms)

    def create(self, object_key, size, param=None):
        check_types(("object_key", object_key, str), ("size", size, int))
        consistency = _consistency(param)
        if not object_key:
            raise DsError(_status.INVALID, "The objectKey should not be empty.")
        if size < 0 or size > P.ABSOLUTE_MAX_FRAME:
            raise DsError(_status.INVALID, "size must be 0..%d, got %d" % (P.ABSOLUTE_MAX_FRAME, size))
        link = self._ready()

        def run(conn, state):
            if not state.shared_memory:
                return Buffer._make(self, object_key, memoryview(bytearray(size)), consistency)
            w = conn.begin(P.OBJ_CREATE)
            P.write_obj_params(w, consistency.value, 0)
            w.string(object_key).i64(size)
            alloc, seg, off = P.read_region(conn.call(w, link.request_timeout())[1])
            return self._pool_buffer(state.mapping, object_key, seg, off, size, alloc, consistency, 0, False, False)

        return link.invoke(run)

    def _pool_buffer(self, mapping, key, seg, off, size, alloc, consistency, version, sealed, published):
        link = self._link
        state = [published]

        def on_last_view():
            # a view gives its pin back; a region never published is freed
            (link.release_later if state[0] else link.abort_later)(mapping, alloc)

        data = mapping.view(seg, off, size, alloc, True, on_last_view)
        return Buffer._make(self, key, data, consistency, version, sealed, mapping, alloc,
                            off - _shm.OBJECT_HEADER_LENGTH, seg, published, state)

    def put(self, object_key, value, param=None, nested_object_keys=None):
        check_types(("object_key", object_key, str))
        data = as_buffer("value", value, allow_str=False)
        consistency = _consistency(param)
        nested = _nested(nested_object_keys)
        if not object_key:
            raise DsError(_status.INVALID, "The objectKey should not be empty.")
        link = self._ready()
        size = nbytes(data)

        def run(conn, state):
            if state.shared_memory and size > state.inline_threshold:
                w = conn.begin(P.OBJ_CREATE)
                P.write_obj_params(w, consistency.value, 0)
                w.string(object_key).i64(size)
                alloc, seg, off = P.read_region(conn.call(w, link.request_timeout())[1])
                target = state.mapping.view(seg, off, size, alloc, True, lambda: None)
                target[:] = data
                del target
                w = conn.begin(P.OBJ_PUBLISH)
                w.string(object_key).i64(alloc).i8(P.obj_flags(False, True)).keys(nested)
                try:
                    conn.call(w, link.request_timeout())
                except DsError:
                    a = conn.begin(P.KV_ABORT, no_reply=True)
                    P.write_ids(a, [alloc])
                    conn.send(a)
                    raise
                return
            w = conn.begin(P.OBJ_PUT)
            P.write_obj_params(w, consistency.value, 0)
            w.i8(0).i64(0).string(object_key).keys(nested).bytes_(data)
            conn.call(w, link.request_timeout())

        link.invoke(run)

    def get(self, object_keys, timeout_ms):
        check_key_list("object_keys", object_keys, P.MAX_READ_BATCH)
        check_types(("timeout_ms", timeout_ms, int))
        check_range("timeout_ms", timeout_ms, 0, INT32_MAX)
        link = self._ready()

        def run(conn, state):
            w = conn.begin(P.OBJ_GET)
            w.i64(timeout_ms).keys(object_keys)
            buf, r = conn.call(w, link.request_timeout(timeout_ms))
            P.read_entry_count(r, len(object_keys))
            frame = memoryview(buf)
            out = []
            for key in object_keys:
                kind, payload, version, sealed = P.read_obj_entry(r)
                if kind == P.INLINE:
                    data = memoryview(bytearray(frame[payload[0]:payload[1]]))
                    out.append(Buffer._make(self, key, data, ConsistencyType.PRAM, version, sealed, published=True))
                elif kind == P.POOL_VIEW:
                    alloc, seg, off, size = payload
                    out.append(self._pool_buffer(state.mapping, key, seg, off, size, alloc, ConsistencyType.PRAM,
                                                 version, sealed, True))
                else:
                    out.append(None)
            return out

        buffers = link.invoke(run)
        if all(b is None for b in buffers):
            raise DsError(_status.NOT_FOUND, "Cannot get objects from worker")
        return buffers

    def _change_ref(self, msg_type, object_keys, operation):
        check_key_list("object_keys", object_keys, P.MAX_READ_BATCH)
        link = self._ready()

        def run(conn, state):
            w = conn.begin(msg_type)
            w.string("").keys(object_keys)
            return P.read_failures(conn.call(w, link.request_timeout())[1])

        return failed_keys(link.invoke(run), len(object_keys), operation)

    def g_increase_ref(self, object_keys):
        return self._change_ref(P.OBJ_INC_REF, object_keys, "g_increase_ref")

    def g_decrease_ref(self, object_keys):
        return self._change_ref(P.OBJ_DEC_REF, object_keys, "g_decrease_ref")

    def query_global_ref_num(self, object_key):
        """The key's global reference count, -1 on failure (as upstream)."""
        check_types(("object_key", object_key, str))
        link = self._ready()

        def run(conn, state):
            w = conn.begin(P.OBJ_QUERY_REF)
            w.string(object_key)
            return conn.call(w, link.request_timeout())[1].i64()

        try:
            return int(link.invoke(run))
        except DsError:
            return -1

    def generate_object_id(self, prefix=""):
        check_types(("prefix", prefix, str))
        return prefix if prefix else str(uuid.uuid4())

    generate_key = generate_object_id
