package io.ds4j.worker.store.l2;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.ds4j.common.ring.Murmur3;

/** Unit tests for {@link SfsL2Cache}: round trips, layout, newer-wins, expiry, and damaged files after a crash. */
class SfsL2CacheTest
{
    private static final long MIB = 1024 * 1024;

    @TempDir
    Path dir;

    private static MemorySegment bytes(final String text)
    {
        return MemorySegment.ofArray(text.getBytes(US_ASCII));
    }

    private static MemorySegment random(final Arena arena, final long size, final long seed)
    {
        final MemorySegment segment = arena.allocate(size, 64);
        final Random random = new Random(seed);
        for (long i = 0; i + 8 <= size; i += 8)
        {
            segment.set(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
        }
        for (long i = size & ~7L; i < size; i++)
        {
            segment.set(ValueLayout.JAVA_BYTE, i, (byte) random.nextInt());
        }
        return segment;
    }

    /** The record's whole value, or null when there is none. */
    private static byte[] read(final L2Cache l2, final String key) throws IOException
    {
        try (L2Cache.L2Record record = l2.get(key))
        {
            if (record == null)
            {
                return null;
            }
            final byte[] value = new byte[(int) record.size()];
            record.readInto(MemorySegment.ofArray(value));
            return value;
        }
    }

    private static byte[] read(final L2Cache l2, final String key, final long version) throws IOException
    {
        try (L2Cache.L2Record record = l2.get(key, version))
        {
            assertNotNull(record, key + " version " + version);
            final byte[] value = new byte[(int) record.size()];
            record.readInto(MemorySegment.ofArray(value));
            return value;
        }
    }

    private static String text(final byte[] value)
    {
        return value == null ? null : new String(value, US_ASCII);
    }

    private static void flipByte(final Path file, final long position) throws IOException
    {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            final ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, position);
            one.put(0, (byte) (one.get(0) ^ 0x40));
            one.rewind();
            channel.write(one, position);
        }
    }

    @Test
    void smallValuesRoundTripWithTheirMetadata() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c1"))
        {
            l2.put("k1", 7, 0, bytes("hello"));
            l2.put("empty", 1, 0, MemorySegment.ofArray(new byte[0]));
            try (L2Cache.L2Record record = l2.get("k1"))
            {
                assertEquals("k1", record.key());
                assertEquals(7, record.version());
                assertEquals(0, record.expiresAtMs());
                assertEquals(5, record.size());
                final byte[] value = new byte[5];
                record.readInto(MemorySegment.ofArray(value));
                assertEquals("hello", text(value));
                // A second read of the same record works (positional reads), and a short target is refused.
                record.readInto(MemorySegment.ofArray(value));
                assertThrows(IllegalArgumentException.class,
                    () -> record.readInto(MemorySegment.ofArray(new byte[4])));
            }
            assertArrayEquals(new byte[0], read(l2, "empty"));
            assertNull(l2.get("missing"));
            assertEquals("sfs:" + dir.resolve("ds4j-l2").resolve("c1").toAbsolutePath(), l2.describe());
        }
    }

    @Test
    void a64MiBValueRoundTripsByteExact() throws IOException
    {
        try (Arena arena = Arena.ofConfined(); SfsL2Cache l2 = new SfsL2Cache(dir, null))
        {
            final MemorySegment value = random(arena, 64 * MIB + 13, 42);
            l2.put("big", 1, 0, value);
            assertEquals(64 * MIB + 13 + SfsL2Cache.HEADER_SIZE + 3, Files.size(l2.pathOf("big")));
            try (L2Cache.L2Record record = l2.get("big"))
            {
                assertEquals(value.byteSize(), record.size());
                final MemorySegment target = arena.allocate(record.size(), 64);
                record.readInto(target);
                assertEquals(-1, value.mismatch(target));
            }
        }
    }

    @Test
    void theFileLayoutIsTheDocumentedOne() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, ""))
        {
            final Path root = dir.resolve("ds4j-l2").resolve("default");
            assertEquals(root.toAbsolutePath(), l2.root());
            assertEquals(SfsL2Cache.LAYOUT_CONTENT, Files.readString(root.resolve("layout")));
            try (Stream<Path> entries = Files.list(root))
            {
                assertEquals(1, entries.count(), "buckets are created on first use");
            }
            l2.put("key:1", 0x0102030405060708L, 1234, bytes("value"));
            final String bucket = String.format("%02x", Murmur3.hash32("key:1") >>> 24);
            final Path file = root.resolve(bucket).resolve("key:1");
            assertEquals(file.toAbsolutePath(), l2.pathOf("key:1"));

            final ByteBuffer got = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(48 + 5 + 5, got.capacity());
            assertEquals("DS4JL2R1", new String(got.array(), 0, 8, US_ASCII));
            assertEquals(1, got.getShort(8));
            assertEquals(0, got.getShort(10));
            assertEquals(5, got.getInt(12));
            assertEquals(0x0102030405060708L, got.getLong(16));
            assertEquals(1234, got.getLong(24));
            assertEquals(5, got.getLong(32));
            final CRC32C valueCrc = new CRC32C();
            valueCrc.update("value".getBytes(US_ASCII));
            assertEquals((int) valueCrc.getValue(), got.getInt(40));
            final CRC32C headerCrc = new CRC32C();
            headerCrc.update(got.array(), 0, 44);
            headerCrc.update(got.array(), 48, 5);
            assertEquals((int) headerCrc.getValue(), got.getInt(44));
            assertEquals("key:1", new String(got.array(), 48, 5, US_ASCII));
            assertEquals("value", new String(got.array(), 53, 5, US_ASCII));
        }
    }

    @Test
    void aStagedVersionIsNotTheRecordUntilItIsCommitted() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("k", 1, 0, bytes("acked"));
            l2.stage("k", 2, 0, bytes("pending"));
            assertEquals("acked", text(read(l2, "k")));
            try (L2Cache.L2Record staged = l2.get("k", 2); L2Cache.L2Record current = l2.get("k", 1))
            {
                assertEquals(2, staged.version());
                assertEquals(1, current.version());
            }
            assertNull(l2.get("k", 3));
            assertTrue(l2.commit("k", 2));
            assertEquals("pending", text(read(l2, "k")));
            assertNull(l2.get("k", 1), "the committed version replaced the record");
            assertThrows(IOException.class, () -> l2.commit("k", 2), "a staged version commits once");
        }
    }

    @Test
    void aDiscardedStagedVersionLeavesTheRecordBeforeIt() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("k", 1, 0, bytes("acked"));
            l2.stage("k", 2, 0, bytes("refused"));
            l2.discardStaged("k", 2);
            assertEquals("acked", text(read(l2, "k")));
            assertNull(l2.get("k", 2));
            try (Stream<Path> files = Files.list(l2.pathOf("k").getParent()))
            {
                assertEquals(List.of("k"), files.map(f -> f.getFileName().toString()).toList());
            }
        }
    }

    /** Versions are clocks: two workers can stage the same version of a key, and one's refusal is not the other's. */
    @Test
    void twoInstancesStagingTheSameVersionKeepApart() throws IOException
    {
        try (SfsL2Cache a = new SfsL2Cache(dir, "c"); SfsL2Cache b = new SfsL2Cache(dir, "c"))
        {
            a.stage("k", 7, 0, bytes("from a"));
            b.stage("k", 7, 0, bytes("from b"));
            b.discardStaged("k", 7);
            try (L2Cache.L2Record staged = b.get("k", 7))
            {
                assertNotNull(staged, "b finds a's staged version (a reader the owner sent to a, which is gone)");
            }
            assertEquals("from a", text(read(a, "k", 7)));
            assertTrue(a.commit("k", 7));
            assertEquals("from a", text(read(b, "k")));
        }
    }

    @Test
    void aStagedVersionBelowTheRecordIsDroppedAtCommit() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.stage("k", 2, 0, bytes("older"));
            l2.put("k", 3, 0, bytes("newer"));
            assertFalse(l2.commit("k", 2));
            assertEquals("newer", text(read(l2, "k")));
            assertNull(l2.get("k", 2));
        }
    }

    @Test
    void deleteUpToNeverRemovesANewerVersion() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("k", 5, 0, bytes("five"));
            assertFalse(l2.deleteUpTo("k", 4));
            assertEquals("five", text(read(l2, "k")));
            assertTrue(l2.deleteUpTo("k", 5));
            assertNull(l2.get("k"));
            assertFalse(l2.deleteUpTo("k", 9), "nothing left to delete");
        }
    }

    /**
     * Two instances on one directory, six threads staging six versions and committing (or conditionally deleting
     * older ones and committing) them all at once: the highest version is the record after every round. With the
     * check and the rename outside the key's lock, a lower version lands last in some rounds.
     */
    @Test
    void theHighestVersionWinsWhenTwoProcessesWriteAndDeleteOneKeyAtOnce() throws Exception
    {
        final int writers = 6;
        try (SfsL2Cache a = new SfsL2Cache(dir, "c"); SfsL2Cache b = new SfsL2Cache(dir, "c"))
        {
            final ExecutorService pool = Executors.newFixedThreadPool(writers);
            final java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(writers);
            final Random random = new Random(42);
            try
            {
                for (int round = 0; round < 200; round++)
                {
                    final long base = round * 1_000L;
                    final List<Long> versions = new ArrayList<>();
                    for (int t = 0; t < writers; t++)
                    {
                        versions.add(base + 100 + t);
                    }
                    java.util.Collections.shuffle(versions, random);
                    final List<Future<?>> done = new ArrayList<>();
                    for (int t = 0; t < writers; t++)
                    {
                        final SfsL2Cache l2 = t % 2 == 0 ? a : b;
                        final long version = versions.get(t);
                        final boolean deletesFirst = t % 3 == 0;
                        done.add(pool.submit((Callable<Void>) () ->
                        {
                            l2.stage("k", version, 0, bytes("v" + version));
                            start.await();
                            if (deletesFirst)
                            {
                                l2.deleteUpTo("k", base); // only what earlier rounds left
                            }
                            l2.commit("k", version);
                            return null;
                        }));
                    }
                    for (final Future<?> future : done)
                    {
                        future.get();
                    }
                    final long highest = base + 100 + writers - 1;
                    try (L2Cache.L2Record record = a.get("k"))
                    {
                        assertNotNull(record, "round " + round + " left no record");
                        assertEquals(highest, record.version(), "round " + round);
                    }
                    assertEquals("v" + highest, text(read(b, "k")));
                }
            }
            finally
            {
                pool.shutdownNow();
            }
        }
    }

    /**
     * The key's lock holds across processes: a child JVM holds it, and a put here waits until the child lets go.
     * Without the file lock (a lock inside one process only), the put would land at once.
     */
    @Test
    void anotherProcessHoldingAKeysLockMakesAPutWait() throws Exception
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            final Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LockHolder.class.getName(), dir.toString(), "k", "2000")
                .redirectErrorStream(true).start();
            try (java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(
                child.getInputStream(), US_ASCII)))
            {
                String line;
                while ((line = out.readLine()) != null && !line.equals("held"))
                {
                    System.out.println("lock holder: " + line);
                }
                assertEquals("held", line, "the child process took the key's lock");
                final Thread put = Thread.ofPlatform().start(() ->
                {
                    try
                    {
                        l2.put("k", 1, 0, bytes("after the child"));
                    }
                    catch (final IOException e)
                    {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
                put.join(500);
                assertTrue(put.isAlive(), "the put did not wait for the other process's lock");
                put.join(20_000);
                assertFalse(put.isAlive());
                assertEquals("after the child", text(read(l2, "k")));
            }
            finally
            {
                child.destroy();
                assertTrue(child.waitFor(10, java.util.concurrent.TimeUnit.SECONDS));
            }
        }
    }

    /** The child process of {@link #anotherProcessHoldingAKeysLockMakesAPutWait}: holds a key's lock for a while. */
    static final class LockHolder
    {
        public static void main(final String[] args) throws Exception
        {
            try (SfsL2Cache l2 = new SfsL2Cache(Path.of(args[0]), "c"))
            {
                l2.holdLockOf(args[1], () ->
                {
                    System.out.println("held");
                    System.out.flush();
                    try
                    {
                        Thread.sleep(Long.parseLong(args[2]));
                    }
                    catch (final InterruptedException e)
                    {
                        Thread.currentThread().interrupt();
                    }
                });
            }
        }
    }

    @Test
    void aLowerVersionNeverReplacesAHigherOne() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("k", 2, 0, bytes("two"));
            l2.put("k", 1, 0, bytes("one"));
            assertEquals("two", text(read(l2, "k")));
            try (L2Cache.L2Record record = l2.get("k"))
            {
                assertEquals(2, record.version());
            }
            l2.put("k", 3, 0, bytes("three"));
            assertEquals("three", text(read(l2, "k")));
            // The same version again is a rewrite (a retried write-back), not a conflict.
            l2.put("k", 3, 0, bytes("THREE"));
            assertEquals("THREE", text(read(l2, "k")));
        }
    }

    @Test
    void concurrentPutsOfOneKeyEndWithTheHighestVersion() throws Exception
    {
        final int writers = 8;
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"); ExecutorService pool = Executors.newFixedThreadPool(writers))
        {
            final List<Future<Void>> futures = new ArrayList<>();
            for (int w = 0; w < writers; w++)
            {
                final int writer = w;
                final Callable<Void> task = () ->
                {
                    for (int v = writer; v < 40; v += writers)
                    {
                        l2.put("hot", v, 0, bytes("v" + v));
                    }
                    return null;
                };
                futures.add(pool.submit(task));
            }
            for (final Future<Void> future : futures)
            {
                future.get();
            }
            assertEquals("v39", text(read(l2, "hot")));
        }
        try (Stream<Path> files = Files.walk(dir))
        {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(SfsL2Cache.TEMP_PREFIX)));
        }
    }

    @Test
    void anExpiredRecordIsNotFoundAndIsRemoved() throws IOException
    {
        final AtomicLong now = new AtomicLong(1_000);
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c", now::get))
        {
            l2.put("ttl", 1, 2_000, bytes("soon gone"));
            l2.put("forever", 1, 0, bytes("stays"));
            now.set(1_999);
            try (L2Cache.L2Record record = l2.get("ttl"))
            {
                assertEquals(2_000, record.expiresAtMs());
            }
            now.set(2_000);
            assertNull(l2.get("ttl"));
            assertFalse(Files.exists(l2.pathOf("ttl")));
            assertEquals("stays", text(read(l2, "forever")));
            // An expired record does not block a lower version either: it counts as absent.
            l2.put("ttl2", 5, 2_500, bytes("old"));
            now.set(3_000);
            l2.put("ttl2", 1, 0, bytes("new"));
            assertEquals("new", text(read(l2, "ttl2")));
        }
    }

    @Test
    void deleteRemovesTheRecord() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("d", 1, 0, bytes("x"));
            assertTrue(l2.delete("d"));
            assertNull(l2.get("d"));
            assertFalse(l2.delete("d"));
            // After a delete there is no version to beat: any version may be written again.
            l2.put("d", 0, 0, bytes("again"));
            assertEquals("again", text(read(l2, "d")));
        }
    }

    @Test
    void longKeysAndPunctuationKeysAreStoredSafely() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            final String longKey = "L".repeat(1023) + "x";
            final String otherLongKey = "L".repeat(1024);
            final String limit = "y".repeat(200);
            final String justOver = "y".repeat(201);
            final List<String> keys = List.of(longKey, otherLongKey, limit, justOver, "a:b;c@d*e.f", ".", "..",
                "...", ".hidden", "-_!@#%^*()+=:;", "A", "a");
            for (int i = 0; i < keys.size(); i++)
            {
                l2.put(keys.get(i), 1, 0, bytes("value" + i));
            }
            for (int i = 0; i < keys.size(); i++)
            {
                assertEquals("value" + i, text(read(l2, keys.get(i))), keys.get(i));
            }
            assertEquals(SfsL2Cache.sha256Hex(longKey) + "~h", l2.pathOf(longKey).getFileName().toString());
            assertEquals(limit, l2.pathOf(limit).getFileName().toString());
            assertTrue(l2.pathOf(justOver).getFileName().toString().endsWith("~h"));
            assertTrue(l2.pathOf(".").getFileName().toString().endsWith("~h"));
            assertTrue(l2.pathOf("..").getFileName().toString().endsWith("~h"));
            assertEquals("...", l2.pathOf("...").getFileName().toString());
            assertEquals("a:b;c@d*e.f", l2.pathOf("a:b;c@d*e.f").getFileName().toString());
            // Every record is a regular file in its bucket; nothing escaped the root.
            assertEquals(l2.root(), l2.pathOf(".").getParent().getParent());
            assertTrue(l2.delete(longKey));
            assertEquals("value1", text(read(l2, otherLongKey)));
        }
    }

    @Test
    void staleTemporaryFilesAreRemovedAndFreshOnesIgnored() throws IOException
    {
        try (SfsL2Cache first = new SfsL2Cache(dir, "c"))
        {
            first.put("k", 1, 0, bytes("committed"));
            final Path bucket = first.pathOf("k").getParent();
            // A crashed writer's leftover: a half-written temp file, two hours old.
            final Path stale = bucket.resolve(SfsL2Cache.TEMP_PREFIX + "999-dead");
            Files.write(stale, new byte[] {'D', 'S', '4', 'J'});
            Files.setLastModifiedTime(stale, FileTime.fromMillis(System.currentTimeMillis() - 2 * 3_600_000L));
            // Another worker's write in progress: young, so it must survive.
            final Path fresh = bucket.resolve(SfsL2Cache.TEMP_PREFIX + "998-live");
            Files.write(fresh, new byte[] {1, 2, 3});

            try (SfsL2Cache second = new SfsL2Cache(dir, "c"))
            {
                assertFalse(Files.exists(stale));
                assertTrue(Files.exists(fresh));
                assertEquals("committed", text(read(second, "k")));
            }
        }
    }

    @Test
    void aTruncatedRecordIsReportedNotReturned() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("torn", 1, 0, bytes("0123456789abcdefghij"));
            final Path file = l2.pathOf("torn");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
            {
                channel.truncate(channel.size() - 10);
            }
            final CorruptL2RecordException e = assertThrows(CorruptL2RecordException.class, () -> l2.get("torn"));
            assertTrue(e.getMessage().startsWith("corrupt L2 record "), e.getMessage());
            assertTrue(e.getMessage().contains("truncated"), e.getMessage());
            assertTrue(e.getMessage().contains("'torn'"), e.getMessage());

            // Truncated inside the header.
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE))
            {
                channel.truncate(20);
            }
            assertTrue(assertThrows(CorruptL2RecordException.class, () -> l2.get("torn")).getMessage()
                .contains("truncated"));

            // A put repairs a damaged record whatever its version claimed.
            l2.put("torn", 0, 0, bytes("repaired"));
            assertEquals("repaired", text(read(l2, "torn")));
        }
    }

    @Test
    void aFlippedValueByteFailsTheChecksum() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("rot", 1, 0, bytes("0123456789"));
            final Path file = l2.pathOf("rot");
            flipByte(file, Files.size(file) - 3);
            try (L2Cache.L2Record record = l2.get("rot"))
            {
                assertNotNull(record);
                final IOException e = assertThrows(IOException.class,
                    () -> record.readInto(MemorySegment.ofArray(new byte[10])));
                assertTrue(e.getMessage().startsWith("corrupt L2 record "), e.getMessage());
                assertTrue(e.getMessage().contains("checksum"), e.getMessage());
            }
        }
    }

    @Test
    void aDamagedHeaderOrForeignFileIsReported() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("hdr", 1, 0, bytes("value"));
            final Path file = l2.pathOf("hdr");
            flipByte(file, SfsL2Cache.OFF_VERSION);
            assertTrue(assertThrows(CorruptL2RecordException.class, () -> l2.get("hdr")).getMessage()
                .contains("header checksum"));

            Files.writeString(file, "not a record at all, but long enough to hold a header");
            assertTrue(assertThrows(CorruptL2RecordException.class, () -> l2.get("hdr")).getMessage()
                .contains("magic"));

            // A hash-named file must hold the key whose hash named it.
            final String longKey = "k".repeat(300);
            final String otherKey = "z".repeat(300);
            l2.put(otherKey, 1, 0, bytes("other"));
            Files.createDirectories(l2.pathOf(longKey).getParent());
            Files.copy(l2.pathOf(otherKey), l2.pathOf(longKey));
            assertTrue(assertThrows(CorruptL2RecordException.class, () -> l2.get(longKey)).getMessage()
                .contains("holds the key"));
        }
    }

    @Test
    void anotherWorkerReadsWhatTheFirstWrote() throws IOException
    {
        final Path shared = dir.resolve("nfs");
        try (SfsL2Cache first = new SfsL2Cache(shared, "prod"))
        {
            first.put("shared-key", 4, 0, bytes("from worker one"));
            first.put("k".repeat(700), 2, 0, bytes("long one"));
        }
        try (SfsL2Cache second = new SfsL2Cache(shared, "prod");
            SfsL2Cache otherCluster = new SfsL2Cache(shared, "dev"))
        {
            try (L2Cache.L2Record record = second.get("shared-key"))
            {
                assertEquals(4, record.version());
            }
            assertEquals("from worker one", text(read(second, "shared-key")));
            assertEquals("long one", text(read(second, "k".repeat(700))));
            assertNull(otherCluster.get("shared-key"));
        }
    }

    @Test
    void aForeignLayoutAndBadArgumentsAreRefused() throws IOException
    {
        final Path root = dir.resolve("ds4j-l2").resolve("old");
        Files.createDirectories(root);
        Files.writeString(root.resolve("layout"), "ds4j-l2 sfs layout 0\n");
        assertThrows(IOException.class, () -> new SfsL2Cache(dir, "old"));
        assertThrows(IllegalArgumentException.class, () -> new SfsL2Cache(dir, "a/b"));
        assertThrows(IllegalArgumentException.class, () -> new SfsL2Cache(dir, ".."));

        final SfsL2Cache l2 = new SfsL2Cache(dir, "c");
        assertThrows(IllegalArgumentException.class, () -> l2.put("", 1, 0, bytes("x")));
        assertThrows(IllegalArgumentException.class, () -> l2.get(null));
        // A key outside the alphabet is stored under its hash, so it can never name a path outside the root.
        l2.put("../../escape", 1, 0, bytes("contained"));
        assertEquals(l2.root(), l2.pathOf("../../escape").getParent().getParent());
        assertEquals("contained", text(read(l2, "../../escape")));
        l2.close();
        assertThrows(IllegalStateException.class, () -> l2.get("k"));
    }

    @Test
    void aReaderKeepsTheVersionItOpened() throws IOException
    {
        try (SfsL2Cache l2 = new SfsL2Cache(dir, "c"))
        {
            l2.put("k", 1, 0, bytes("first"));
            try (L2Cache.L2Record old = l2.get("k"))
            {
                l2.put("k", 2, 0, bytes("second!"));
                final byte[] value = new byte[(int) old.size()];
                old.readInto(MemorySegment.ofArray(value));
                assertEquals("first", text(value));
            }
            assertEquals("second!", text(read(l2, "k")));
        }
    }
}
