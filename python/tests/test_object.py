import threading
import unittest

from support import MIB, WorkerTest, pattern
from yr.datasystem import ConsistencyType, DsClient
from support import HOST, PORT


class ObjectTest(WorkerTest):
    def test_create_fill_publish_then_get(self):
        buf = self.obj.create(self.key("o"), 1000, {"consistency_type": ConsistencyType.CAUSAL})
        self.assertEqual(buf.get_size(), 1000)
        buf.memory_copy(b"hello")
        buf.publish()
        got = self.obj.get([self.key("o"), self.key("none")], 0)
        self.assertIsNone(got[1])
        self.assertEqual(bytes(got[0].immutable_data()[:5]), b"hello")
        self.assertTrue(got[0].immutable_data().readonly)
        self.assertFalse(got[0].mutable_data().readonly)

    def test_put_small_and_large(self):
        for size in (100, 3 * MIB):
            value = pattern(self.key("p"), size)
            self.obj.put(self.key("p%d" % size), value)
            self.assertEqual(bytes(self.obj.get([self.key("p%d" % size)], 0)[0].immutable_data()), value)

    def test_all_missing_and_empty_raise(self):
        with self.assertRaisesRegex(RuntimeError, "Key not found"):
            self.obj.get([self.key("none")], 0)
        with self.assertRaises(RuntimeError):
            self.obj.get([], 0)

    def test_seal_makes_the_object_immutable(self):
        buf = self.obj.create(self.key("s"), 10)
        buf.memory_copy(b"0123456789")
        buf.seal()
        with self.assertRaisesRegex(RuntimeError, "sealed"):
            buf.mutable_data()
        got = self.obj.get([self.key("s")], 0)[0]
        with self.assertRaisesRegex(RuntimeError, "sealed"):
            got.mutable_data()
        with self.assertRaises(RuntimeError):
            got.publish()

    def test_republish_of_a_view_makes_a_new_version_in_place(self):
        buf = self.obj.create(self.key("r"), 4)
        buf.memory_copy(b"aaaa")
        buf.publish()
        other = self.obj.get([self.key("r")], 0)[0]
        other.memory_copy(b"bbbb")
        other.publish()
        self.assertEqual(bytes(self.obj.get([self.key("r")], 0)[0].immutable_data()), b"bbbb")

    def test_global_references(self):
        key = self.key("g")
        self.obj.put(key, b"x")
        self.assertEqual(self.obj.query_global_ref_num(key), 0)
        self.assertEqual(self.obj.g_increase_ref([key]), [])
        self.assertEqual(self.obj.query_global_ref_num(key), 1)
        self.assertEqual(self.obj.g_decrease_ref([key, self.key("unknown")]), [])
        # the last holder let go: the key is deleted
        self.assertEqual(self.kv.exist([key]), [False])
        self.assertEqual(self.obj.query_global_ref_num("bad key"), -1)
        with self.assertRaises(RuntimeError):
            self.obj.g_increase_ref([])

    def test_nested_keys_hold_their_children(self):
        child, parent = self.key("child"), self.key("parent")
        self.obj.put(child, b"c")
        self.obj.g_increase_ref([child])
        self.obj.put(parent, b"p", nested_object_keys=[child])
        self.assertEqual(self.obj.query_global_ref_num(child), 2)
        with self.assertRaisesRegex(RuntimeError, "Key not found"):
            self.obj.put(self.key("p2"), b"p", nested_object_keys=[self.key("missing")])

    def test_write_latches_serialise_five_threads(self):
        size = 4096
        buf = self.obj.create(self.key("l"), size)
        buf.publish()
        errors = []

        def writer(tag):
            for _ in range(20):
                buf.wlatch(5)
                try:
                    buf.memory_copy(bytes([tag]) * size)
                    if bytes(buf.immutable_data()) != bytes([tag]) * size:
                        errors.append(tag)
                finally:
                    buf.unwlatch()

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(1, 6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    def test_a_read_latch_waits_for_a_writer_of_another_client(self):
        self.require_shm()
        buf = self.obj.create(self.key("w"), 8)
        buf.publish()
        buf.wlatch()
        other = DsClient(HOST, PORT)
        other.init()
        try:
            view = other.object().get([self.key("w")], 0)[0]
            with self.assertRaisesRegex(RuntimeError, r"code: \[Try again\]"):
                view.rlatch(1)
            buf.unwlatch()
            view.rlatch(1)
            view.unrlatch()
        finally:
            other.shutdown()

    def test_writes_in_place_are_seen_by_another_client_at_once(self):
        self.require_shm()
        buf = self.obj.create(self.key("pram"), 8)
        buf.publish()
        other = DsClient(HOST, PORT)
        other.init()
        try:
            view = other.object().get([self.key("pram")], 0)[0]
            buf.memory_copy(b"ABCDEFGH")
            self.assertEqual(bytes(view.immutable_data()), b"ABCDEFGH")
        finally:
            other.shutdown()

    def test_unlatch_without_a_latch_is_invalid(self):
        buf = self.obj.create(self.key("u"), 8)
        with self.assertRaisesRegex(RuntimeError, "Invalid parameter"):
            buf.unrlatch()
        with self.assertRaisesRegex(RuntimeError, "Invalid parameter"):
            buf.unwlatch()


if __name__ == "__main__":
    unittest.main()
