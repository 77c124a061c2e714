"""The client side of the ds4j wire protocol (docs/protocol.md), field for field as the Java codecs write it.

Every body this client sends or reads is written or read here and nowhere else, so a reader can check this file
against the protocol document section by section. All integers are little-endian.
"""
import struct

PROTOCOL_VERSION = 1

# frame header (2.1): length int32, type int16, flags int16, correlation id int64
HEADER = struct.Struct("<ihhq")
HEADER_LENGTH = 16
FLAG_RESPONSE = 0x0001
FLAG_NO_REPLY = 0x0002
DEFAULT_MAX_FRAME = 64 * 1024 * 1024
ABSOLUTE_MAX_FRAME = 2 ** 31 - 9

# message types (5)
HELLO = 1
HEARTBEAT = 2
BYE = 3
KV_SET = 10
KV_CREATE = 11
KV_PUBLISH = 12
KV_ABORT = 13
KV_GET = 20
RELEASE = 21
KV_DELETE = 30
KV_EXIST = 31
KV_EXPIRE = 32
OBJ_CREATE = 40
OBJ_PUBLISH = 41
OBJ_PUT = 42
OBJ_GET = 43
OBJ_INC_REF = 44
OBJ_DEC_REF = 45
OBJ_QUERY_REF = 46
OBJ_RELEASE_REFS = 47
LATCH_HELD = 50
LATCH_RELEASED = 51

# value kinds of KV_GET / OBJ_GET entries (5.8)
MISSING = 0
INLINE = 1
POOL_VIEW = 2

# object flags (5.13)
FLAG_SEAL = 0x01
FLAG_DROP_VIEW = 0x02
ENTRY_SEALED = 0x01

# batch limits (7)
MAX_SET_BATCH = 1999
MAX_READ_BATCH = 10000
MAX_NESTED = 10000

_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")
_B = struct.Struct("<B")
_SET_PARAMS = struct.Struct("<BBBi")
_HELLO = struct.Struct("<iqqqB")
_GET_HEAD = struct.Struct("<qBi")
_VIEW = struct.Struct("<qiqq")
_REGION = struct.Struct("<qiq")
_OBJ_ENTRY = struct.Struct("<qB")


class ProtocolError(Exception):
    """A body that breaks docs/protocol.md: the connection it came on cannot be trusted any more."""


class Writer:
    """Builds one frame; the header's length is patched in by :meth:`frame`."""

    __slots__ = ("buf",)

    def __init__(self, msg_type, flags, correlation):
        self.buf = bytearray(HEADER.pack(0, msg_type, flags, correlation))

    def i8(self, v):
        self.buf.append(v & 0xFF)
        return self

    def i32(self, v):
        self.buf += _I32.pack(v)
        return self

    def i64(self, v):
        self.buf += _I64.pack(v)
        return self

    def string(self, s):
        if s is None:
            self.buf += _I32.pack(-1)
            return self
        data = s.encode("utf-8")
        self.buf += _I32.pack(len(data))
        self.buf += data
        return self

    def bytes_(self, data):
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        self.buf += _I32.pack(n)
        self.buf += data
        return self

    def keys(self, keys):
        self.buf += _I32.pack(len(keys))
        for k in keys:
            self.string(k)
        return self

    def frame(self):
        struct.pack_into("<i", self.buf, 0, len(self.buf))
        return self.buf


class Reader:
    """Reads a response body in order, checking every length against the frame (3)."""

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf, pos, end):
        self.buf = buf
        self.pos = pos
        self.end = end

    def _need(self, n):
        if n < 0 or self.pos + n > self.end:
            raise ProtocolError("field of %d bytes at %d does not fit in a frame of %d" % (n, self.pos, self.end))

    def i8(self):
        self._need(1)
        v = self.buf[self.pos]
        self.pos += 1
        return v

    def boolean(self):
        return self.i8() != 0

    def i32(self):
        self._need(4)
        v = _I32.unpack_from(self.buf, self.pos)[0]
        self.pos += 4
        return v

    def i64(self):
        self._need(8)
        v = _I64.unpack_from(self.buf, self.pos)[0]
        self.pos += 8
        return v

    def string(self):
        n = self.i32()
        if n == -1:
            return None
        self._need(n)
        v = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8")
        self.pos += n
        return v

    def bytes_(self):
        n = self.i32()
        if n == -1:
            return None
        self._need(n)
        v = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n
        return v

    def count(self, least_item_bytes, maximum):
        n = self.i32()
        if n < 0 or n > maximum or n * least_item_bytes > self.end - self.pos:
            raise ProtocolError("count %d out of range (max %d, %d bytes left)" % (n, maximum, self.end - self.pos))
        return n

    def struct(self, s):
        self._need(s.size)
        v = s.unpack_from(self.buf, self.pos)
        self.pos += s.size
        return v


