package io.ds4j.worker.store;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.TestStores;
import io.ds4j.worker.kv.SetParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiers together: what each write mode keeps when the pool fills three times over, and where it comes from. */
class TieredStoreTest
{
    private static final int POOL = 8 << 20;
    private static final int VALUE = 256 << 10;
    /** Three pools' worth of values. */
    private static final int COUNT = 3 * POOL / VALUE;

    @TempDir
    Path dir;

    private static SetParams mode(final WriteMode mode)
    {
        return new SetParams(mode, ExistenceOpt.NONE, CacheType.MEMORY, 0);
    }

    private static byte[] value(final int i)
    {
        final byte[] bytes = new byte[VALUE];
        new Random(i).nextBytes(bytes);
        return bytes;
    }

    private static byte[] read(final TestStores stores, final String key) throws InterruptedException
    {
        final Value value = stores.kv.get(List.of(key), 0)[0];
        if (value == null)
        {
            return null;
        }
        try
        {
            return value.data().toArray(ValueLayout.JAVA_BYTE);
        }
        finally
        {
            value.release();
        }
    }

    private static void fill(final TestStores stores, final SetParams params)
    {
        for (int i = 0; i < COUNT; i++)
        {
            stores.kv.set("k" + i, MemorySegment.ofArray(value(i)), params);
        }
    }

    @Test
    void cacheOnlyWithoutSpillFailsNewWritesAndKeepsWhatItHas() throws Exception
    {
        try (TestStores stores = TestStores.memory(POOL))
        {
            final DsException e = assertThrows(DsException.class, () -> fill(stores, mode(WriteMode.NONE_L2_CACHE)));
            assertEquals(StatusCode.OUT_OF_MEMORY, e.code());
            int kept = 0;
            for (int i = 0; i < COUNT; i++)
            {
                final byte[] back = read(stores, "k" + i);
                if (back != null)
                {
                    assertArrayEquals(value(i), back);
                    kept++;
                }
            }
            assertTrue(kept >= POOL / VALUE - 2, "kept " + kept);
            assertEquals(kept, stores.metadata.size(), "no NONE_L2_CACHE value was dropped");
        }
    }

    @Test
    void cacheOnlyWithSpillKeepsEverythingAndReloadsOnAccess() throws Exception
    {
        try (TestStores stores = TestStores.tiered(POOL, dir.resolve("spill"), 64 << 20, null))
        {
            fill(stores, mode(WriteMode.NONE_L2_CACHE));
            assertTrue(stores.store.stats().spilled.sum() > 0);
            for (int i = 0; i < COUNT; i++)
            {
                assertArrayEquals(value(i), read(stores, "k" + i), "k" + i);
            }
            assertTrue(stores.store.stats().spillHits.sum() > 0, "some values came back from spill");
            assertTrue(stores.pool.used() <= POOL, "used " + stores.pool.used());
        }
    }

    @Test
    void aFullSpillTierAnswersNoSpace() throws Exception
    {
        try (TestStores stores = TestStores.tiered(POOL, dir.resolve("spill"), 4 << 20, null))
        {
            final DsException e = assertThrows(DsException.class, () -> fill(stores, mode(WriteMode.NONE_L2_CACHE)));
            assertEquals(StatusCode.NO_SPACE, e.code(), e.getMessage());
            stores.kv.set("after", MemorySegment.ofArray(new byte[10]), mode(WriteMode.NONE_L2_CACHE_EVICT));
        }
    }

    @Test
    void droppableValuesMakeRoomAndAreGone() throws Exception
    {
        try (TestStores stores = TestStores.memory(POOL))
        {
            fill(stores, mode(WriteMode.NONE_L2_CACHE_EVICT));
            assertArrayEquals(value(COUNT - 1), read(stores, "k" + (COUNT - 1)), "the newest value is there");
            assertTrue(stores.store.stats().dropped.sum() >= COUNT - POOL / VALUE, "old values were dropped");
            assertNull(read(stores, "k0"), "the oldest value was dropped");
            assertFalse(stores.kv.exists("k0"));
        }
    }

    @Test
    void writeThroughValuesSurviveEvictionAndARestartThroughL2() throws Exception
    {
        final Path sfs = dir.resolve("sfs");
        try (TestStores stores = TestStores.tiered(POOL, null, 0, sfs))
        {
            fill(stores, mode(WriteMode.WRITE_THROUGH_L2_CACHE));
            for (int i = 0; i < COUNT; i++)
            {
                assertArrayEquals(value(i), read(stores, "k" + i), "k" + i);
            }
            assertTrue(stores.store.stats().freedMemory.sum() > 0, "memory copies were freed, L2 kept them");
        }
        try (TestStores restarted = TestStores.tiered(POOL, null, 0, sfs))
        {
            assertTrue(restarted.kv.exists("k5"));
            for (int i = 0; i < COUNT; i++)
            {
                assertArrayEquals(value(i), read(restarted, "k" + i), "after restart: k" + i);
            }
        }
    }

