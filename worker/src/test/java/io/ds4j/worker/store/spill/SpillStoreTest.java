package io.ds4j.worker.store.spill;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tests of {@link SpillStore}: round trips, packing, corruption, watermarks, compaction, lifecycle and locking. */
class SpillStoreTest
{
    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;

    @TempDir
    Path dir;

    /** A written object and the bytes it must read back as. */
    private record Spilled(SpillHandle handle, byte[] expected)
    {
    }

    private static byte[] bytes(final long seed, final int size)
    {
        final byte[] data = new byte[size];
        new SplittableRandom(seed).nextBytes(data);
        return data;
    }

    /** Fills a native segment with pseudo-random longs (fast for tens of MiB). */
    private static void fill(final MemorySegment segment, final long seed)
    {
        final SplittableRandom random = new SplittableRandom(seed);
        final long words = segment.byteSize() / Long.BYTES;
        for (long i = 0; i < words; i++)
        {
            segment.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
        for (long i = words * Long.BYTES; i < segment.byteSize(); i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
    }

    private static SpillStore open(final Path dir, final long limit, final int fileMaxMb) throws IOException
    {
        return SpillStore.open(dir, limit, fileMaxMb, 0.8, 0.6, SpillStore.DEFAULT_OPEN_FILE_LIMIT, false);
    }

    private static byte[] read(final SpillStore store, final SpillHandle handle) throws IOException
    {
        final byte[] out = new byte[(int) handle.size()];
        store.readInto(handle, MemorySegment.ofArray(out));
        return out;
    }

    private static Spilled spill(final SpillStore store, final String key, final int size) throws IOException
    {
        final byte[] data = bytes(key.hashCode(), size);
        final SpillHandle handle = store.write(key, 1, MemorySegment.ofArray(data));
        assertNotNull(handle, "write of " + key + " refused");
        return new Spilled(handle, data);
    }

    private Path dataDir()
    {
        return dir.resolve(SpillStore.DATA_DIR_NAME);
    }

    private List<String> dataFiles() throws IOException
    {
        try (Stream<Path> list = Files.list(dataDir()))
        {
            return list.map(p -> p.getFileName().toString()).filter(n -> !n.equals(SpillStore.LOCK_FILE_NAME))
                .sorted().toList();
        }
    }

    @Test
    void smallSizesRoundTripWithSelfDescribingRecords() throws IOException
    {
        try (SpillStore store = open(dir, 64 * MIB, 200))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (final int size : new int[] {0, 1, 100})
            {
                final byte[] data = bytes(size, size);
                final SpillHandle handle = store.write("key-" + size, 7 + size, MemorySegment.ofArray(data));
                assertNotNull(handle);
                assertEquals(size, handle.size());
                assertEquals(7 + size, handle.version());
                spilled.add(new Spilled(handle, data));
            }
            for (final Spilled s : spilled)
            {
                assertArrayEquals(s.expected(), read(store, s.handle()));
                final SpillRecord.Header header = SpillRecord.readHeader(s.handle().file.channel,
                    s.handle().recordOffset);
                assertEquals(s.handle().key(), header.key());
                assertEquals(s.handle().version(), header.version());
                assertEquals(s.expected().length, header.dataLength());
                assertFalse(header.ownFile());
                assertEquals(0, s.handle().recordOffset % SpillRecord.PACK_ALIGNMENT);
            }
            assertEquals(List.of("pack-0.dat"), dataFiles());
            assertEquals(3, store.objectCount());
            assertEquals(3, store.spillsTotal());
            assertEquals(3, store.readsTotal());
            assertEquals(store.usedBytes(), Files.size(dataDir().resolve("pack-0.dat")));
            // Used counts the alignment padding between records, live does not.
            assertTrue(store.usedBytes() >= store.liveBytes());
            assertTrue(store.usedBytes() - store.liveBytes() < 3 * SpillRecord.PACK_ALIGNMENT);

            // A larger target is fine: only the value's bytes are written.
            final MemorySegment big = MemorySegment.ofArray(new byte[200]);
            store.readInto(spilled.get(2).handle(), big);
            assertArrayEquals(spilled.get(2).expected(), big.asSlice(0, 100).toArray(ValueLayout.JAVA_BYTE));
            assertThrows(IllegalArgumentException.class,
                () -> store.readInto(spilled.get(2).handle(), MemorySegment.ofArray(new byte[99])));
        }
    }

    @Test
    void thousandSmallObjectsArePackedIntoTwoFiles() throws IOException
    {
        // 1000 records of 1 KiB + 48 B header and key overflow a 1 MiB pack file exactly once.
        try (SpillStore store = open(dir, 64 * MIB, 1))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (int i = 0; i < 1000; i++)
            {
                spilled.add(spill(store, "k" + i, (int) KIB));
            }
            assertEquals(2, store.fileCount());
            assertEquals(List.of("pack-0.dat", "pack-1.dat"), dataFiles());
            for (final Spilled s : spilled)
            {
                assertArrayEquals(s.expected(), read(store, s.handle()));
            }
            assertEquals(1000, store.objectCount());
            assertTrue(Files.size(dataDir().resolve("pack-0.dat")) <= MIB);
        }
    }