# ----------------------------------------------------------------------------------------------- 4. responses

def read_status(r):
    """(status, message): status 0 has no message and leaves the reader at the body."""
    status = r.i32()
    if status == 0:
        return 0, None
    return status, r.string()


def read_failures(r):
    """4.1 failed-keys body: [(key, code, message)] in request order."""
    n = r.count(12, 2 ** 31)
    return [(r.string(), r.i32(), r.string()) for _ in range(n)]


# ----------------------------------------------------------------------------------------------- 5.1 HELLO

def write_hello(w, pid, start_ms, client_id, wants_shm):
    w.buf += _HELLO.pack(PROTOCOL_VERSION, pid, start_ms, client_id, 1 if wants_shm else 0)


class HelloReply:
    __slots__ = ("client_id", "generation", "worker_pid", "worker_address", "unix_socket_path", "inline_threshold",
                 "heartbeat_interval_ms", "client_dead_timeout_s", "client_reconnect_wait_s", "max_frame_length",
                 "shared_memory", "segments")


def read_hello(r):
    h = HelloReply()
    h.client_id = r.i64()
    h.generation = r.i64()
    h.worker_pid = r.i64()
    h.worker_address = r.string()
    h.unix_socket_path = r.string() or ""
    h.inline_threshold = r.i32()
    h.heartbeat_interval_ms = r.i32()
    h.client_dead_timeout_s = r.i32()
    h.client_reconnect_wait_s = r.i32()
    h.max_frame_length = r.i32()
    h.shared_memory = r.boolean()
    n = r.count(16, 1024)
    h.segments = [(r.i32(), r.string(), r.i64()) for _ in range(n)]
    return h


# ----------------------------------------------------------------------------------------------- 5.3-5.12 KV

def write_set_params(w, write_mode, existence, cache_type, ttl_second):
    w.buf += _SET_PARAMS.pack(write_mode, existence, cache_type, ttl_second)


def set_item_overhead(key):
    """Bytes a KV_SET item takes besides its value (7: the inline frame budget)."""
    return 8 + len(key)


def read_created(r):
    """One KV_CREATE reply item or an OBJ_CREATE reply: (status, allocation id, segment, data offset) or message."""
    status = r.i32()
    if status != 0:
        return status, r.string(), 0, 0
    alloc, seg, off = r.struct(_REGION)
    return 0, alloc, seg, off


def read_region(r):
    return r.struct(_REGION)


def write_get(w, sub_timeout_ms, views, keys):
    w.buf += _GET_HEAD.pack(sub_timeout_ms, 1 if views else 0, len(keys))
    for k in keys:
        w.string(k)


def read_entry_count(r, expected):
    n = r.count(1, MAX_READ_BATCH)
    if n != expected:
        raise ProtocolError("worker answered %d entries for %d keys" % (n, expected))
    return n


def read_kv_entry(r):
    """(kind, payload): None, inline bytes-range (start, end) in the frame, or (alloc, segment, offset, size)."""
    kind = r.i8()
    if kind == MISSING:
        return MISSING, None
    if kind == INLINE:
        n = r.i32()
        r._need(n)
        start = r.pos
        r.pos += n
        return INLINE, (start, start + n)
    if kind == POOL_VIEW:
        return POOL_VIEW, r.struct(_VIEW)
    raise ProtocolError("unknown value kind %d" % kind)


def read_obj_entry(r):
    """As :func:`read_kv_entry`, plus the object's version and sealed flag for found entries (5.17)."""
    kind = r.i8()
    if kind == MISSING:
        return MISSING, None, 0, False
    version, flags = r.struct(_OBJ_ENTRY)
    if kind == INLINE:
        n = r.i32()
        r._need(n)
        start = r.pos
        r.pos += n
        return INLINE, (start, start + n), version, bool(flags & ENTRY_SEALED)
    if kind == POOL_VIEW:
        return POOL_VIEW, r.struct(_VIEW), version, bool(flags & ENTRY_SEALED)
    raise ProtocolError("unknown value kind %d" % kind)


def write_ids(w, ids):
    """KV_PUBLISH, KV_ABORT, RELEASE bodies (5.6, 5.7, 5.9)."""
    w.buf += _I32.pack(len(ids))
    for i in ids:
        w.buf += _I64.pack(i)


def read_exist(r, expected):
    n = read_entry_count(r, expected)
    return [r.boolean() for _ in range(n)]


# ----------------------------------------------------------------------------------------------- 5.13-5.21 objects

def write_obj_params(w, consistency, cache_type):
    w.buf.append(consistency)
    w.buf.append(cache_type)


def obj_flags(seal, drop_view):
    return (FLAG_SEAL if seal else 0) | (FLAG_DROP_VIEW if drop_view else 0)
