"""``yr.datasystem.kv_client``: the upstream's KVClient over a ds4j worker (docs/python.md).

Values above the worker's inline threshold travel through the shared pool on the worker's host: a ``set`` copies
straight into a region it created, a ``get`` copies straight out of it, ``get_buffers`` hands out views of it with
no copy, and ``mcreate`` + ``MutableData()`` + ``mset_buffer`` fill it in place. Elsewhere values go inline.
"""
import uuid
from collections import namedtuple

from . import _protocol as P
from . import _status
from ._base import ClientBase
from ._status import DsError
from ._types import (INT32_MAX, CacheType, ConsistencyType, ExistenceOpt, WriteMode, as_buffer, check_key_list,
                     check_range, check_types, check_uint32, failed_keys, nbytes)

__all__ = ["KVClient", "SetParam", "ReadParam", "ReadOnlyBuffer", "StateValueBuffer", "WriteMode", "ExistenceOpt",
           "CacheType", "ConsistencyType", "DEFAULT_FAST_TRANSPORT_MEM_SIZE", "MAX_FAST_TRANSPORT_MEM_SIZE"]

DEFAULT_FAST_TRANSPORT_MEM_SIZE = 256 * 1024 * 1024
MAX_FAST_TRANSPORT_MEM_SIZE = 2 * 1024 * 1024 * 1024
MSET_MAX_VALUE = 500 * 1024
EXIST_MAX_KEYS = 100000
ReadParam = namedtuple("ReadParam", ["key", "offset", "size"])


class SetParam:
    """The upstream's SetParam: attributes a caller sets one by one."""

    def __init__(self):
        self.write_mode = WriteMode.NONE_L2_CACHE
        self.ttl_second = 0
        self.existence = ExistenceOpt.NONE
        self.cache_type = CacheType.MEMEORY


def _write_params(w, write_mode, existence, ttl_second, cache_type=CacheType.MEMEORY):
    P.write_set_params(w, write_mode.value, existence.value, cache_type.value, ttl_second)


class StateValueBuffer:
    """A region ``mcreate`` made: fill ``MutableData()`` in place, then ``mset_buffer``. Over TCP, local memory."""

    def __init__(self, key, size, write_mode, ttl_second, data, allocation_id=0, mapping=None, state=None):
        self.key = key
        self._size = size
        self.write_mode = write_mode
        self.ttl_second = ttl_second
        self._data = data
        self.allocation_id = allocation_id
        self.mapping = mapping
        self._state = state  # shared with the view's finalizer: published or not
        self.published = False

    def GetSize(self):
        return self._size

    def MutableData(self):
        if self.published:
            raise DsError(_status.INVALID, "the buffer of %s was already published" % self.key)
        if self.mapping is not None:
            self.mapping.check_valid()
        return self._data

    def ImmutableData(self, with_latch=False, timeout_sec=60):
        if self.mapping is not None:
            self.mapping.check_valid()
        return self._data.toreadonly()

    def _mark_published(self):
        self.published = True
        if self._state is not None:
            self._state[0] = True

    get_size = GetSize
    mutable_data = MutableData
    immutable_data = ImmutableData


class ReadOnlyBuffer:
    """``get_read_only_buffers`` entries: a view of the value (no copy), latches are a no-op for KV values."""

    def __init__(self, view):
        self._view = view

    def immutable_data(self, with_latch=False, timeout_sec=60):
        check_range("timeout_sec", timeout_sec, 1, INT32_MAX)
        return self._view

    def rlatch(self, timeout_sec=60):
        check_range("timeout_sec", timeout_sec, 1, INT32_MAX)

    def unrlatch(self):
        pass

    def get_size(self):
        return self._view.nbytes