    @Test
    void largeObjectsGetTheirOwnFiles() throws IOException
    {
        try (SpillStore store = open(dir, 256 * MIB, 200); Arena arena = Arena.ofConfined())
        {
            final long[] sizes = {8 * MIB, 64 * MIB, MIB};
            final List<SpillHandle> handles = new ArrayList<>();
            final List<MemorySegment> sources = new ArrayList<>();
            for (int i = 0; i < sizes.length; i++)
            {
                final MemorySegment source = arena.allocate(sizes[i]);
                fill(source, i);
                sources.add(source);
                handles.add(store.write("large-" + i, i, source));
            }
            assertEquals(List.of("obj-0.dat", "obj-1.dat", "obj-2.dat"), dataFiles());
            for (int i = 0; i < sizes.length; i++)
            {
                final SpillHandle handle = handles.get(i);
                final MemorySegment target = arena.allocate(sizes[i]);
                store.readInto(handle, target);
                assertEquals(-1, target.mismatch(sources.get(i)), "large-" + i + " differs");
                final SpillRecord.Header header = SpillRecord.readHeader(handle.file.channel, 0);
                assertTrue(header.ownFile());
                assertEquals(SpillRecord.OWN_FILE_DATA_ALIGNMENT, header.dataOffset());
                assertEquals(sizes[i], header.dataLength());
                assertEquals("large-" + i, header.key());
            }
            // Just under the threshold still goes to a pack file.
            final MemorySegment small = arena.allocate(SpillStore.SMALL_OBJECT_LIMIT - 1);
            fill(small, 99);
            final SpillHandle packed = store.write("just-small", 1, small);
            assertTrue(packed.file.pack);
            final MemorySegment target = arena.allocate(small.byteSize());
            store.readInto(packed, target);
            assertEquals(-1, target.mismatch(small));

            store.delete(handles.get(1));
            assertFalse(Files.exists(dataDir().resolve("obj-1.dat")));
            assertEquals(store.usedBytes(), store.liveBytes());
        }
    }

    @Test
    void corruptionIsDetected() throws IOException
    {
        try (SpillStore store = open(dir, 64 * MIB, 200))
        {
            final Spilled small = spill(store, "small", 100);
            final Spilled large = spill(store, "large", (int) (2 * MIB));
            final Spilled huge = spill(store, "huge", (int) (9 * MIB));
            flipByte(small.handle().file.path, small.handle().recordOffset + small.handle().dataOffset() + 50);
            flipByte(large.handle().file.path, large.handle().dataOffset() + MIB + 3);
            flipByte(huge.handle().file.path, huge.handle().dataOffset() + 9 * MIB - 1);
            for (final Spilled s : List.of(small, large, huge))
            {
                final IOException e = assertThrows(IOException.class, () -> read(store, s.handle()));
                assertTrue(e.getMessage().startsWith("corrupt spill record " + s.handle().key()), e.getMessage());
            }
            assertEquals(0, store.readsTotal());
            // The record header is intact, so the file still says what the record is.
            assertEquals("large", SpillRecord.readHeader(large.handle().file.channel, 0).key());

            // A file cut short fails the read.
            final Spilled cut = spill(store, "cut", (int) (12 * MIB));
            try (FileChannel channel = FileChannel.open(cut.handle().file.path, StandardOpenOption.WRITE))
            {
                channel.truncate(cut.handle().dataOffset() + 10 * MIB);
            }
            try (Arena arena = Arena.ofShared())
            {
                final IOException e = assertThrows(IOException.class,
                    () -> store.readInto(cut.handle(), arena.allocate(12 * MIB)));
                assertTrue(e.getMessage().startsWith("corrupt spill record"), e.getMessage());
            }
        }
    }

