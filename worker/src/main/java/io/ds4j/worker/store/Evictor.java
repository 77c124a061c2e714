package io.ds4j.worker.store;

import io.ds4j.common.WriteMode;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.common.DsException;
import io.ds4j.worker.eviction.EvictionPolicy;
import io.ds4j.worker.store.spill.SpillHandle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;

/**
 * The evictor of a {@link TieredStore}: a background thread from the high watermark down to the low one, and the
 * synchronous path an allocation takes when the pool is full. For each candidate the eviction policy offers that no
 * view, latch or queued write-back holds, it does what the upstream's action table says (spec §3.6, {@link #decide}).
 * It only ever {@code tryLock}s an entry's stripe, so a reload that must evict to make room cannot deadlock with it.
 */
final class Evictor implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Evictor.class);

    private final TieredStore store;
    private final long highWatermarkBytes;
    private final long lowWatermarkBytes;
    private final ReentrantLock evictorLock = new ReentrantLock();
    private final Condition evictorWake = evictorLock.newCondition();
    private final Thread thread;
    private volatile Predicate<StoreEntry> endLife = entry -> false;
    private volatile boolean closed;

    Evictor(final TieredStore store, final long highWatermarkBytes, final long lowWatermarkBytes)
    {
        this.store = store;
        this.highWatermarkBytes = highWatermarkBytes;
        this.lowWatermarkBytes = lowWatermarkBytes;
        thread = Thread.ofPlatform().daemon().name("ds4j-evictor").start(this::evictLoop);
    }

    /** How an entry whose life the evictor ends stops being this node's copy (see TieredStore#onEvicted). */
    void onEvicted(final Predicate<StoreEntry> remover)
    {
        this.endLife = remover;
    }

    /** What the evictor does with one candidate (spec §3.6, first match wins). */
    enum Action
    {
        /** A copy exists in spill or L2: only the memory copy goes. */
        FREE_MEMORY,
        /** Write it to the spill tier, then free the memory copy. */
        SPILL,
        /** A droppable object: the key ends. */
        END_LIFE,
        /** Nowhere to go: keep it. */
        RETAIN
    }

    /** Evicts candidates one by one until {@code size} fits; null when every candidate had to stay. */
    StoredObject evictUntilFits(final long size)
    {
        final long limit = store.policy().size() + 1L;
        for (long attempts = 0; attempts < limit; attempts++)
        {
            if (evictOne() == null)
            {
                return null;
            }
            try
            {
                return store.pool().allocate(size, 0);
            }
            catch (final DsException e)
            {
                // still no run large enough: evict the next one
            }
        }
        return null;
    }

    void wake()
    {
        if (evictorLock.tryLock())
        {
            try
            {
                evictorWake.signal();
            }
            finally
            {
                evictorLock.unlock();
            }
        }
    }

    /** The background evictor: from the high watermark down to the low one. */
    private void evictLoop()
    {
        while (!closed)
        {
            evictorLock.lock();
            try
            {
                evictorWake.await(1, java.util.concurrent.TimeUnit.SECONDS);
            }
            catch (final InterruptedException e)
            {
                return;
            }
            finally
            {
                evictorLock.unlock();
            }
            if (store.pool().used() <= highWatermarkBytes)
            {
                continue;
            }
            final long limit = store.policy().size() + 1L;
            for (long i = 0; i < limit && store.pool().used() > lowWatermarkBytes && !closed; i++)
            {
                if (evictOne() == null)
                {
                    break;
                }
            }
        }
    }

    /**
     * Considers the policy's next candidate and does what the action table says. Returns what was done (RETAIN when
     * it stayed), or null when the policy has no candidate left.
     */
    Action evictOne()
    {
        final EvictionPolicy.Node<StoreEntry> node = store.policy().nextCandidate();
        if (node == null)
        {
            return null;
        }
        final StoreEntry entry = node.item();
        final ReentrantLock lock = store.stripe(entry);
        if (!lock.tryLock())
        {
            store.policy().skip(node);
            return Action.RETAIN;
        }
        try
        {
            final StoredObject memory = entry.memory;
            if (entry.removed() || memory == null || entry.node != node)
            {
                store.policy().remove(node);
                return Action.FREE_MEMORY;
            }
            if (inUse(memory))
            {
                store.policy().skip(node);
                return Action.RETAIN;
            }
            Action action = decide(entry);
            if (action == Action.SPILL)
            {
                action = spillOut(entry, memory);
            }
            switch (action)
            {
                case FREE_MEMORY ->
                {
                    if (inUse(memory))
                    {
                        store.policy().skip(node);
                        return Action.RETAIN;
                    }
                    store.dropMemory(entry);
                    store.stats().freedMemory.increment();
                }
                case END_LIFE ->
                {
                    // the removal listener takes this stripe again: it is reentrant, and held by this thread
                    if (endLife.test(entry))
                    {
                        store.stats().dropped.increment();
                    }
                    else
                    {
                        store.policy().remove(node);
                    }
                }
                default -> store.policy().skip(node);
            }
            return action;
        }
        catch (final RuntimeException e)
        {
            LOG.warn("evicting {} failed: {}", entry, e.toString());
            store.policy().skip(node);
            return Action.RETAIN;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** A view, a copy in flight, a queued write-back or a latch holds it: it must stay in memory. */
    private boolean inUse(final StoredObject memory)
    {
        return memory.references() > 1 || ObjectHeader.latchWord(memory.pool().segment(), memory.headerOffset()) != 0;
    }

    /** Spec §3.6's action table for a resident, unpinned candidate (first match wins). */
    Action decide(final StoreEntry entry)
    {
        if (entry.replica())
        {
            return Action.END_LIFE; // not the primary copy: only this node's copy goes, the primary keeps the key
        }
        if (entry.spill != null)
        {
            return Action.FREE_MEMORY;
        }
        final boolean spillHasRoom = store.spillStore() != null && !store.spillStore().nearlyFull();
        if (spillHasRoom)
        {
            return Action.SPILL;
        }
        if (entry.l2() == StoreEntry.L2State.STORED)
        {
            return Action.FREE_MEMORY;
        }
        // no spill, or spill nearly full: a droppable value goes; the upstream's table retains it when spill exists
        // but is full, which would pin the pool full of values their writers said may be dropped
        if (entry.writeMode() == WriteMode.NONE_L2_CACHE_EVICT)
        {
            return Action.END_LIFE;
        }
        if (entry.writeMode() == WriteMode.WRITE_BACK_L2_CACHE_EVICT && store.l2() == null)
        {
            return Action.END_LIFE;
        }
        return Action.RETAIN;
    }

    /** Writes the value to spill; what to do next if spill has no room after all. */
    private Action spillOut(final StoreEntry entry, final StoredObject memory)
    {
        final SpillHandle handle;
        try
        {
            handle = store.spillStore().write(entry.key(), entry.version(), memory.data());
        }
        catch (final IOException e)
        {
            LOG.warn("spilling {} failed: {}", entry, e.toString());
            return Action.RETAIN;
        }
        if (handle == null)
        {
            if (entry.l2() == StoreEntry.L2State.STORED)
            {
                return Action.FREE_MEMORY;
            }
            return entry.writeMode() == WriteMode.NONE_L2_CACHE_EVICT ? Action.END_LIFE : Action.RETAIN;
        }
        entry.spill = handle;
        store.stats().spilled.increment();
        return Action.FREE_MEMORY;
    }

    @Override
    public void close()
    {
        closed = true;
        thread.interrupt();
    }
}
