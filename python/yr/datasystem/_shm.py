"""The client's mapping of the worker's pool (docs/shm-layout.md), the zero-copy views handed out over it, and the
object header's latch word.

Python cannot revoke a ``memoryview``: once handed out, it reads the memory it points at for as long as the
caller keeps it. So a mapping that must not be read any more (the worker restarted, or ended this session) is
not just closed: where views are still alive, its address range is replaced in place by anonymous zero pages
(``mmap(MAP_FIXED)``), so an old view reads zeros, never a region the worker has recycled for another object.

Each view is a ``memoryview`` whose exporter is a small ctypes array over the mapping; the exporter lives exactly
as long as the last view derived from it, and its finalizer hands the pin back (``RELEASE``) or frees an
unpublished region (``KV_ABORT``). Finalizers only queue the notice: the link sends it ahead of the next request.
"""
import ctypes
import ctypes.util
import mmap
import os
import struct
import threading
import weakref

from . import _status
from ._status import DsError

SEGMENT_HEADER_LENGTH = 4096
SEGMENT_MAGIC = 0x314745534A345344  # "DS4JSEG1"
LAYOUT_VERSION = 1
OBJECT_HEADER_LENGTH = 64
OBJECT_MAGIC = 0x4A424F44  # "DOBJ"
STATE_OFFSET = 4
ALLOCATION_ID_OFFSET = 8
LATCH_OFFSET = 32
STATE_SEALED = 3

_I32 = struct.Struct("<i")
_I64 = struct.Struct("<q")


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()
if _LIBC is not None:
    _LIBC.mmap.restype = ctypes.c_void_p
    _LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]


class _Atomics:
    def __init__(self, cas8, load8, load4):
        self.cas8 = cas8
        self.load8 = load8
        self.load4 = load4


def _libatomic():
    # the latch word is changed by compare-and-set from Java (VarHandle) and from here: the standard library has no
    # atomic instructions, but gcc's runtime library, present wherever gcc or g++ is, exports them as functions
    for name in (ctypes.util.find_library("atomic"), "libatomic.so.1"):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            # looked up by name: inside a class body ``lib.__atomic_x`` would be name-mangled
            cas = getattr(lib, "__atomic_compare_exchange_8")
            cas.restype = ctypes.c_bool
            cas.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.c_int]
            load8 = getattr(lib, "__atomic_load_8")
            load8.restype = ctypes.c_uint64
            load8.argtypes = [ctypes.c_void_p, ctypes.c_int]
            load4 = getattr(lib, "__atomic_load_4")
            load4.restype = ctypes.c_uint32
            load4.argtypes = [ctypes.c_void_p, ctypes.c_int]
            return _Atomics(cas, load8, load4)
        except (OSError, AttributeError):
            continue
    return None


ATOMICS = _libatomic()
_SEQ_CST = 5
_ACQUIRE = 2


def _size_class(n):
    """Exporter lengths come from a bounded set of sizes: ctypes keeps every array type it makes forever."""
    if n <= 4096:
        return (n + 63) & ~63
    step = 1 << (n.bit_length() - 4)  # eight classes per power of two
    return (n + step - 1) & ~(step - 1)