    @Test
    void writeBackValuesAreFlushedThenEvictableAndDurable() throws Exception
    {
        final Path sfs = dir.resolve("sfs");
        try (TestStores stores = TestStores.tiered(POOL, null, 0, sfs))
        {
            for (int i = 0; i < COUNT; i++)
            {
                stores.kv.set("k" + i, MemorySegment.ofArray(value(i)), mode(WriteMode.WRITE_BACK_L2_CACHE_EVICT));
                if (i % 8 == 7)
                {
                    assertTrue(stores.store.writeBack().drain(Duration.ofSeconds(10)));
                }
            }
            assertTrue(stores.store.writeBack().drain(Duration.ofSeconds(10)));
            for (int i = 0; i < COUNT; i++)
            {
                assertArrayEquals(value(i), read(stores, "k" + i), "k" + i);
            }
        }
        try (TestStores restarted = TestStores.tiered(POOL, null, 0, sfs))
        {
            assertArrayEquals(value(3), read(restarted, "k3"));
        }
    }

    @Test
    void aValueWithAnOpenViewIsNeverEvicted() throws Exception
    {
        try (TestStores stores = TestStores.memory(POOL))
        {
            stores.kv.set("held", MemorySegment.ofArray(value(-1)), mode(WriteMode.NONE_L2_CACHE_EVICT));
            final Value view = stores.kv.get(List.of("held"), 0)[0];
            fill(stores, mode(WriteMode.NONE_L2_CACHE_EVICT));
            assertTrue(stores.kv.exists("held"), "the viewed value stayed");
            assertArrayEquals(value(-1), view.data().toArray(ValueLayout.JAVA_BYTE));
            view.release();
        }
    }

    @Test
    void deleteAndTtlReachEveryTier() throws Exception
    {
        final Path sfs = dir.resolve("sfs");
        try (TestStores stores = TestStores.tiered(POOL, dir.resolve("spill"), 64 << 20, sfs))
        {
            fill(stores, mode(WriteMode.WRITE_THROUGH_L2_CACHE));
            stores.kv.delete("k0");
            stores.kv.set("t", MemorySegment.ofArray(value(7)),
                new SetParams(WriteMode.WRITE_THROUGH_L2_CACHE, ExistenceOpt.NONE, CacheType.MEMORY, 1));
            assertTrue(stores.store.spill().objectCount() > 0);
            // a key whose copy is in spill (the background evictor keeps spilling others meanwhile, so the spill's
            // object count alone cannot show what one delete freed)
            StoreEntry spilled = null;
            for (int i = 3; i < COUNT && spilled == null; i++) // k2 is read back from L2 below
            {
                final StoreEntry entry = stores.metadata.any("k" + i);
                spilled = entry != null && entry.spill != null ? entry : null;
            }
            assertNotNull(spilled, "some key is in spill");
            stores.kv.delete(spilled.key());
            assertTrue(spilled.removed() && spilled.spill == null, "delete freed the spilled copy");
            assertNull(stores.metadata.any(spilled.key()));
            Thread.sleep(1600);
            assertFalse(stores.kv.exists("t"));
        }
        try (TestStores restarted = TestStores.tiered(POOL, null, 0, sfs))
        {
            assertNull(read(restarted, "k0"), "a deleted key does not come back from L2");
            assertNull(read(restarted, "t"), "an expired key does not come back from L2");
            assertArrayEquals(value(2), read(restarted, "k2"));
        }
    }

    @Test
    void overwritingADurableKeyWithACacheOnlyValueForgetsTheOldRecord() throws Exception
    {
        final Path sfs = dir.resolve("sfs");
        try (TestStores stores = TestStores.tiered(POOL, null, 0, sfs))
        {
            stores.kv.set("k", MemorySegment.ofArray(value(1)), mode(WriteMode.WRITE_THROUGH_L2_CACHE));
            stores.kv.set("k", MemorySegment.ofArray(value(2)), mode(WriteMode.NONE_L2_CACHE));
            assertArrayEquals(value(2), read(stores, "k"));
        }
        try (TestStores restarted = TestStores.tiered(POOL, null, 0, sfs))
        {
            assertNull(read(restarted, "k"), "the old durable value must not come back");
        }
    }

