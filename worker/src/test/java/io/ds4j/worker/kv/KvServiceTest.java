package io.ds4j.worker.kv;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.common.shm.SegmentFiles;
import io.ds4j.worker.TestPools;
import io.ds4j.worker.TestStores;
import io.ds4j.worker.store.Value;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.StoredObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvServiceTest
{
    private TestStores stores;
    private SharedPool pool;
    private KvService kv;

    @BeforeEach
    void open() throws IOException
    {
        stores = TestStores.memory(8 << 20);
        pool = stores.pool;
        kv = stores.kv;
    }

    @AfterEach
    void close()
    {
        stores.close();
    }

    private static MemorySegment bytes(final String text)
    {
        return MemorySegment.ofArray(text.getBytes(StandardCharsets.UTF_8));
    }

    private String read(final String key) throws InterruptedException
    {
        final Value object = kv.get(List.of(key), 0)[0];
        if (object == null)
        {
            return null;
        }
        try
        {
            return new String(object.data().toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
        finally
        {
            object.release();
        }
    }

    @Test
    void overwriteMakesANewVersionAndNxKeepsTheOld() throws InterruptedException
    {
        kv.set("k", bytes("one"), SetParams.DEFAULT);
        final StoredObject first = kv.get(List.of("k"), 0)[0].pooled();
        kv.set("k", bytes("two"), SetParams.DEFAULT);
        final StoredObject second = kv.get(List.of("k"), 0)[0].pooled();
        assertTrue(second.version() > first.version());
        assertEquals("one", new String(first.data().toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8),
            "a reader of the old version keeps its bytes");
        first.release();
        second.release();
        kv.set("k", bytes("three"), new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NX, CacheType.MEMORY, 0));
        assertEquals("two", read("k"));
    }

    @Test
    void memoryReturnsOnlyWhenTheLastReaderReleases() throws InterruptedException
    {
        final long empty = pool.used();
        kv.set("k", MemorySegment.ofArray(new byte[4096]), SetParams.DEFAULT);
        final StoredObject view = kv.get(List.of("k"), 0)[0].pooled();
        kv.delete("k");
        assertTrue(pool.used() > empty, "a held view keeps its memory after delete");
        assertEquals(ObjectHeader.STATE_PUBLISHED, ObjectHeader.state(pool.segment(), view.headerOffset()));
        view.release();
        assertEquals(empty, pool.used());
        assertFalse(view.tryRetain(), "a freed object can never be retained again");
    }

    @Test
    void fullPoolAnswersOutOfMemoryAndRecovers()
    {
        final List<String> stored = new ArrayList<>();
        final DsException e = assertThrows(DsException.class, () ->
        {
            for (int i = 0; ; i++)
            {
                kv.set("fill" + i, MemorySegment.ofArray(new byte[1 << 20]), SetParams.DEFAULT);
                stored.add("fill" + i);
            }
        });
        assertEquals(StatusCode.OUT_OF_MEMORY, e.code());
        assertTrue(stored.size() >= 6, "an 8 MiB pool holds at least six 1 MiB values");
        kv.delete(stored.getFirst());
        kv.set("again", MemorySegment.ofArray(new byte[1 << 20]), SetParams.DEFAULT);
        assertEquals(StatusCode.OUT_OF_MEMORY, assertThrows(DsException.class,
            () -> kv.set("huge", MemorySegment.ofArray(new byte[9 << 20]), SetParams.DEFAULT)).code());
    }

    @Test
    void badKeysAndParamsAreInvalid()
    {
        assertEquals(StatusCode.INVALID, assertThrows(DsException.class,
            () -> kv.set("bad key", bytes("x"), SetParams.DEFAULT)).code());
        assertEquals(StatusCode.INVALID, assertThrows(DsException.class,
            () -> kv.get(List.of("ok", "no/slash"), 0)).code());
        assertEquals(StatusCode.NOT_FOUND, assertThrows(DsException.class, () -> kv.expire("missing", 5)).code());
        assertEquals(StatusCode.NOT_SUPPORTED, assertThrows(DsException.class,
            () -> new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, CacheType.DISK, 0)).code());
    }

    @Test
    void ttlRemovesTheKeyAndFreesItsMemoryWithoutAReader() throws InterruptedException
    {
        final long empty = pool.used();
        kv.set("t", MemorySegment.ofArray(new byte[10_000]),
            new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, CacheType.MEMORY, 1));
        assertTrue(kv.exists("t"));
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (pool.used() != empty && System.nanoTime() < deadline)
        {
            Thread.sleep(50);
        }
        assertEquals(empty, pool.used());
        assertFalse(kv.exists("t"));
    }

    @Test
    void expireResetsAndClearsTheTtl() throws InterruptedException
    {
        kv.set("e", bytes("v"), new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, CacheType.MEMORY, 1));
        kv.expire("e", 0);
        Thread.sleep(1500);
        assertEquals("v", read("e"), "expire(0) made the key persistent");
        kv.expire("e", 1);
        Thread.sleep(1500);
        assertNull(read("e"));
    }

    @Test
    void anExpiredKeyIsGoneForNxAndExpireEvenBeforeItsRemoval() throws InterruptedException
    {
        final SetParams oneSecond = new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, CacheType.MEMORY, 1);
        final SetParams nx = new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NX, CacheType.MEMORY, 0);
        kv.set("old", bytes("stale"), oneSecond);
        kv.set("gone", bytes("stale"), oneSecond);
        // past the TTL: whether or not the expiry thread has run yet, the key must behave as absent
        Thread.sleep(1100);
        kv.set("old", bytes("fresh"), nx);
        assertEquals("fresh", read("old"));
        assertEquals(StatusCode.NOT_FOUND, assertThrows(DsException.class, () -> kv.expire("gone", 100)).code());
    }

    @Test
    void subscribedGetWakesOnPublish() throws Exception
    {
        final CompletableFuture<Value[]> waiting = CompletableFuture.supplyAsync(() ->
        {
            try
            {
                return kv.get(List.of("late", "later"), 5000);
            }
            catch (final InterruptedException e)
            {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(200);
        kv.set("late", bytes("1"), SetParams.DEFAULT);
        Thread.sleep(100);
        assertFalse(waiting.isDone(), "waits until every key exists");
        final long start = System.nanoTime();
        kv.set("later", bytes("2"), SetParams.DEFAULT);
        final Value[] found = waiting.get(2, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1));
        assertNotNull(found[0]);
        assertNotNull(found[1]);
        found[0].release();
        found[1].release();
    }

    @Test
    void subscribedGetTimesOutWithWhatExists() throws InterruptedException
    {
        kv.set("here", bytes("1"), SetParams.DEFAULT);
        final long start = System.nanoTime();
        final Value[] found = kv.get(List.of("here", "never"), 300);
        final long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(elapsedMs >= 290 && elapsedMs < 2000, "waited " + elapsedMs + " ms");
        assertNotNull(found[0]);
        assertNull(found[1]);
        found[0].release();
    }

    @Test
    void segmentHeaderNamesThisGeneration() throws IOException
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment mapped = SegmentFiles.map(pool.path(), arena);
            assertEquals(pool.generation(), io.ds4j.common.shm.SegmentHeader.generation(mapped));
            assertEquals(ProcessHandle.current().pid(), io.ds4j.common.shm.SegmentHeader.workerPid(mapped));
        }
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(
            Files.getPosixFilePermissions(pool.path())));
    }

    @Test
    void aPoolLargerThanTmpfsFailsAtStartWithNoSpace()
    {
        final SegmentFiles.ReservationException e = assertThrows(SegmentFiles.ReservationException.class,
            () -> TestPools.create(1L << 50));
        assertTrue(e.noSpace(), e.getMessage());
        try (var files = Files.list(Path.of("/dev/shm")))
        {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith("ds4j-unittest-"
                + ProcessHandle.current().pid() + "-") && !p.equals(pool.path())), "the failed segment is removed");
        }
        catch (final IOException io)
        {
            throw new AssertionError(io);
        }
    }
}
