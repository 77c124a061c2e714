"""Seed 001: TransferQueue's YuanrongStorageClient CPU path (integrations.md 2.6): mcreate, the packed layout
written into MutableData(), mset_buffer, then get_buffers and unpack straight from the views."""
import struct
import unittest

from support import WorkerTest

HEADER, ENTRY = struct.Struct("<I"), struct.Struct("<II")
BATCH = 1999


def packed_size(items):
    return HEADER.size + len(items) * ENTRY.size + sum(len(i) for i in items)


def pack_into(target, items):
    HEADER.pack_into(target, 0, len(items))
    entry, payload = HEADER.size, HEADER.size + len(items) * ENTRY.size
    for item in items:
        ENTRY.pack_into(target, entry, payload, len(item))
        target[payload:payload + len(item)] = item
        entry += ENTRY.size
        payload += len(item)


def unpack_from(source):
    mv = memoryview(source)
    count = HEADER.unpack_from(mv, 0)[0]
    spans = [ENTRY.unpack_from(mv, HEADER.size + i * ENTRY.size) for i in range(count)]
    return [mv[offset:offset + length] for offset, length in spans]


class TransferQueueCpuPathTest(WorkerTest):
    def put(self, keys, objs):
        for start in range(0, len(keys), BATCH):
            batch_keys, batch_objs = keys[start:start + BATCH], objs[start:start + BATCH]
            buffers = self.kv.mcreate(batch_keys, [packed_size(items) for items in batch_objs])
            for target, items in zip(buffers, batch_objs):
                pack_into(target.MutableData(), items)
            self.kv.mset_buffer(buffers)

    def get(self, keys):
        out = []
        for start in range(0, len(keys), BATCH):
            buffers = self.kv.get_buffers(keys[start:start + BATCH])
            out += [None if b is None else [bytes(p) for p in unpack_from(b)] for b in buffers]
        return out

    def test_field_major_keys_round_trip_through_the_packed_layout(self):
        fields, indexes = ["label", "mask", "text"], [8, 9, 10]
        keys = ["%s%d@%s" % (self.prefix, i, f) for f in fields for i in indexes]
        objs = [[("%s-%d" % (k, n)).encode() * (n + 1) for n in range(3)] for k in keys]
        self.put(keys, objs)
        self.assertEqual(self.get(keys), objs)

    def test_5000_keys_go_in_batches_of_1999(self):
        keys = ["%s%d@f" % (self.prefix, i) for i in range(5000)]
        objs = [[struct.pack("<q", i), b"x" * (i % 7)] for i in range(5000)]
        self.put(keys, objs)
        got = self.get(keys)
        self.assertEqual(got, objs)

    def test_a_missing_sample_is_none(self):
        key = self.prefix + "0@text"
        self.put([key], [[b"only"]])
        self.assertEqual(self.get([key, self.prefix + "1@text"]), [[b"only"], None])


if __name__ == "__main__":
    unittest.main()
