package io.ds4j.worker;

import io.ds4j.worker.eviction.S3FifoPolicy;
import io.ds4j.worker.kv.KvService;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.store.LocalCopies;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.TieredStore;
import io.ds4j.worker.store.l2.L2Cache;
import io.ds4j.worker.store.l2.SfsL2Cache;
import io.ds4j.worker.store.l2.WriteBackQueue;
import io.ds4j.worker.store.spill.SpillStore;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A worker's storage stack wired as {@link Worker} wires it, over a real pool in /dev/shm and, when asked, a real
 * spill directory and sfs L2: for tests of the KV and tier semantics without sockets.
 */
public final class TestStores implements AutoCloseable
{
    public final SharedPool pool;
    public final TieredStore store;
    public final DataPlane data;
    /** This node's copies (standalone: one per key). */
    public final LocalCopies metadata;
    public final KvService kv;

    private TestStores(final SharedPool pool, final SpillStore spill, final L2Cache l2, final WriteBackQueue writeBack)
    {
        this.pool = pool;
        this.store = new TieredStore(pool, spill, l2, writeBack,
            new S3FifoPolicy<>(pool.capacity(), entry -> entry.key().hashCode()), true, 0.9, 0.8);
        this.data = DataPlane.standalone("127.0.0.1:1", store);
        this.metadata = data.copies();
        this.kv = new KvService(data);
    }

    /** Memory only. */
    public static TestStores memory(final long poolBytes) throws IOException
    {
        return new TestStores(TestPools.create(poolBytes), null, null, null);
    }

    /** Memory with a spill directory (null: none) and an sfs L2 (null: none). */
    public static TestStores tiered(final long poolBytes, final Path spillDir, final long spillLimit,
        final Path sfsPath) throws IOException
    {
        final SharedPool pool = TestPools.create(poolBytes);
        final SpillStore spill = spillDir == null ? null : SpillStore.open(spillDir, spillLimit, 16, 0.8, 0.6);
        final L2Cache l2 = sfsPath == null ? null : new SfsL2Cache(sfsPath, "test");
        final WriteBackQueue writeBack = l2 == null ? null : new WriteBackQueue(l2, 100, 1L << 30);
        return new TestStores(pool, spill, l2, writeBack);
    }

    @Override
    public void close()
    {
        data.close();
        store.close();
        pool.close();
    }
}
