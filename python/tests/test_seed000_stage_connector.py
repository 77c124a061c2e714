"""Seed 000: vLLM-Omni's YuanrongConnector calls, as integrations.md section 1.8 writes them (the connector's own
source is not in this repository; ``StageConnector`` below makes exactly its calls and reacts as it does)."""
import os
import pickle
import signal
import time
import unittest

from support import HOST, MIB, PORT, WorkerTest
from yr.datasystem.kv_client import KVClient, SetParam, WriteMode


class StageConnector:
    def __init__(self, host, port, get_sub_timeout_ms=1000):
        self.client = KVClient(host, port)
        self.client.init()
        self.param = SetParam()
        self.param.write_mode = WriteMode.NONE_L2_CACHE_EVICT
        self.timeout = max(0, int(get_sub_timeout_ms))
        self.metrics = {"puts": 0, "gets": 0, "errors": 0, "timeouts": 0}

    @staticmethod
    def _make_key(key, from_stage, to_stage):
        return "%s:%s_%s" % (key, from_stage, to_stage)

    def put(self, from_stage, to_stage, put_key, data):
        if self.client is None:
            return False, 0, None
        try:
            payload = pickle.dumps(data)
            rc = self.client.set(self._make_key(put_key, from_stage, to_stage), payload, self.param.write_mode)
            if rc in (True, None, 0):
                self.metrics["puts"] += 1
                return True, len(payload), None
        except Exception:
            pass
        self.metrics["errors"] += 1
        return False, 0, None

    def get(self, from_stage, to_stage, get_key, metadata=None):
        if self.client is None:
            return None
        try:
            raw = self.client.get([self._make_key(get_key, from_stage, to_stage)], False, self.timeout)[0]
        except Exception:
            self.metrics["timeouts"] += 1
            return None
        if not raw:
            return None
        self.metrics["gets"] += 1
        return pickle.loads(raw), len(raw)

    def close(self):
        self.client = None


class StageConnectorTest(WorkerTest):
    def connector(self, timeout_ms=1000, port=PORT):
        return StageConnector(HOST, port, timeout_ms)

    def test_y1_put_then_get_under_the_edge_key(self):
        c = self.connector()
        ok, size, meta = c.put("0", "1", self.key("req-1"), {"a": [1, 2]})
        self.assertEqual((ok, meta), (True, None))
        self.assertGreater(size, 0)
        self.assertEqual(c.get("0", "1", self.key("req-1")), ({"a": [1, 2]}, size))
        self.assertEqual(self.kv.exist([self.key("req-1") + ":0_1"]), [True])

    def test_y2_edge_isolation(self):
        c = self.connector(timeout_ms=300)
        c.put("0", "1", self.key("req-1"), b"x")
        start = time.monotonic()
        self.assertIsNone(c.get("1", "2", self.key("req-1")))
        self.assertGreaterEqual(time.monotonic() - start, 0.29)
        self.assertEqual(c.metrics["timeouts"], 1)

    def test_y3_get_before_put_returns_when_the_put_lands(self):
        import threading
        consumer, producer = self.connector(timeout_ms=2000), self.connector()
        timer = threading.Timer(0.3, lambda: producer.put("0", "1", self.key("late"), "payload"))
        start = time.monotonic()
        timer.start()
        got = consumer.get("0", "1", self.key("late"))
        elapsed = time.monotonic() - start
        timer.join()
        self.assertEqual(got[0], "payload")
        self.assertLess(elapsed, 1.5)
        self.assertGreaterEqual(elapsed, 0.25)

    def test_y4_timeout_and_zero_timeout(self):
        c = self.connector(timeout_ms=500)
        start = time.monotonic()
        self.assertIsNone(c.get("0", "1", self.key("never")))
        self.assertTrue(0.49 <= time.monotonic() - start < 1.5)
        c0 = self.connector(timeout_ms=0)
        start = time.monotonic()
        self.assertIsNone(c0.get("0", "1", self.key("never")))
        self.assertLess(time.monotonic() - start, 0.2)

    def test_y5_a_64_mib_payload_is_bit_identical(self):
        c = self.connector()
        payload = os.urandom(64 * MIB)
        ok, size, _ = c.put("0", "1", self.key("tensor"), {"t": payload})
        self.assertTrue(ok)
        got, got_size = c.get("0", "1", self.key("tensor"))
        self.assertEqual(got_size, size)
        self.assertEqual(got["t"], payload)

    def test_y7_the_worker_stopping_under_an_open_client(self):
        port, pid = int(os.environ.get("DS4J_SPARE_PORT", "0")), int(os.environ.get("DS4J_SPARE_PID", "0"))
        if not port:
            self.skipTest("needs a spare worker to kill (DS4J_SPARE_PORT, DS4J_SPARE_PID)")
        c = StageConnector(HOST, port, 200)
        c.client._link._reconnect_wait_ms = 1000
        c.client._link.state.reconnect_wait_ms = 1000
        self.assertTrue(c.put("0", "1", "req-y7", b"x")[0])
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
        self.assertEqual(c.put("0", "1", "req-y7", b"x"), (False, 0, None))
        self.assertEqual(c.metrics["errors"], 1)
        self.assertIsNone(c.get("0", "1", "req-y7"))
        c.close()
        c.close()
        self.assertEqual(c.put("0", "1", "req-y7", b"x"), (False, 0, None))
        with self.assertRaises(RuntimeError):
            StageConnector(HOST, port)


if __name__ == "__main__":
    unittest.main()
