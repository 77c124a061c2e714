import unittest

from support import WorkerTest
from yr.datasystem import Blob, DeviceBlobList


class HeteroSurfaceTest(WorkerTest):
    def setUp(self):
        super().setUp()
        self.hetero = self.client.hetero()
        self.blobs = [DeviceBlobList(0, [Blob(0x1000, 16)])]

    def test_device_calls_say_the_device_path_is_not_available(self):
        for call in [lambda: self.hetero.mset_d2h([self.key("d")], self.blobs),
                     lambda: self.hetero.mget_h2d([self.key("d")], self.blobs, 0),
                     lambda: self.hetero.dev_mset([self.key("d")], self.blobs),
                     lambda: self.hetero.dev_mget([self.key("d")], self.blobs, 0),
                     lambda: self.hetero.dev_delete([self.key("d")])]:
            with self.assertRaisesRegex(RuntimeError, r"code: \[Not supported\].*device path is not available"):
                call()

    def test_shape_errors_are_value_errors_before_anything_is_sent(self):
        for addrs, sizes in [([], []), ([[1]], [[1], [2]]), ([[]], [[]]), ([[1, 2]], [[1]])]:
            with self.assertRaises(ValueError):
                self.hetero.mget_h2d_from_multi_buffers(["k"], addrs, sizes)

    def test_blob_types_and_host_key_calls(self):
        with self.assertRaises(TypeError):
            Blob("0x10", 1)
        blobs = DeviceBlobList(1, [])
        blobs.append_blob(Blob(1, 2))
        self.assertEqual(len(blobs.get_blob_list()), 1)
        self.kv.set(self.key("h"), b"x")
        self.assertEqual(self.hetero.exist([self.key("h")]), [True])
        self.assertEqual(self.hetero.delete([self.key("h")]), [])


if __name__ == "__main__":
    unittest.main()