    @Test
    void aCacheOnlyValueWrittenAfterARestartRetiresTheOldDurableRecord() throws Exception
    {
        final Path sfs = dir.resolve("sfs");
        try (TestStores before = TestStores.tiered(POOL, null, 0, sfs))
        {
            before.kv.set("k", MemorySegment.ofArray(value(1)), mode(WriteMode.WRITE_THROUGH_L2_CACHE));
        }
        try (TestStores after = TestStores.tiered(POOL, null, 0, sfs))
        {
            // written without reading first: the metadata has no entry, only L2 has the old record
            after.kv.set("k", MemorySegment.ofArray(value(2)), mode(WriteMode.NONE_L2_CACHE_EVICT));
            after.kv.set("k", MemorySegment.ofArray(value(3)), mode(WriteMode.NONE_L2_CACHE_EVICT));
            assertArrayEquals(value(3), read(after, "k"));
        }
        try (TestStores again = TestStores.tiered(POOL, null, 0, sfs))
        {
            assertNull(read(again, "k"), "the value from two runs ago came back");
        }
    }

    /** Sets and views fresh values until the pool refuses one, after the background evictor settled. */
    private static void fillWithViews(final TestStores stores, final List<Value> views) throws InterruptedException
    {
        Thread.sleep(200);
        for (int i = 0; ; i++)
        {
            try
            {
                stores.kv.set("filler" + i, MemorySegment.ofArray(value(i)), mode(WriteMode.NONE_L2_CACHE));
                views.add(stores.kv.get(List.of("filler" + i), 0)[0]);
            }
            catch (final DsException full)
            {
                assertTrue(full.code() == StatusCode.OUT_OF_MEMORY || full.code() == StatusCode.NO_SPACE);
                return;
            }
        }
    }

    @Test
    void whenThePoolIsFullASpilledValueIsServedFromDisk() throws Exception
    {
        try (TestStores stores = TestStores.tiered(POOL, dir.resolve("spill"), 64 << 20, null))
        {
            stores.kv.set("cold", MemorySegment.ofArray(value(42)), mode(WriteMode.NONE_L2_CACHE));
            // push "cold" to spill, then hold every byte of the pool with views so nothing can move
            final List<Value> views = new ArrayList<>();
            try
            {
                for (int i = 0; i < COUNT; i++)
                {
                    stores.kv.set("h" + i, MemorySegment.ofArray(value(i)), mode(WriteMode.NONE_L2_CACHE));
                    views.add(stores.kv.get(List.of("h" + i), 0)[0]);
                }
            }
            catch (final DsException full)
            {
                assertTrue(full.code() == StatusCode.OUT_OF_MEMORY || full.code() == StatusCode.NO_SPACE);
            }
            // the background evictor may have been spilling "cold" while the last set gave up on it (it only
            // tryLocks): the memory it frees a moment later is taken too, so the pool really has no room
            fillWithViews(stores, views);
            final long fromDiskBefore = stores.store.stats().servedFromDisk.sum();
            final Value cold = stores.kv.get(List.of("cold"), 0)[0];
            assertNotNull(cold);
            assertNull(cold.pooled(), "the pool had no room: the value came straight from disk");
            assertEquals(fromDiskBefore + 1, stores.store.stats().servedFromDisk.sum());
            assertArrayEquals(value(42), cold.data().toArray(ValueLayout.JAVA_BYTE));
            cold.release();
            views.forEach(Value::release);
        }
    }

    @Test
    void anL2ThatCannotBeWrittenFailsTheWriteThroughSet() throws IOException
    {
        final Path sfs = dir.resolve("sfs");
        try (TestStores stores = TestStores.tiered(POOL, null, 0, sfs))
        {
            // the shared filesystem goes away under the worker: its directory becomes a plain file
            try (var files = java.nio.file.Files.walk(sfs))
            {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            java.nio.file.Files.writeString(sfs, "not a directory");
            final DsException e = assertThrows(DsException.class, () -> stores.kv.set("k",
                MemorySegment.ofArray(value(1)), mode(WriteMode.WRITE_THROUGH_L2_CACHE)));
            assertEquals(StatusCode.IO_ERROR, e.code(), e.getMessage());
            assertFalse(stores.kv.exists("k"), "a value not written through is not stored");
            stores.kv.set("cache-only", MemorySegment.ofArray(value(2)), mode(WriteMode.NONE_L2_CACHE));
            assertTrue(stores.kv.exists("cache-only"), "the worker goes on serving cache-only writes");
        }
    }
}
