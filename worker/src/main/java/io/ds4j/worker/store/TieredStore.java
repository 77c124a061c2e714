package io.ds4j.worker.store;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.worker.eviction.EvictionPolicy;
import io.ds4j.worker.store.l2.L2Cache;
import io.ds4j.worker.store.l2.WriteBackQueue;
import io.ds4j.worker.store.spill.SpillHandle;
import io.ds4j.worker.store.spill.SpillStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The node's tiers as one store: the shared-memory pool, the spill directory and the durable L2, with the
 * {@link Evictor} that moves objects down when the pool fills and the reload that brings them back on access. Which way an object
 * goes follows the upstream's action table (spec §3.6) and its write mode; an object with an open view, a held
 * latch or a pending write-back is never evicted from memory.
 *
 * <p>Locking: an entry's tier fields change under its stripe lock. Readers that find the value in memory take no
 * lock ({@link StoredObject#tryRetain()} settles a race with an eviction). The evictor only ever {@code tryLock}s,
 * so a reload that must evict to make room cannot deadlock with it.
 */
public final class TieredStore implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(TieredStore.class);
    private static final int STRIPES = 1024;
    /** How long a write may wait for queued write-backs to free memory before it fails. */
    private static final long WRITE_BACK_WAIT_NANOS = 2_000_000_000L;

    private final SharedPool pool;
    private final SpillStore spill;
    private final L2Cache l2;
    private final WriteBackQueue writeBack;
    private final EvictionPolicy<StoreEntry> policy;
    private final boolean l2Fallback;
    private final long highWatermarkBytes;
    private final long lowWatermarkBytes;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final Stats stats = new Stats();
    private final Evictor evictor;

    /** Counters for metrics and tests. */
    public static final class Stats
    {
        public final LongAdder memoryHits = new LongAdder();
        public final LongAdder spillHits = new LongAdder();
        public final LongAdder l2Hits = new LongAdder();
        public final LongAdder misses = new LongAdder();
        public final LongAdder spilled = new LongAdder();
        public final LongAdder freedMemory = new LongAdder();
        public final LongAdder dropped = new LongAdder();
        public final LongAdder servedFromDisk = new LongAdder();
        public final LongAdder writeThroughOk = new LongAdder();
        public final LongAdder writeThroughFailed = new LongAdder();
    }

    /**
     * @param spill    null when no spill_directory is set
     * @param l2       null when l2_cache_type is none
     * @param writeBack null when l2 is null
     */
    public TieredStore(final SharedPool pool, final SpillStore spill, final L2Cache l2, final WriteBackQueue writeBack,
        final EvictionPolicy<StoreEntry> policy, final boolean l2Fallback, final double highWatermark,
        final double lowWatermark)
    {
        this.pool = pool;
        this.spill = spill;
        this.l2 = l2;
        this.writeBack = writeBack;
        this.policy = policy;
        this.l2Fallback = l2Fallback && l2 != null;
        this.highWatermarkBytes = (long) (pool.capacity() * highWatermark);
        this.lowWatermarkBytes = (long) (pool.capacity() * lowWatermark);
        for (int i = 0; i < STRIPES; i++)
        {
            stripes[i] = new ReentrantLock();
        }
        evictor = new Evictor(this, highWatermarkBytes, lowWatermarkBytes);
    }

    /**
     * How an evicted entry stops being this node's copy (a droppable value or a replica, called with its stripe lock
     * held); true when it was still current. Set once at start, before any request.
     */
    public void onEvicted(final Predicate<StoreEntry> remover)
    {
        evictor.onEvicted(remover);
    }

    public SharedPool pool()
    {
        return pool;
    }

    public Stats stats()
    {
        return stats;
    }

    public SpillStore spill()
    {
        return spill;
    }

    public WriteBackQueue writeBack()
    {
        return writeBack;
    }

    SpillStore spillStore()
    {
        return spill;
    }

    L2Cache l2()
    {
        return l2;
    }

    public EvictionPolicy<StoreEntry> policy()
    {
        return policy;
    }

    ReentrantLock stripe(final StoreEntry entry)
    {
        return stripes[(entry.key().hashCode() & 0x7fffffff) % STRIPES];
    }

    // ------------------------------------------------------------------ writes

    /**
     * Allocates room for a value, evicting to make it when the pool is full.
     *
     * @throws DsException OUT_OF_MEMORY when nothing can make room, NO_SPACE when the spill tier is full too
     */
    public StoredObject allocate(final long size)
    {
        DsException failure;
        try
        {
            return allocated(pool.allocate(size, 0));
        }
        catch (final DsException e)
        {
            failure = e;
        }
        // the allocation-failure path of the action table: evict synchronously until the request fits; values
        // waiting for the write-back flusher cannot move until they reach L2, so give the flusher a moment
        final long waitUntil = System.nanoTime() + WRITE_BACK_WAIT_NANOS;
        do
        {
            final StoredObject made = evictor.evictUntilFits(size);
            if (made != null)
            {
                return allocated(made);
            }
        }
        while (writeBack != null && writeBack.depth() > 0 && System.nanoTime() < waitUntil && parkBriefly());
        try
        {
            return allocated(pool.allocate(size, 0));
        }
        catch (final DsException e)
        {
            failure = e;
        }
        if (spill != null && spill.nearlyFull())
        {
            throw new DsException(StatusCode.NO_SPACE, failure.detail() + "; the spill tier is nearly full too ("
                + spill.usedBytes() + " of " + spill.limitBytes() + " bytes)");
        }
        throw failure;
    }

    private static boolean parkBriefly()
    {
        java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
        return true;
    }

    private StoredObject allocated(final StoredObject object)
    {
        if (pool.used() > highWatermarkBytes)
        {
            evictor.wake();
        }
        return object;
    }

    /** A new primary entry for a filled object (its reference passes to the entry), not yet published. */
    public StoreEntry entry(final String key, final StoredObject object, final long version, final WriteMode mode,
        final long expiresAtMs)
    {
        object.markPublished(version);
        final StoreEntry entry = new StoreEntry(key, version, mode, object.dataSize(), expiresAtMs, false);
        entry.memory = object;
        return entry;
    }

    /** A replica entry for a region pulled from the primary (its reference passes to the entry). */
    public StoreEntry replicaEntry(final String key, final StoredObject object, final long version,
        final WriteMode mode, final long expiresAtMs)
    {
        object.markPublished(version);
        final StoreEntry entry = new StoreEntry(key, version, mode, object.dataSize(), expiresAtMs, true);
        entry.memory = object;
        return entry;
    }

    /**
     * Does what the entry's write mode asks of L2 before the key's owner is asked: WRITE_THROUGH stages the version
     * durably beside the key's record (committed by {@link #ownerRecorded} once the owner recorded it, so a refused
     * write never replaces the value before it); the write-back modes queue it (WRITE_BACK_QUEUE_FULL when the queue
     * is full). Without an L2 the modes behave as cache-only, like the upstream's (reliability needs both an L2 and
     * an L2 write mode).
     */
    public void beforePublish(final StoreEntry entry)
    {
        if (l2 == null || !entry.l2Backed())
        {
            return;
        }
        final StoredObject object = entry.memory;
        if (entry.writeMode() == WriteMode.WRITE_THROUGH_L2_CACHE)
        {
            try
            {
                l2.stage(entry.key(), entry.version(), entry.expiresAtMs(), object.data());
                entry.l2(StoreEntry.L2State.STAGED);
            }
            catch (final IOException e)
            {
                stats.writeThroughFailed.increment();
                throw new DsException(StatusCode.IO_ERROR, "writing " + entry.key() + " through to L2 ("
                    + l2.describe() + ") failed: " + e.getMessage() + "; the value was not stored");
            }
            return;
        }
        object.tryRetain(); // the queue's own reference: the bytes stay until they reach L2
        entry.l2(StoreEntry.L2State.QUEUED);
        if (!writeBack.offer(new WriteBackItem(entry, object)))
        {
            object.release();
            entry.l2(StoreEntry.L2State.NONE);
            throw new DsException(StatusCode.WRITE_BACK_QUEUE_FULL, "the L2 write-back queue is full ("
                + writeBack.depth() + " values waiting); retry later, or raise --l2_cache_async_write_queue_size");
        }
    }

    /**
     * The key's owner recorded the entry's version: a staged WRITE_THROUGH version becomes the key's L2 record (or
     * is dropped, when a newer version got there first), before the writer is answered.
     *
     * @throws DsException IO_ERROR when L2 fails; the staged version then stays for readers the owner sends here
     */
    public void ownerRecorded(final StoreEntry entry)
    {
        if (entry.l2() != StoreEntry.L2State.STAGED)
        {
            return;
        }
        try
        {
            entry.l2(l2.commit(entry.key(), entry.version()) ? StoreEntry.L2State.STORED : StoreEntry.L2State.NONE);
            stats.writeThroughOk.increment();
        }
        catch (final IOException e)
        {
            stats.writeThroughFailed.increment();
            throw new DsException(StatusCode.IO_ERROR, "writing " + entry.key() + " through to L2 ("
                + l2.describe() + ") failed: " + e.getMessage() + "; the value may not be stored, write it again");
        }
    }

    /** The entry became its key's current version: the policy starts tracking it. */
    public void published(final StoreEntry entry)
    {
        final ReentrantLock lock = stripe(entry);
        lock.lock();
        try
        {
            if (!entry.removed() && entry.memory != null && entry.node == null)
            {
                entry.node = policy.admit(entry, entry.size());
            }
        }
        finally
        {
            lock.unlock();
        }
    }

    /** One queued write-back: holds a reference to the bytes until the flusher is done with them. */
    private final class WriteBackItem implements WriteBackQueue.Item
    {
        private final StoreEntry entry;
        private final StoredObject object;

        WriteBackItem(final StoreEntry entry, final StoredObject object)
        {
            this.entry = entry;
            this.object = object;
        }

        @Override
        public String key()
        {
            return entry.key();
        }

        @Override
        public long version()
        {
            return entry.version();
        }

        @Override
        public long expiresAtMs()
        {
            return entry.expiresAtMs();
        }

        @Override
        public MemorySegment data()
        {
            return object.data();
        }

        @Override
        public void done(final boolean written, final IOException failure)
        {
            try
            {
                if (written)
                {
                    entry.l2(StoreEntry.L2State.STORED);
                    if (entry.removed())
                    {
                        // deleted or replaced while queued: the record just written must not outlive it
                        forgetInL2(entry);
                    }
                }
                else
                {
                    entry.l2(StoreEntry.L2State.NONE);
                    LOG.warn("write-back of {} to L2 failed: {}", entry, failure == null ? "worker stopping"
                        : failure.toString());
                }
            }
            finally
            {
                object.release();
            }
        }
    }

    // ------------------------------------------------------------------ removal

    /** The metadata owner's removal listener: every tier lets go of the entry. */
    public void removed(final StoreEntry entry, final Removal why, final StoreEntry replacement)
    {
        final ReentrantLock lock = stripe(entry);
        lock.lock();
        try
        {
            entry.markRemoved();
            dropMemory(entry);
            if (entry.spill != null)
            {
                spill.delete(entry.spill);
                entry.spill = null;
            }
        }
        finally
        {
            lock.unlock();
        }
        if (entry.l2() == StoreEntry.L2State.STAGED)
        {
            // never the key's record: a refused version goes; one whose owner did not answer stays readable by its
            // version, for a reader the owner may send here
            if (why != Removal.ABANDONED)
            {
                discardStaged(entry);
            }
            return;
        }
        // only an entry this worker wrote to (or read from) L2 can have a record there: a cache-only key's first
        // write since the worker started cleared any older one (forgetOlderInL2), so overwriting and deleting
        // cache-only keys never touches L2; a newer L2-backed version overwrites the record itself
        if (entry.l2() != StoreEntry.L2State.NONE && why != Removal.DROPPED && why != Removal.ABANDONED
            && why != Removal.REPLACED_DURABLY
            && !(why == Removal.REPLACED && replacement != null && replacement.l2Backed()))
        {
            forgetInL2(entry);
        }
    }

    /** Deletes a record of the entry's key older than the entry, if L2 has one (see {@link #removed}). */
    public void forgetOlderInL2(final StoreEntry entry)
    {
        forgetInL2(entry);
    }

    /** Deletes the key's L2 record if it is this entry's version or older (never a newer one). */
    private void forgetInL2(final StoreEntry entry)
    {
        deleteInL2UpTo(entry.key(), entry.version());
    }

    /**
     * Deletes the key's L2 record if its version is below {@code version}: an acknowledged delete also removes a
     * record that no holder's removal reaches (one whose holder's commit lost to it, or one an earlier run left).
     */
    public void forgetInL2Before(final String key, final long version)
    {
        deleteInL2UpTo(key, version - 1);
    }

    private void deleteInL2UpTo(final String key, final long maxVersion)
    {
        if (l2 == null)
        {
            return;
        }
        try
        {
            l2.deleteUpTo(key, maxVersion);
        }
        catch (final IOException e)
        {
            LOG.warn("could not remove {} up to version {} from L2: {}", key, maxVersion, e.toString());
        }
    }

    private void discardStaged(final StoreEntry entry)
    {
        try
        {
            l2.discardStaged(entry.key(), entry.version());
        }
        catch (final IOException e)
        {
            LOG.warn("could not remove the staged L2 version of {}: {}", entry, e.toString());
        }
    }

    /** Deletes a key that exists only in L2 (after a restart, before anyone read it). */
    public boolean deleteFromL2(final String key)
    {
        if (l2 == null)
        {
            return false;
        }
        try
        {
            return l2.delete(key);
        }
        catch (final IOException e)
        {
            throw new DsException(StatusCode.IO_ERROR, "deleting " + key + " from L2 failed: " + e.getMessage());
        }
    }

    void dropMemory(final StoreEntry entry)
    {
        final StoredObject memory = entry.memory;
        if (entry.node != null)
        {
            policy.remove(entry.node);
            entry.node = null;
        }
        if (memory != null)
        {
            entry.memory = null;
            memory.release();
        }
    }

    // ------------------------------------------------------------------ reads

    /**
     * The entry's bytes, retained for the caller: from memory, or reloaded from spill or L2 into the pool (or, if the
     * pool has no room, into a transient buffer). Null when the entry was removed meanwhile.
     */
    public Value read(final StoreEntry entry)
    {
        final StoredObject hot = entry.memory;
        if (hot != null && hot.tryRetain())
        {
            final EvictionPolicy.Node<StoreEntry> node = entry.node;
            if (node != null)
            {
                node.touch();
            }
            stats.memoryHits.increment();
            return hot;
        }
        final ReentrantLock lock = stripe(entry);
        lock.lock();
        try
        {
            if (entry.removed())
            {
                return null;
            }
            final StoredObject memory = entry.memory;
            if (memory != null && memory.tryRetain())
            {
                stats.memoryHits.increment();
                return memory;
            }
            if (entry.spill != null)
            {
                stats.spillHits.increment();
                final Value value = reload(entry, target -> spill.readInto(entry.spill, target));
                if (entry.memory != null && !entry.immutable())
                {
                    // an unsealed object can be written in place: the spill copy would go stale, so the pool copy
                    // becomes the only one (and is spilled afresh if it is evicted again)
                    spill.delete(entry.spill);
                    entry.spill = null;
                }
                return value;
            }
            if (entry.l2() == StoreEntry.L2State.STORED && l2 != null)
            {
                stats.l2Hits.increment();
                return reload(entry, target -> readFromL2(entry, target));
            }
            LOG.warn("{} has no copy in any tier", entry);
            return null;
        }
        catch (final IOException e)
        {
            throw new DsException(StatusCode.IO_ERROR, "reading " + entry.key() + " back from disk failed: "
                + e.getMessage());
        }
        finally
        {
            lock.unlock();
        }
    }

    @FunctionalInterface
    private interface Loader
    {
        void load(MemorySegment target) throws IOException;
    }

    /** Called under the entry's lock: into the pool if it fits (evicting others), else into a transient buffer. */
    private Value reload(final StoreEntry entry, final Loader loader) throws IOException
    {
        StoredObject object = null;
        try
        {
            object = allocate(entry.size());
        }
        catch (final DsException full)
        {
            stats.servedFromDisk.increment();
            final TransientValue value = new TransientValue(entry.size());
            try
            {
                loader.load(value.data());
            }
            catch (final IOException | RuntimeException e)
            {
                value.release();
                throw e;
            }
            return value;
        }
        try
        {
            loader.load(object.data());
        }
        catch (final IOException | RuntimeException e)
        {
            object.release();
            throw e;
        }
        object.markPublished(entry.version());
        entry.memory = object;
        object.tryRetain(); // the caller's reference; the entry keeps the allocation's first one
        entry.node = policy.admit(entry, entry.size());
        return object;
    }

    private void readFromL2(final StoreEntry entry, final MemorySegment target) throws IOException
    {
        try (L2Cache.L2Record record = l2.get(entry.key(), entry.version()))
        {
            if (record == null || record.size() != entry.size())
            {
                throw new IOException("L2 no longer holds version " + entry.version() + " of " + entry.key());
            }
            record.readInto(target);
        }
    }

    /**
     * The L2 fallback of a get that found no entry: a record in L2 (written before a restart, or by another worker)
     * becomes an entry again. Null when L2 has nothing for the key, or fallback is off.
     */
    public StoreEntry loadFromL2(final String key)
    {
        return loadFromL2(key, -1);
    }

    /**
     * As {@link #loadFromL2(String)}, of exactly {@code version} (-1: whatever the key's record holds): the key's
     * record, or a staged version its writer left when the owner did not answer it.
     */
    public StoreEntry loadFromL2(final String key, final long version)
    {
        if (!l2Fallback)
        {
            return null;
        }
        try (L2Cache.L2Record record = version < 0 ? l2.get(key) : l2.get(key, version))
        {
            if (record == null)
            {
                return null;
            }
            final long remainingMs = record.expiresAtMs() == 0 ? 0 : record.expiresAtMs() - System.currentTimeMillis();
            if (record.expiresAtMs() != 0 && remainingMs <= 0)
            {
                return null;
            }
            final StoredObject object = allocate(record.size());
            try
            {
                record.readInto(object.data());
            }
            catch (final IOException | RuntimeException e)
            {
                object.release();
                throw e;
            }
            object.markPublished(record.version());
            final StoreEntry entry = new StoreEntry(key, record.version(), WriteMode.WRITE_THROUGH_L2_CACHE,
                record.size(), record.expiresAtMs(), false);
            entry.memory = object;
            entry.l2(StoreEntry.L2State.STORED);
            stats.l2Hits.increment();
            return entry;
        }
        catch (final IOException e)
        {
            throw new DsException(StatusCode.IO_ERROR, "reading " + key + " from L2 (" + l2.describe()
                + ") failed: " + e.getMessage());
        }
    }

    /**
     * A durable entry's TTL changed: its L2 record carries the expiry too, so that a restart does not bring back
     * the old one. Rewritten from memory (reloaded if needed); the record keeps its version.
     */
    public void expiryChanged(final StoreEntry entry)
    {
        if (l2 == null || entry.l2() != StoreEntry.L2State.STORED)
        {
            return;
        }
        final Value value = read(entry);
        if (value == null)
        {
            return;
        }
        try
        {
            l2.put(entry.key(), entry.version(), entry.expiresAtMs(), value.data());
        }
        catch (final IOException e)
        {
            throw new DsException(StatusCode.IO_ERROR, "updating the TTL of " + entry.key() + " in L2 failed: "
                + e.getMessage());
        }
        finally
        {
            value.release();
        }
    }

    /** Whether L2 holds a live record of the key (exist() of a key not loaded since a restart). */
    public boolean existsInL2(final String key)
    {
        if (!l2Fallback)
        {
            return false;
        }
        try (L2Cache.L2Record record = l2.get(key))
        {
            return record != null;
        }
        catch (final IOException e)
        {
            return false;
        }
    }

    @Override
    public void close()
    {
        evictor.close();
        if (writeBack != null)
        {
            writeBack.close();
        }
        if (l2 != null)
        {
            l2.close();
        }
        if (spill != null)
        {
            try
            {
                spill.close();
            }
            catch (final Exception e)
            {
                LOG.warn("closing the spill tier: {}", e.toString());
            }
        }
    }
}
