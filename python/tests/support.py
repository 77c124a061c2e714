"""What the Python tests share: the worker they run against, given by the JUnit class PythonClientTest (or by hand:
DS4J_HOST=127.0.0.1 DS4J_PORT=31501 PYTHONPATH=python python3 -m unittest discover -s python/tests)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from yr.datasystem import DsClient  # noqa: E402

HOST = os.environ.get("DS4J_HOST", "")
PORT = int(os.environ.get("DS4J_PORT", "0") or 0)
TCP = os.environ.get("DS4J_TRANSPORT", "auto") == "tcp"
MIB = 1024 * 1024


def pattern(key, size):
    """The bytes the Java side writes and checks too: byte i = (i * 31 + len(key)) & 0xFF."""
    seed = len(key)
    block = bytes(((i * 31 + seed) & 0xFF) for i in range(256))
    return (block * (size // 256 + 1))[:size]


class WorkerTest(unittest.TestCase):
    """A test with a connected DsClient on the shared worker; keys are prefixed per test so tests never collide."""

    def setUp(self):
        if not PORT:
            self.skipTest("no worker: set DS4J_HOST and DS4J_PORT (PythonClientTest does)")
        self.client = DsClient(HOST, PORT)
        self.client.init()
        self.kv = self.client.kv()
        self.obj = self.client.object()
        self.prefix = "py%d-%s-%s-" % (os.getpid(), self.id().rsplit(".", 1)[-1][:40], "tcp" if TCP else "shm")

    def tearDown(self):
        self.client.shutdown()

    def key(self, name):
        return self.prefix + name

    def require_shm(self):
        if not self.kv._link.state.shared_memory:
            self.skipTest("needs shared memory (this run is over TCP)")