class PoolMapping:
    """The worker's segment files mapped read-write, checked against the HELLO that named them (shm-layout.md 8)."""

    def __init__(self, generation, maps):
        self.generation = generation
        self._maps = maps  # index -> mmap
        self._bases = {i: ctypes.addressof(ctypes.c_char.from_buffer(m)) for i, m in maps.items()}
        self.valid = True
        self._lock = threading.Lock()

    @staticmethod
    def try_map(generation, segments):
        """Maps every segment, or returns None (another host, files not ours, a header of another worker run)."""
        if not segments:
            return None
        maps = {}
        try:
            for index, path, size in segments:
                fd = os.open(path, os.O_RDWR)
                try:
                    if os.fstat(fd).st_size != size:
                        raise OSError("size differs from HELLO")
                    m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
                finally:
                    os.close(fd)
                maps[index] = m
                if (_I64.unpack_from(m, 0)[0] != SEGMENT_MAGIC or _I32.unpack_from(m, 8)[0] != LAYOUT_VERSION
                        or _I64.unpack_from(m, 16)[0] != generation):
                    raise OSError("segment header belongs to another worker run")
            return PoolMapping(generation, maps)
        except (OSError, ValueError, struct.error):
            for m in maps.values():
                m.close()
            return None

    def check_valid(self):
        if not self.valid:
            raise DsError(_status.CLIENT_WORKER_DISCONNECT, "this buffer belongs to an ended session with the worker"
                          " (it restarted, or reclaimed this client); its memory is no longer reserved for you:"
                          " get the key again")

    def _segment(self, index, data_offset, size, allocation_id):
        """The segment after the checks in front of every view (shm-layout.md 8): a mismatch is another object."""
        self.check_valid()
        m = self._maps.get(index)
        if m is None:
            raise DsError(_status.DATA_INCONSISTENCY, "worker named segment %d of %d" % (index, len(self._maps)))
        header = data_offset - OBJECT_HEADER_LENGTH
        if (header < SEGMENT_HEADER_LENGTH or size < 0 or data_offset + size > len(m)
                or _I64.unpack_from(m, header + ALLOCATION_ID_OFFSET)[0] != allocation_id):
            raise DsError(_status.DATA_INCONSISTENCY, "object header at offset %d does not match allocation %d"
                          % (header, allocation_id))
        return m

    def copy_out(self, index, data_offset, size, allocation_id):
        """The value's bytes, copied once (slicing an mmap is one memcpy into a new bytes object)."""
        m = self._segment(index, data_offset, size, allocation_id)
        return m[data_offset:data_offset + size]

    def view(self, index, data_offset, size, allocation_id, writable, on_last_view):
        """A memoryview of the value with no copy; ``on_last_view()`` runs once no view of it is left."""
        m = self._segment(index, data_offset, size, allocation_id)
        length = _size_class(size)
        if data_offset + length > len(m):
            length = size
        exporter = (ctypes.c_ubyte * length).from_buffer(m, data_offset)
        weakref.finalize(exporter, on_last_view)
        mv = memoryview(exporter).cast("B")[:size]
        return mv if writable else mv.toreadonly()

    def address(self, index, offset):
        return self._bases[index] + offset

    def read_state(self, index, header_offset):
        if ATOMICS is not None:
            return ATOMICS.load4(self._bases[index] + header_offset + STATE_OFFSET, _ACQUIRE)
        return _I32.unpack_from(self._maps[index], header_offset + STATE_OFFSET)[0]

    def invalidate(self):
        """No view of this mapping may read the pool any more (worker restart, lost session, client close)."""
        with self._lock:
            if not self.valid:
                return
            self.valid = False
            for index, m in self._maps.items():
                try:
                    m.close()
                except BufferError:
                    # views are alive: swap the range for zero pages so they never see a recycled region; the
                    # mmap object unmaps that range when the last view goes
                    self._neuter(self._bases[index], len(m))

    @staticmethod
    def _neuter(address, length):
        if _LIBC is None:
            return
        prot = mmap.PROT_READ | mmap.PROT_WRITE
        flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x10  # MAP_FIXED
        _LIBC.mmap(address, length, prot, flags, -1, 0)


class LatchWord:
    """Compare-and-set on an object header's latch word (shm-layout.md 6.4), the same CASes the Java SDK makes."""

    WRITER = 1 << 63

    def __init__(self, address):
        self._address = address
        self._expected = ctypes.c_uint64(0)
        self._ptr = ctypes.addressof(self._expected)

    def load(self):
        return ATOMICS.load8(self._address, _SEQ_CST)

    def cas(self, expected, desired):
        self._expected.value = expected
        return ATOMICS.cas8(self._address, self._ptr, desired, _SEQ_CST, _SEQ_CST)


class LocalLatchWord:
    """The same word in local memory: a TCP buffer's latch orders only this process's threads (shm-layout.md 6.4)."""

    WRITER = 1 << 63

    def __init__(self):
        self._value = 0
        self._lock = threading.Lock()

    def load(self):
        return self._value

    def cas(self, expected, desired):
        with self._lock:
            if self._value != expected:
                return False
            self._value = desired
            return True
