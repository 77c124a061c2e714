import threading
import time
import unittest

from support import MIB, PORT, TCP, WorkerTest, pattern
from yr.datasystem import KVClient
from yr.datasystem.kv_client import ExistenceOpt, ReadParam, WriteMode


class KvTest(WorkerTest):
    def test_set_then_get_every_value_type(self):
        for name, val, expected in [("b", b"bytes", b"bytes"), ("ba", bytearray(b"ba"), b"ba"),
                                    ("mv", memoryview(b"view"), b"view"), ("s", "str-é", "str-é".encode())]:
            self.kv.set(self.key(name), val)
            self.assertEqual(self.kv.get([self.key(name)]), [expected])
        self.assertEqual(self.kv.get([self.key("s")], True), ["str-é"])

    def test_missing_key_is_none_and_all_missing_raises(self):
        self.kv.set(self.key("a"), b"1")
        self.assertEqual(self.kv.get([self.key("a"), self.key("nope")]), [b"1", None])
        with self.assertRaisesRegex(RuntimeError, r"code: \[Key not found\], msg: \[.+\]"):
            self.kv.get([self.key("nope")])

    def test_values_above_the_inline_threshold_round_trip(self):
        for size in (600 * 1024, 8 * MIB):
            value = pattern(self.key("big"), size)
            self.kv.set(self.key("big"), value)
            self.assertEqual(self.kv.get([self.key("big")])[0], value)

    def test_overwrite_makes_a_new_version(self):
        self.kv.set(self.key("k"), b"one")
        self.kv.set(self.key("k"), b"two")
        self.assertEqual(self.kv.get([self.key("k")]), [b"two"])

    def test_mset_returns_failed_keys_and_nx_keeps_existing(self):
        keys = [self.key("m%d" % i) for i in range(3)]
        self.assertEqual(self.kv.mset(keys, [b"a", b"b", b"c"]), [])
        self.assertEqual(self.kv.mset(keys[:1], [b"zz"], existence_opt=ExistenceOpt.NX), [])
        self.assertEqual(self.kv.get(keys), [b"a", b"b", b"c"])
        failed = self.kv.mset([keys[0], "bad key with spaces"], [b"x", b"y"])
        self.assertEqual(failed, ["bad key with spaces"])
        with self.assertRaises(RuntimeError):
            self.kv.mset(["bad key"], [b"y"])

    def test_delete_exist_and_absent_key(self):
        self.kv.set(self.key("d"), b"x")
        self.assertEqual(self.kv.exist([self.key("d"), self.key("none")]), [True, False])
        self.assertEqual(self.kv.delete([self.key("d"), self.key("none")]), [])
        self.assertEqual(self.kv.exist([self.key("d")]), [False])

    def test_ttl_and_expire(self):
        self.kv.set(self.key("t"), b"x", ttl_second=1)
        self.kv.set(self.key("e"), b"x", ttl_second=100)
        self.assertEqual(self.kv.expire([self.key("e"), self.key("missing")], 1), [self.key("missing")])
        time.sleep(2.2)
        self.assertEqual(self.kv.exist([self.key("t"), self.key("e")]), [False, False])

    def test_get_waits_for_a_key_set_later(self):
        key = self.key("later")
        timer = threading.Timer(0.3, lambda: self.kv.set(key, b"arrived"))
        start = time.monotonic()
        timer.start()
        self.assertEqual(self.kv.get([key], sub_timeout_ms=3000), [b"arrived"])
        self.assertLess(time.monotonic() - start, 2.0)
        timer.join()

    def test_get_buffers_and_read(self):
        value = pattern(self.key("v"), 2 * MIB)
        self.kv.set(self.key("v"), value)
        views = self.kv.get_buffers([self.key("v"), self.key("none")])
        self.assertIsNone(views[1])
        self.assertTrue(memoryview(views[0]).readonly)
        self.assertEqual(bytes(memoryview(views[0])), value)
        part = self.kv.read([ReadParam(self.key("v"), 10, 5)])[0]
        self.assertEqual(bytes(part.immutable_data()), value[10:15])

    def test_a_view_keeps_its_bytes_while_the_key_is_overwritten_and_deleted(self):
        key = self.key("pin")
        first = pattern(key, MIB)
        self.kv.set(key, first)
        view = self.kv.get_buffers([key])[0]
        self.kv.set(key, b"\0" * MIB)
        self.kv.delete([key])
        for i in range(5):
            self.kv.set(self.key("filler%d" % i), b"\xff" * MIB)
        self.assertEqual(bytes(view), first)

    def test_mcreate_fills_in_place_then_mset_buffer_publishes(self):
        keys = [self.key("c%d" % i) for i in range(3)]
        buffers = self.kv.mcreate(keys, [10, 700 * 1024, 3])
        for i, b in enumerate(buffers):
            data = memoryview(b.MutableData())
            self.assertFalse(data.readonly)
            data[:] = pattern(keys[i], b.GetSize())
        self.assertEqual(self.kv.exist(keys), [False, False, False])
        self.assertEqual(self.kv.mset_buffer(buffers), [])
        self.assertEqual(self.kv.get(keys), [pattern(k, s) for k, s in zip(keys, [10, 700 * 1024, 3])])

    def test_set_value_and_generate_key(self):
        self.assertEqual(len(self.kv.generate_key()), 36)
        self.assertEqual(self.kv.generate_key("pre"), "pre")
        key = self.kv.set_value(b"generated")
        self.assertEqual(self.kv.get([key]), [b"generated"])

    def test_health_check(self):
        self.assertTrue(self.kv.health_check().is_ok())
        self.assertFalse(KVClient(self.kv._link.host, self.kv._link.port).health_check().is_ok())

    def test_write_modes_are_accepted(self):
        for mode in WriteMode:
            if mode in (WriteMode.WRITE_THROUGH_L2_CACHE, WriteMode.WRITE_BACK_L2_CACHE,
                        WriteMode.WRITE_BACK_L2_CACHE_EVICT):
                continue  # need an L2 on the worker
            self.kv.set(self.key(mode.name), b"x", mode)
            self.assertEqual(self.kv.get([self.key(mode.name)]), [b"x"])


