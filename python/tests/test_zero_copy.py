import ctypes
import tracemalloc
import unittest

from support import MIB, WorkerTest, pattern


class _PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


def buffer_address(obj):
    """The address the buffer protocol hands out for ``obj``, asked of CPython itself (PyObject_GetBuffer)."""
    view = _PyBuffer()
    ctypes.pythonapi.PyObject_GetBuffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
    ctypes.pythonapi.PyBuffer_Release.argtypes = [ctypes.POINTER(_PyBuffer)]
    if ctypes.pythonapi.PyObject_GetBuffer(obj, ctypes.byref(view), 0) != 0:
        raise RuntimeError("no buffer")
    try:
        return view.buf, view.len
    finally:
        ctypes.pythonapi.PyBuffer_Release(ctypes.byref(view))


class ZeroCopyTest(WorkerTest):
    def setUp(self):
        super().setUp()
        self.require_shm()
        mapping = self.kv._link.state.mapping
        self.base = mapping.address(0, 0)
        self.end = self.base + len(mapping._maps[0])

    def test_a_64_mib_view_lies_inside_the_mapping_and_nothing_is_copied(self):
        key = self.key("z")
        value = pattern(key, 64 * MIB)
        self.kv.set(key, value)
        tracemalloc.start()
        try:
            view = self.kv.get_buffers([key])[0]
            mv = memoryview(view)
            allocated = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        address, length = buffer_address(mv)
        self.assertEqual(length, 64 * MIB)
        self.assertGreaterEqual(address, self.base + 4096 + 64)
        self.assertLessEqual(address + length, self.end)
        self.assertLess(allocated, MIB, "get_buffers allocated %d bytes for a 64 MiB value" % allocated)
        self.assertEqual(mv[12345], value[12345])
        self.assertEqual(bytes(mv[-100:]), value[-100:])

    def test_mutable_data_of_mcreate_is_the_pool_region(self):
        key = self.key("c")
        buf = self.kv.mcreate([key], [64 * MIB])[0]
        address, length = buffer_address(memoryview(buf.MutableData()))
        self.assertTrue(self.base < address and address + length <= self.end)
        memoryview(buf.MutableData())[:5] = b"fresh"
        self.kv.mset_buffer([buf])
        view = self.kv.get_buffers([key])[0]
        self.assertEqual(buffer_address(view)[0], address, "the published value is the region that was filled")
        self.assertEqual(bytes(view[:5]), b"fresh")

    def test_the_pin_goes_back_when_the_last_view_is_gone(self):
        key = self.key("rel")
        self.kv.set(key, b"x" * MIB)
        view = self.kv.get_buffers([key])[0]
        derived = memoryview(view)[10:20]
        del view
        link = self.kv._link
        self.assertEqual(len(link._deferred), 0, "a derived view still holds the pin")
        del derived
        self.assertEqual(len(link._deferred), 1)
        link.flush()
        self.assertEqual(len(link._deferred), 0)


if __name__ == "__main__":
    unittest.main()
