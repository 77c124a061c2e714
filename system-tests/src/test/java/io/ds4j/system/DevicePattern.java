package io.ds4j.system;

import io.ds4j.client.hetero.Blob;
import io.ds4j.client.hetero.DeviceBlobList;
import io.ds4j.device.DeviceMemory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Device fragments for the device tests, the same in every JVM: per key one allocation holding all its fragments one
 * after the other with a gap between them (so blobs are interior pointers, as KV-cache blocks are), each fragment
 * filled with bytes that depend on the seed, the key's index and the fragment's index.
 */
final class DevicePattern
{
    /** Bytes left between fragments, so that a blob never starts at its allocation. */
    private static final int GAP = 64;

    private DevicePattern()
    {
    }

    static byte[] bytes(final long seed, final int key, final int fragment, final int size)
    {
        return SystemTests.randomBytes(seed * 1_000_003L + key * 7919L + fragment, size);
    }

    /** Allocates {@code keys} lists of {@code fragments} blobs of {@code size} bytes on {@code device}. */
    static List<DeviceBlobList> allocate(final DeviceMemory memory, final int device, final int keys,
        final int fragments, final int size)
    {
        final List<DeviceBlobList> lists = new ArrayList<>(keys);
        for (int k = 0; k < keys; k++)
        {
            final long base = memory.malloc(device, GAP + (long) fragments * (size + GAP));
            final List<Blob> blobs = new ArrayList<>(fragments);
            for (int f = 0; f < fragments; f++)
            {
                blobs.add(new Blob(base + GAP + (long) f * (size + GAP), size));
            }
            lists.add(new DeviceBlobList(device, blobs));
        }
        return lists;
    }

    /** Frees what {@link #allocate} allocated. */
    static void free(final DeviceMemory memory, final List<DeviceBlobList> lists)
    {
        for (final DeviceBlobList list : lists)
        {
            memory.free(list.deviceIdx(), list.blobs().getFirst().devPtr() - GAP);
        }
    }

    static void fill(final DeviceMemory memory, final List<DeviceBlobList> lists, final long seed)
    {
        for (int k = 0; k < lists.size(); k++)
        {
            final DeviceBlobList list = lists.get(k);
            for (int f = 0; f < list.blobs().size(); f++)
            {
                final Blob blob = list.blobs().get(f);
                memory.copyHostToDevice(list.deviceIdx(), MemorySegment.ofArray(bytes(seed, k, f, (int) blob.size())),
                    blob.devPtr());
            }
        }
    }

    /** Zeroes the blobs, so that a later check proves the bytes were copied in. */
    static void clear(final DeviceMemory memory, final List<DeviceBlobList> lists)
    {
        for (final DeviceBlobList list : lists)
        {
            for (final Blob blob : list.blobs())
            {
                memory.copyHostToDevice(list.deviceIdx(), MemorySegment.ofArray(new byte[(int) blob.size()]),
                    blob.devPtr());
            }
        }
    }

    /** Null when key {@code k}'s blobs hold the pattern; otherwise where they first differ. */
    static String mismatch(final DeviceMemory memory, final DeviceBlobList list, final int k, final long seed)
    {
        try (Arena arena = Arena.ofConfined())
        {
            for (int f = 0; f < list.blobs().size(); f++)
            {
                final Blob blob = list.blobs().get(f);
                final MemorySegment back = arena.allocate(blob.size());
                memory.copyDeviceToHost(list.deviceIdx(), blob.devPtr(), back);
                final byte[] expected = bytes(seed, k, f, (int) blob.size());
                final byte[] actual = back.toArray(ValueLayout.JAVA_BYTE);
                if (!Arrays.equals(expected, actual))
                {
                    return "key " + k + " fragment " + f + " differs at byte " + Arrays.mismatch(expected, actual);
                }
            }
        }
        return null;
    }
}