class KVClient(ClientBase):
    def __init__(self, host="", port=0, connect_timeout_ms=9000, token="", client_public_key="",
                 client_private_key="", server_public_key="", access_key="", secret_key="", tenant_id="",
                 enable_cross_node_connection=False, req_timeout_ms=0,
                 fast_transport_mem_size=DEFAULT_FAST_TRANSPORT_MEM_SIZE, service_discovery=None):
        super().__init__(host, port, connect_timeout_ms, req_timeout_ms)
        check_range("fast_transport_mem_size", fast_transport_mem_size, 1, MAX_FAST_TRANSPORT_MEM_SIZE)

    # ---------------------------------------------------------------------------------------------- writes

    def set(self, key, val, write_mode=WriteMode.NONE_L2_CACHE, ttl_second=0):
        check_types(("key", key, str), ("write_mode", write_mode, WriteMode))
        check_uint32("ttl_second", ttl_second)
        data = as_buffer("val", val)
        if not key:
            raise DsError(_status.INVALID, "The objectKey should not be empty.")
        if nbytes(data) == 0:
            raise DsError(_status.INVALID, "The dataSize value should be bigger than zero.")
        self._set_one(key, data, write_mode, ExistenceOpt.NONE, ttl_second)

    def _set_one(self, key, data, write_mode, existence, ttl_second):
        link = self._ready()
        size = nbytes(data)

        def run(conn, state):
            if state.shared_memory and size > state.inline_threshold and existence is ExistenceOpt.NONE:
                return self._set_through_pool(conn, state, key, data, write_mode, ttl_second)
            self._check_fits(state, size + P.set_item_overhead(key))
            w = conn.begin(P.KV_SET)
            _write_params(w, write_mode, existence, ttl_second)
            w.i32(1).string(key).bytes_(data)
            return P.read_failures(conn.call(w, link.request_timeout())[1])

        failures = link.invoke(run)
        if failures:
            raise DsError(failures[0][1], failures[0][2])

    def _set_through_pool(self, conn, state, key, data, write_mode, ttl_second):
        created = self._create(conn, state, [key], [nbytes(data)], write_mode, ttl_second)
        region = created[0]
        region.MutableData()[:] = data
        try:
            return self._publish(conn, created)
        except OSError:
            # the retry creates a new region; this one goes back once the link works again
            self._link.abort_later(region.mapping, region.allocation_id)
            raise

    @staticmethod
    def _check_fits(state, total):
        # the worker sizes its frame limit to its pool: what does not fit one request cannot fit the pool
        if total + 65536 > state.max_frame_length:
            raise DsError(_status.OUT_OF_MEMORY, "a value of %d bytes is larger than the worker's pool can hold (it"
                                                 " accepts at most %d bytes per request)"
                          % (total, state.max_frame_length))

    def set_value(self, val, write_mode=WriteMode.NONE_L2_CACHE, ttl_second=0):
        """Stores ``val`` under a generated key and returns the key ("" on failure, as upstream)."""
        key = self.generate_key()
        try:
            self.set(key, val, write_mode, ttl_second)
        except RuntimeError:
            return ""
        return key

    def mset(self, keys, vals, write_mode=WriteMode.NONE_L2_CACHE, ttl_second=0, existence_opt=ExistenceOpt.NONE):
        check_key_list("keys", keys, P.MAX_SET_BATCH)
        check_types(("vals", vals, list), ("write_mode", write_mode, WriteMode),
                    ("existence_opt", existence_opt, ExistenceOpt))
        check_uint32("ttl_second", ttl_second)
        if len(vals) != len(keys):
            raise DsError(_status.INVALID, "mset got %d keys but %d values" % (len(keys), len(vals)))
        data = [as_buffer("val", v) for v in vals]
        total = 0
        for key, d in zip(keys, data):
            if nbytes(d) >= MSET_MAX_VALUE:
                raise DsError(_status.INVALID, "the value of %s is %d bytes; mset takes values below %d bytes (use"
                                               " set for larger ones)" % (key, nbytes(d), MSET_MAX_VALUE))
            total += nbytes(d) + P.set_item_overhead(key)
        link = self._ready()

        def run(conn, state):
            self._check_fits(state, total)
            w = conn.begin(P.KV_SET)
            _write_params(w, write_mode, existence_opt, ttl_second)
            w.i32(len(keys))
            for key, d in zip(keys, data):
                w.string(key).bytes_(d)
            return P.read_failures(conn.call(w, link.request_timeout())[1])

        return failed_keys(link.invoke(run), len(keys), "mset")

    def msettx(self, *args, **kwargs):
        raise DsError(_status.RUNTIME_ERROR, "msettx is deprecated; use mset")

    def mcreate(self, keys, sizes, write_mode=WriteMode.NONE_L2_CACHE, ttl_second=0):
        check_key_list("keys", keys, P.MAX_SET_BATCH)
        check_types(("sizes", sizes, list), ("write_mode", write_mode, WriteMode))
        check_uint32("ttl_second", ttl_second)
        if len(sizes) != len(keys):
            raise DsError(_status.INVALID, "mcreate got %d keys but %d sizes" % (len(keys), len(sizes)))
        for s in sizes:
            check_types(("size", s, int))
            if s <= 0 or s > P.ABSOLUTE_MAX_FRAME:
                raise DsError(_status.INVALID, "The dataSize value should be bigger than zero, got %d." % s)
        link = self._ready()

        def run(conn, state):
            if state.shared_memory:
                return self._create(conn, state, keys, sizes, write_mode, ttl_second)
            return [StateValueBuffer(k, s, write_mode, ttl_second, memoryview(bytearray(s)))
                    for k, s in zip(keys, sizes)]

        return link.invoke(run)

    def _create(self, conn, state, keys, sizes, write_mode, ttl_second):
        """KV_CREATE (5.5); all or nothing: a failed item aborts the regions the others got."""
        link, mapping = self._link, state.mapping
        w = conn.begin(P.KV_CREATE)
        _write_params(w, write_mode, ExistenceOpt.NONE, ttl_second)
        w.i32(len(keys))
        for k, s in zip(keys, sizes):
            w.string(k).i64(s)
        _, r = conn.call(w, link.request_timeout())
        P.read_entry_count(r, len(keys))
        buffers, first_error = [], None
        for k, s in zip(keys, sizes):
            status, alloc, seg, off = P.read_created(r)
            if status != 0:
                first_error = first_error or DsError(status, "%s: %s" % (k, alloc))
                continue
            published = [False]

            def on_last_view(mapping=mapping, alloc=alloc, published=published):
                if not published[0]:
                    link.abort_later(mapping, alloc)

            data = mapping.view(seg, off, s, alloc, True, on_last_view)
            buffers.append(StateValueBuffer(k, s, write_mode, ttl_second, data, alloc, mapping, published))
        if first_error is not None:
            for b in buffers:
                b._state[0] = True  # aborted here, not by the finalizer
            w = conn.begin(P.KV_ABORT, no_reply=True)
            P.write_ids(w, [b.allocation_id for b in buffers])
            conn.send(w)
            raise first_error
        return buffers

    def mset_buffer(self, buffers):
        """Publishes buffers of ``mcreate``; returns the failed keys, raising only when every key failed."""
        check_types(("buffers", buffers, list))
        if not buffers or len(buffers) > P.MAX_SET_BATCH:
            raise DsError(_status.INVALID, "mset_buffer takes 1..%d buffers, got %d" % (P.MAX_SET_BATCH,
                                                                                         len(buffers)))
        for b in buffers:
            check_types(("buffer", b, StateValueBuffer))
            if b.published:
                raise DsError(_status.INVALID, "the buffer of %s was already published" % b.key)
            if b.mapping is not None:
                b.mapping.check_valid()
        link = self._ready()

        def run(conn, state):
            if buffers[0].mapping is not None:
                return self._publish(conn, buffers)
            # inline: one KV_SET per distinct parameter block (a frame carries one)
            failures = []
            groups = {}
            for b in buffers:
                groups.setdefault((b.write_mode, b.ttl_second), []).append(b)
            for (write_mode, ttl), group in groups.items():
                self._check_fits(state, sum(b.GetSize() + P.set_item_overhead(b.key) for b in group))
                w = conn.begin(P.KV_SET)
                _write_params(w, write_mode, ExistenceOpt.NONE, ttl)
                w.i32(len(group))
                for b in group:
                    w.string(b.key).bytes_(b._data)
                failures += P.read_failures(conn.call(w, link.request_timeout())[1])
                for b in group:
                    b._mark_published()
            return failures

        return failed_keys(link.invoke(run), len(buffers), "mset_buffer")

    def _publish(self, conn, buffers):
        w = conn.begin(P.KV_PUBLISH)
        P.write_ids(w, [b.allocation_id for b in buffers])
        failures = P.read_failures(conn.call(w, self._link.request_timeout())[1])
        for b in buffers:
            b._mark_published()
        return failures

    # ---------------------------------------------------------------------------------------------- reads

    def get(self, keys=None, convert_to_str=False, sub_timeout_ms=0):
        """Values of ``keys`` (bytes, or str), None for a missing key; RuntimeError when all are missing."""
        check_key_list("keys", keys, P.MAX_READ_BATCH)
        check_types(("convert_to_str", convert_to_str, bool), ("sub_timeout_ms", sub_timeout_ms, int))
        check_range("sub_timeout_ms", sub_timeout_ms, 0, INT32_MAX)
        link = self._ready()

        def run(conn, state):
            w = conn.begin(P.KV_GET)
            P.write_get(w, sub_timeout_ms, False, keys)
            buf, r = conn.call(w, link.request_timeout(sub_timeout_ms))
            P.read_entry_count(r, len(keys))
            values = []
            frame = memoryview(buf)
            for _ in keys:
                kind, payload = P.read_kv_entry(r)
                if kind == P.INLINE:
                    values.append(bytes(frame[payload[0]:payload[1]]))
                elif kind == P.POOL_VIEW:
                    alloc, seg, off, size = payload
                    values.append(state.mapping.copy_out(seg, off, size, alloc))
                    # copied: the pin goes back ahead of the next request, not on this call's time
                    link.release_later(state.mapping, alloc)
                else:
                    values.append(None)
            return values

        values = link.invoke(run)
        if all(v is None for v in values):
            raise DsError(_status.NOT_FOUND, "Cannot get objects from worker")
        if convert_to_str:
            return [None if v is None else v.decode("utf-8") for v in values]
        return values

    def get_buffers(self, keys, timeout_ms=0):
        """Read-only memoryviews of the values in the pool (no copy), None for a missing key.

        Each view holds its pin until the last memoryview derived from it is gone; ``timeout_ms`` waits only for
        keys that do not exist yet.
        """
        views = self._get_views(keys, timeout_ms)
        if all(v is None for v in views):
            raise DsError(_status.NOT_FOUND, "Cannot get objects from worker")
        return views

    def _get_views(self, keys, timeout_ms):
        check_key_list("keys", keys, P.MAX_READ_BATCH)
        check_types(("timeout_ms", timeout_ms, int))
        check_range("timeout_ms", timeout_ms, 0, INT32_MAX)
        link = self._ready()

        def run(conn, state):
            w = conn.begin(P.KV_GET)
            P.write_get(w, timeout_ms, True, keys)
            buf, r = conn.call(w, link.request_timeout(timeout_ms))
            P.read_entry_count(r, len(keys))
            views = []
            frame = memoryview(buf)
            for _ in keys:
                kind, payload = P.read_kv_entry(r)
                if kind == P.INLINE:
                    views.append(memoryview(bytes(frame[payload[0]:payload[1]])))
                elif kind == P.POOL_VIEW:
                    alloc, seg, off, size = payload
                    mapping = state.mapping

                    def on_last_view(mapping=mapping, alloc=alloc):
                        link.release_later(mapping, alloc)

                    views.append(mapping.view(seg, off, size, alloc, False, on_last_view))
                else:
                    views.append(None)
            return views

        return link.invoke(run)

    def get_read_only_buffers(self, keys=None, timeout_ms=0):
        return [None if v is None else ReadOnlyBuffer(v) for v in self.get_buffers(keys, timeout_ms)]

    def read(self, read_params):
        """Partial reads ``[offset, offset + size)`` per key, as views (upstream ``read``)."""
        check_types(("read_params", read_params, list))
        keys = [p.key for p in read_params]
        views = self.get_buffers(keys)
        out = []
        for p, v in zip(read_params, views):
            if v is None or p.offset > v.nbytes:
                out.append(None)
                continue
            end = v.nbytes if p.size == 0 else min(v.nbytes, p.offset + p.size)
            out.append(ReadOnlyBuffer(v[p.offset:end]))
        return out

    def exist(self, keys):
        check_types(("keys", keys, list))
        if not keys:
            raise DsError(_status.INVALID, "Invalid parameter: the keys should not be empty")
        if len(keys) > EXIST_MAX_KEYS:
            raise DsError(_status.INVALID, "The objectKeys size exceed %d" % EXIST_MAX_KEYS)
        for k in keys:
            check_types(("key", k, str))
        link = self._ready()
        result = []
        for start in range(0, len(keys), P.MAX_READ_BATCH):
            chunk = keys[start:start + P.MAX_READ_BATCH]

            def run(conn, state, chunk=chunk):
                w = conn.begin(P.KV_EXIST)
                w.keys(chunk)
                return P.read_exist(conn.call(w, link.request_timeout())[1], len(chunk))

            result += link.invoke(run)
        return result

    # ---------------------------------------------------------------------------------------------- deletes, TTL

    def delete(self, keys=None):
        """Deletes ``keys``; an absent key is not a failure. Returns the failed keys."""
        check_key_list("keys", keys, P.MAX_READ_BATCH)
        link = self._ready()

        def run(conn, state):
            w = conn.begin(P.KV_DELETE)
            w.keys(keys)
            return P.read_failures(conn.call(w, link.request_timeout())[1])

        return failed_keys(link.invoke(run), len(keys), "delete")

    def expire(self, keys, ttl_second):
        check_key_list("keys", keys, P.MAX_READ_BATCH)
        check_uint32("ttl_second", ttl_second)
        check_range("ttl_second", ttl_second, 0, INT32_MAX)
        link = self._ready()

        def run(conn, state):
            w = conn.begin(P.KV_EXPIRE)
            w.i32(ttl_second).keys(keys)
            return P.read_failures(conn.call(w, link.request_timeout())[1])

        return failed_keys(link.invoke(run), len(keys), "expire")

    def generate_key(self, prefix=""):
        """A UUID (36 characters) when ``prefix`` is empty, else ``prefix`` itself (as upstream)."""
        check_types(("prefix", prefix, str))
        return prefix if prefix else str(uuid.uuid4())