class BadInputTest(WorkerTest):
    def test_wrong_types_raise_type_error(self):
        for call in [lambda: self.kv.set(1, b"x"), lambda: self.kv.set("k", 5),
                     lambda: self.kv.set("k", b"x", 3), lambda: self.kv.set("k", b"x", ttl_second=-1),
                     lambda: self.kv.set("k", b"x", ttl_second=2 ** 32), lambda: self.kv.get("k"),
                     lambda: self.kv.get([1]), lambda: self.kv.get(["k"], sub_timeout_ms="1"),
                     lambda: self.kv.mset("k", [b"x"]), lambda: self.kv.delete("k"),
                     lambda: self.kv.mcreate(["k"], [1.5]), lambda: self.kv.mset_buffer([b"x"]),
                     lambda: self.obj.create("k", 10, {"other": 1}), lambda: self.obj.put(3, b"x")]:
            with self.assertRaises(TypeError):
                call()

    def test_empty_key_and_value_raise_the_upstream_texts(self):
        with self.assertRaisesRegex(RuntimeError, "The objectKey should not be empty"):
            self.kv.set("", b"x")
        with self.assertRaisesRegex(RuntimeError, "The dataSize value should be bigger than zero"):
            self.kv.set(self.key("k"), b"")
        with self.assertRaisesRegex(RuntimeError, r"code: \[Invalid parameter\]"):
            self.kv.exist([])

    def test_out_of_range_timeouts(self):
        with self.assertRaisesRegex(RuntimeError, r"Invalid sub_timeout_ms size -1 is set, which should be between"):
            self.kv.get([self.key("k")], sub_timeout_ms=-1)

    def test_too_many_keys(self):
        with self.assertRaisesRegex(RuntimeError, "exceed"):
            self.kv.mset([self.key("k%d" % i) for i in range(2000)], [b"x"] * 2000)
        with self.assertRaisesRegex(RuntimeError, "exceed"):
            self.kv.get([self.key("k%d" % i) for i in range(10001)])
        with self.assertRaisesRegex(RuntimeError, "exceed 100000"):
            self.kv.exist(["k"] * 100001)
        with self.assertRaisesRegex(RuntimeError, "below"):
            self.kv.mset([self.key("big")], [b"x" * (500 * 1024)])

    def test_a_dead_worker_fails_init_quickly(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        client = KVClient("127.0.0.1", port, connect_timeout_ms=2000)
        start = time.monotonic()
        with self.assertRaisesRegex(RuntimeError, r"code: \[RPC unavailable\]"):
            client.init()
        self.assertLess(time.monotonic() - start, 3)
        with self.assertRaises(RuntimeError):
            client.get(["k"])

    def test_host_without_port(self):
        with self.assertRaises(RuntimeError):
            KVClient("127.0.0.1", 0)

    def test_a_closed_client_refuses_calls(self):
        client = KVClient(self.kv._link.host, self.kv._link.port)
        client.init()
        client.shutdown()
        with self.assertRaises(RuntimeError):
            client.set(self.key("x"), b"1")


if __name__ == "__main__":
    unittest.main()