    private static void flipByte(final Path file, final long offset) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, offset);
            one.put(0, (byte) (one.get(0) ^ 0x5A));
            one.rewind();
            channel.write(one, offset);
        }
    }

    @Test
    void concurrentLargeReadsAreByteExact() throws Exception
    {
        try (SpillStore store = open(dir, 256 * MIB, 200))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (int i = 0; i < 4; i++)
            {
                spilled.add(spill(store, "large" + i, (int) (8 * MIB + i * 4099)));
            }
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 4; t++)
            {
                final int id = t;
                readers.add(Thread.ofPlatform().start(() ->
                {
                    try (Arena arena = Arena.ofShared())
                    {
                        for (int round = 0; round < 6; round++)
                        {
                            final Spilled s = spilled.get((id + round) % spilled.size());
                            final MemorySegment target = arena.allocate(s.handle().size());
                            store.readInto(s.handle(), target);
                            if (target.mismatch(MemorySegment.ofArray(s.expected())) != -1)
                            {
                                throw new AssertionError("mismatch reading " + s.handle().key());
                            }
                        }
                    }
                    catch (final Throwable e)
                    {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            for (final Thread reader : readers)
            {
                reader.join();
            }
            if (failure.get() != null)
            {
                throw new AssertionError("reader failed", failure.get());
            }
            assertEquals(24, store.readsTotal());
        }
    }

    @Test
    void watermarksHaveHysteresis() throws IOException
    {
        final long limit = 10 * MIB;
        try (SpillStore store = open(dir, limit, 1))
        {
            final List<SpillHandle> handles = new ArrayList<>();
            final byte[] data = bytes(1, (int) (100 * KIB));
            SpillHandle handle;
            while ((handle = store.write("k" + handles.size(), 1, MemorySegment.ofArray(data))) != null)
            {
                handles.add(handle);
                assertTrue(handles.size() < 200, "never refused");
            }
            final long high = (long) (0.8 * limit);
            final long low = (long) (0.6 * limit);
            assertTrue(store.usedBytes() > high, "refused at " + store.usedBytes());
            assertTrue(store.usedBytes() <= high + 200 * KIB, "refused only at " + store.usedBytes());
            assertTrue(store.nearlyFull());

            // Deleting the oldest records empties whole pack files; below the high watermark writes stay refused.
            int next = 0;
            while (store.usedBytes() >= low)
            {
                assertNull(store.write("refused", 1, MemorySegment.ofArray(data)), "at " + store.usedBytes());
                assertTrue(store.nearlyFull());
                store.delete(handles.get(next++));
            }
            assertFalse(store.nearlyFull());
            assertNotNull(store.write("accepted", 1, MemorySegment.ofArray(data)));
            assertTrue(next > 0);
            store.checkInvariants();
        }
    }

    @Test
    void recordThatDoesNotFitUnderTheLimitIsRefused() throws IOException
    {
        try (SpillStore store = open(dir, 4 * MIB, 1); Arena arena = Arena.ofConfined())
        {
            assertNull(store.write("too-big", 1, arena.allocate(5 * MIB)));
            assertFalse(store.nearlyFull());
            assertEquals(0, store.usedBytes());
            assertEquals(List.of(), dataFiles());
        }
    }

    @Test
    void compactionKeepsHandlesValidAndShrinksUsage() throws IOException
    {
        try (SpillStore store = SpillStore.open(dir, 16 * MIB, 1, 0.9, 0.1, 512, false))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (int i = 0; i < 100; i++)
            {
                spilled.add(spill(store, "k" + i, (int) (100 * KIB)));
            }
            assertEquals(10, store.fileCount());
            final List<Spilled> survivors = new ArrayList<>();
            for (int i = 0; i < spilled.size(); i++)
            {
                if (i % 5 == 0)
                {
                    survivors.add(spilled.get(i));
                }
                else
                {
                    store.delete(spilled.get(i).handle());
                }
            }
            final long usedBefore = store.usedBytes();
            final List<SpillFile> filesBefore = survivors.stream().map(s -> s.handle().file).toList();
            final int compacted = store.compact();
            assertTrue(compacted >= 8, "compacted " + compacted);
            assertEquals(compacted, store.compactionsTotal());
            assertTrue(store.usedBytes() < usedBefore / 2, store.usedBytes() + " of " + usedBefore);
            assertTrue(store.fileCount() <= 4, "files " + store.fileCount());
            int moved = 0;
            for (int i = 0; i < survivors.size(); i++)
            {
                final Spilled s = survivors.get(i);
                moved += s.handle().file != filesBefore.get(i) ? 1 : 0;
                assertArrayEquals(s.expected(), read(store, s.handle()), s.handle().key());
            }
            assertTrue(moved >= 16, "moved " + moved);
            assertEquals(20, store.objectCount());
            assertEquals(store.usedBytes(), fileBytes());
            assertEquals(0, store.compact(), "nothing left to compact");
            store.checkInvariants();
        }
    }

    @Test
    void compactionDoesNotMakeTheStoreNearlyFull() throws IOException
    {
        // 90 records of 100 KiB fill 9 pack files to 9,220,320 bytes, just under the high watermark of 9,395,240;
        // moving the first file's two survivors adds 204,896 bytes before that file is deleted.
        try (SpillStore store = SpillStore.open(dir, 16 * MIB, 1, 0.56, 0.1, 512, false))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (int i = 0; i < 90; i++)
            {
                spilled.add(spill(store, "k" + i, (int) (100 * KIB)));
            }
            assertFalse(store.nearlyFull());
            for (int i = 0; i < spilled.size(); i++)
            {
                if (i % 5 != 0)
                {
                    store.delete(spilled.get(i).handle());
                }
            }
            assertTrue(store.compact() > 0);
            assertFalse(store.nearlyFull());
            assertNotNull(store.write("after", 1, MemorySegment.ofArray(new byte[100])));
            store.checkInvariants();
        }
    }

    private long fileBytes() throws IOException
    {
        long total = 0;
        for (final String name : dataFiles())
        {
            total += Files.size(dataDir().resolve(name));
        }
        return total;
    }

    @Test
    void readsDuringCompactionAreByteExact() throws Exception
    {
        try (SpillStore store = SpillStore.open(dir, 64 * MIB, 1, 0.9, 0.01, 512, false))
        {
            final List<Spilled> survivors = new CopyOnWriteArrayList<>();
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final AtomicLong reads = new AtomicLong();
            survivors.add(spill(store, "seed", (int) (50 * KIB)));
            final List<Thread> readers = new ArrayList<>();
            for (int t = 0; t < 2; t++)
            {
                readers.add(Thread.ofPlatform().name("reader-" + t).start(() ->
                {
                    final byte[] buffer = new byte[(int) (100 * KIB)];
                    try
                    {
                        while (!stop.get())
                        {
                            for (final Spilled s : survivors)
                            {
                                final MemorySegment target = MemorySegment.ofArray(buffer);
                                store.readInto(s.handle(), target);
                                if (target.asSlice(0, s.expected().length)
                                    .mismatch(MemorySegment.ofArray(s.expected())) != -1)
                                {
                                    throw new AssertionError("mismatch reading " + s.handle().key());
                                }
                                reads.incrementAndGet();
                            }
                        }
                    }
                    catch (final Throwable e)
                    {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            int compacted = 0;
            for (int round = 0; round < 8; round++)
            {
                for (int i = 0; i < 50; i++)
                {
                    final Spilled s = spill(store, "r" + round + "-" + i, (int) (50 * KIB + i * 997));
                    if (i % 5 == 0)
                    {
                        survivors.add(s);
                    }
                    else
                    {
                        store.delete(s.handle());
                    }
                }
                compacted += store.compact();
            }
            stop.set(true);
            for (final Thread reader : readers)
            {
                reader.join();
            }
            if (failure.get() != null)
            {
                throw new AssertionError("reader failed", failure.get());
            }
            assertTrue(compacted > 0);
            assertTrue(reads.get() > 0);
            for (final Spilled s : survivors)
            {
                assertArrayEquals(s.expected(), read(store, s.handle()));
            }
            store.checkInvariants();
        }
    }

    @Test
    void randomizedConcurrentWorkloadKeepsEveryValueAndTheBooksStraight() throws Exception
    {
        try (SpillStore store = SpillStore.open(dir, 24 * MIB, 1, 0.8, 0.3, 8, false))
        {
            final AtomicBoolean stop = new AtomicBoolean();
            final AtomicReference<Throwable> failure = new AtomicReference<>();
            final AtomicLong refused = new AtomicLong();
            final List<List<Spilled>> perThread = new ArrayList<>();
            final List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 3; t++)
            {
                final int id = t;
                final List<Spilled> mine = new ArrayList<>();
                perThread.add(mine);
                threads.add(Thread.ofPlatform().name("worker-" + t).start(() ->
                {
                    final SplittableRandom random = new SplittableRandom(id);
                    int serial = 0;
                    try
                    {
                        while (!stop.get())
                        {
                            final int op = random.nextInt(10);
                            if (op < 4 || mine.isEmpty())
                            {
                                final int size = random.nextInt(20) == 0
                                    ? (int) MIB + random.nextInt((int) (2 * MIB)) : random.nextInt((int) (120 * KIB));
                                final String key = "t" + id + "-" + serial++;
                                final byte[] data = bytes(key.hashCode(), size);
                                final SpillHandle handle = store.write(key, serial, MemorySegment.ofArray(data));
                                if (handle == null)
                                {
                                    refused.incrementAndGet();
                                    if (!mine.isEmpty())
                                    {
                                        store.delete(mine.removeLast().handle());
                                    }
                                }
                                else
                                {
                                    mine.add(new Spilled(handle, data));
                                }
                            }
                            else if (op < 8)
                            {
                                final Spilled s = mine.get(random.nextInt(mine.size()));
                                if (!java.util.Arrays.equals(s.expected(), read(store, s.handle())))
                                {
                                    throw new AssertionError("mismatch reading " + s.handle().key());
                                }
                            }
                            else
                            {
                                store.delete(mine.remove(random.nextInt(mine.size())).handle());
                            }
                        }
                    }
                    catch (final Throwable e)
                    {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            final long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            int compacted = 0;
            while (System.nanoTime() < end && failure.get() == null)
            {
                compacted += store.compact();
                Thread.sleep(5);
            }
            stop.set(true);
            for (final Thread thread : threads)
            {
                thread.join();
            }
            if (failure.get() != null)
            {
                throw new AssertionError("worker failed", failure.get());
            }
            store.checkInvariants();
            int live = 0;
            for (final List<Spilled> mine : perThread)
            {
                for (final Spilled s : mine)
                {
                    assertArrayEquals(s.expected(), read(store, s.handle()));
                }
                live += mine.size();
            }
            assertEquals(live, store.objectCount());
            assertTrue(store.spillsTotal() > 100, "spills " + store.spillsTotal());
            System.out.println("randomized spill workload: " + store.spillsTotal() + " spills, " + store.readsTotal()
                + " reads, " + refused.get() + " refused, " + compacted + " compactions, " + store.fileCount()
                + " files");
        }
    }

    @Test
    void backgroundCompactionFollowsDeletes() throws Exception
    {
        try (SpillStore store = SpillStore.open(dir, 16 * MIB, 1, 0.9, 0.1))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (int i = 0; i < 100; i++)
            {
                spilled.add(spill(store, "k" + i, (int) (100 * KIB)));
            }
            final long usedBefore = store.usedBytes();
            for (int i = 0; i < spilled.size(); i++)
            {
                if (i % 5 != 0)
                {
                    store.delete(spilled.get(i).handle());
                }
            }
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (store.usedBytes() >= usedBefore / 2 && System.nanoTime() < deadline)
            {
                Thread.sleep(10);
            }
            assertTrue(store.usedBytes() < usedBefore / 2, "background compaction left " + store.usedBytes());
            for (int i = 0; i < spilled.size(); i += 5)
            {
                assertArrayEquals(spilled.get(i).expected(), read(store, spilled.get(i).handle()));
            }
        }
    }

    @Test
    void deletesFreeFilesAndAreIdempotent() throws IOException
    {
        try (SpillStore store = open(dir, 64 * MIB, 1))
        {
            final List<Spilled> first = new ArrayList<>();
            for (int i = 0; i < 12; i++)
            {
                first.add(spill(store, "a" + i, (int) (100 * KIB)));
            }
            assertEquals(List.of("pack-0.dat", "pack-1.dat"), dataFiles());
            for (int i = 0; i < 10; i++)
            {
                store.delete(first.get(i).handle());
            }
            assertEquals(List.of("pack-1.dat"), dataFiles(), "an emptied pack file is removed");
            store.delete(first.get(0).handle());
            assertEquals(2, store.objectCount());
            assertTrue(first.get(0).handle().isDeleted());
            final IOException e = assertThrows(IOException.class, () -> read(store, first.get(0).handle()));
            assertTrue(e.getMessage().contains("deleted"), e.getMessage());

            store.delete(first.get(10).handle());
            store.delete(first.get(11).handle());
            assertEquals(0, store.usedBytes(), "the emptied active pack file is truncated for reuse");
            assertEquals(0, store.liveBytes());
            assertEquals(0, Files.size(dataDir().resolve("pack-1.dat")));
            final Spilled again = spill(store, "b", 300);
            assertEquals(0, again.handle().recordOffset);
            assertArrayEquals(again.expected(), read(store, again.handle()));
        }
    }

    @Test
    void failedWriteLeavesNothingReferenced() throws IOException
    {
        try (SpillStore store = open(dir, 64 * MIB, 1))
        {
            final Spilled kept = spill(store, "kept", 1000);
            final long used = store.usedBytes();
            // A segment that cannot be viewed as a ByteBuffer makes the write fail after the space was reserved.
            assertThrows(UnsupportedOperationException.class,
                () -> store.write("bad-small", 1, MemorySegment.ofArray(new long[100])));
            assertThrows(UnsupportedOperationException.class,
                () -> store.write("bad-large", 1, MemorySegment.ofArray(new long[(int) MIB])));
            assertEquals(used, store.usedBytes());
            assertEquals(used, store.liveBytes());
            assertEquals(1, store.objectCount());
            assertEquals(List.of("pack-0.dat"), dataFiles());
            assertEquals(used, Files.size(dataDir().resolve("pack-0.dat")));
            assertArrayEquals(kept.expected(), read(store, kept.handle()));
            assertNotNull(store.write("after", 1, MemorySegment.ofArray(new byte[10])));
            store.checkInvariants();
        }
    }

    @Test
    void openFileLimitIsRespected() throws IOException
    {
        try (SpillStore store = SpillStore.open(dir, 64 * MIB, 1, 0.8, 0.6, 2, false))
        {
            final List<Spilled> spilled = new ArrayList<>();
            for (int i = 0; i < 6; i++)
            {
                spilled.add(spill(store, "big" + i, (int) (MIB + i)));
                spilled.add(spill(store, "small" + i, (int) (300 * KIB)));
            }
            for (int round = 0; round < 2; round++)
            {
                for (final Spilled s : spilled)
                {
                    assertArrayEquals(s.expected(), read(store, s.handle()));
                }
            }
            final long open = spilled.stream().map(s -> s.handle().file).distinct()
                .filter(f -> f.channel != null && f.channel.isOpen()).count();
            assertTrue(open <= 2, "open channels: " + open);
        }
    }

    @Test
    void interruptedReaderDoesNotBreakOthers() throws IOException
    {
        try (SpillStore store = open(dir, 64 * MIB, 200))
        {
            final Spilled a = spill(store, "a", (int) (500 * KIB));
            final Spilled b = spill(store, "b", (int) (500 * KIB));
            Thread.currentThread().interrupt();
            try
            {
                assertThrows(IOException.class, () -> read(store, a.handle()));
            }
            finally
            {
                Thread.interrupted();
            }
            assertArrayEquals(b.expected(), read(store, b.handle()));
            assertArrayEquals(a.expected(), read(store, a.handle()));
            assertNotNull(store.write("c", 1, MemorySegment.ofArray(new byte[100])));
        }
    }

    @Test
    void openDeletesLeftoversOfAPreviousWorker() throws IOException
    {
        final Path data = dataDir();
        Files.createDirectories(data.resolve("stray-dir"));
        Files.write(data.resolve("pack-0.dat"), new byte[1000]);
        Files.write(data.resolve("obj-7.dat"), new byte[5000]);
        Files.write(data.resolve("stray-dir").resolve("x"), new byte[10]);
        try (SpillStore store = open(dir, 64 * MIB, 200))
        {
            assertEquals(List.of(), dataFiles());
            assertTrue(Files.exists(data.resolve(SpillStore.LOCK_FILE_NAME)));
            assertEquals(0, store.usedBytes());
            final Spilled s = spill(store, "fresh", 10);
            assertEquals(List.of("pack-0.dat"), dataFiles());
            assertArrayEquals(s.expected(), read(store, s.handle()));
        }
    }

    @Test
    void secondOpenOfALockedDirectoryFails() throws IOException
    {
        try (SpillStore store = open(dir, 64 * MIB, 200))
        {
            final Spilled s = spill(store, "mine", 10);
            final IOException e = assertThrows(IOException.class, () -> open(dir, 64 * MIB, 200));
            assertTrue(e.getMessage().contains(dataDir().toAbsolutePath().toString()), e.getMessage());
            assertTrue(e.getMessage().contains("in use by another worker"), e.getMessage());
            // The failed open deleted nothing.
            assertArrayEquals(s.expected(), read(store, s.handle()));
        }
        open(dir, 64 * MIB, 200).close();
    }

    @Test
    void lockHeldByAnotherProcessAndCleanupAfterItsCrash() throws Exception
    {
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        final Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
            SpillChildProcess.class.getName(), dir.toString())
            .redirectErrorStream(true)
            .start();
        try
        {
            final BufferedReader out = new BufferedReader(
                new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.equals(SpillChildProcess.READY))
            {
                // Skip the child's log lines.
            }
            assertEquals(SpillChildProcess.READY, line, "child did not start");
            assertEquals(2, dataFiles().size(), "child's files: " + dataFiles());
            final IOException e = assertThrows(IOException.class, () -> open(dir, 64 * MIB, 200));
            assertTrue(e.getMessage().contains(dataDir().toAbsolutePath().toString()), e.getMessage());
        }
        finally
        {
            child.destroyForcibly();
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
        }
        // kill -9 released the lock but left the files; the next worker deletes them.
        assertEquals(2, dataFiles().size());
        try (SpillStore store = open(dir, 64 * MIB, 200))
        {
            assertEquals(List.of(), dataFiles());
            assertEquals(0, store.objectCount());
        }
    }

    @Test
    void closeRemovesDataAndReleasesTheLock() throws IOException
    {
        final SpillStore store = open(dir, 64 * MIB, 1);
        final Spilled small = spill(store, "small", 100);
        final Spilled large = spill(store, "large", (int) (3 * MIB));
        assertEquals(2, dataFiles().size());
        store.close();
        store.close();
        assertEquals(List.of(), dataFiles());
        assertTrue(small.handle().isDeleted());
        assertTrue(large.handle().isDeleted());
        assertThrows(IOException.class, () -> read(store, small.handle()));
        assertThrows(IOException.class, () -> store.write("late", 1, MemorySegment.ofArray(new byte[1])));
        store.delete(small.handle());
        try (SpillStore again = open(dir, 64 * MIB, 1))
        {
            assertEquals(0, again.usedBytes());
        }
    }

    @Test
    void zeroLimitMeansMostOfTheUsableSpace() throws IOException
    {
        try (SpillStore store = SpillStore.open(dir, 0, 200, 0.8, 0.6))
        {
            final long usable = Files.getFileStore(dataDir()).getUsableSpace();
            assertTrue(store.limitBytes() > 0);
            assertTrue(store.limitBytes() <= usable, store.limitBytes() + " > " + usable);
            assertTrue(store.limitBytes() >= usable * 0.9, store.limitBytes() + " << " + usable);
        }
    }

    @Test
    void invalidArgumentsAreRejected()
    {
        assertThrows(IllegalArgumentException.class, () -> SpillStore.open(dir, -1, 200, 0.8, 0.6));
        assertThrows(IllegalArgumentException.class, () -> SpillStore.open(dir, 0, 0, 0.8, 0.6));
        assertThrows(IllegalArgumentException.class, () -> SpillStore.open(dir, 0, 200, 0.5, 0.6));
        assertThrows(IllegalArgumentException.class, () -> SpillStore.open(dir, 0, 200, 1.5, 0.6));
    }
}
