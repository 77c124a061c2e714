"""Python and Java clients sharing keys through shared memory. PythonClientTest's Java client writes the keys
named in DS4J_JAVA_KEYS (``key=size,...``, bytes by ``support.pattern``) before this runs, and reads back the ones
this test writes under DS4J_PY_PREFIX after it."""
import os
import unittest

from support import WorkerTest, pattern


class JavaInteropTest(WorkerTest):
    def test_reads_what_the_java_client_wrote_through_shared_memory(self):
        spec = os.environ.get("DS4J_JAVA_KEYS", "")
        if not spec:
            self.skipTest("PythonClientTest names the Java keys")
        for item in spec.split(","):
            key, size = item.split("=")
            self.assertEqual(bytes(self.kv.get_buffers([key])[0]), pattern(key, int(size)))
            self.assertEqual(self.kv.get([key])[0], pattern(key, int(size)))

    def test_writes_what_the_java_client_reads(self):
        prefix = os.environ.get("DS4J_PY_PREFIX", "")
        if not prefix:
            self.skipTest("PythonClientTest reads these back")
        for name, size in [("small", 100), ("large", 3 * 1024 * 1024)]:
            self.kv.set(prefix + name, pattern(prefix + name, size))
        buf = self.kv.mcreate([prefix + "created"], [1024 * 1024])[0]
        buf.MutableData()[:] = pattern(prefix + "created", 1024 * 1024)
        self.kv.mset_buffer([buf])


if __name__ == "__main__":
    unittest.main()
