package io.ds4j.worker.meta;

import io.ds4j.common.ExistenceOpt;
import io.ds4j.worker.store.StoreEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The metadata owner of a standalone worker: every key, in one concurrent map. Expiry runs on its own thread so a
 * key with a TTL disappears, and its memory returns, even if nobody reads it again.
 */
public final class LocalMetadataOwner implements MetadataOwner
{
    private static final Logger LOG = LoggerFactory.getLogger(LocalMetadataOwner.class);

    private final ConcurrentHashMap<String, StoreEntry> entries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, List<Waiter>> waiters = new ConcurrentHashMap<>();
    private final DelayQueue<Expiry> expiries = new DelayQueue<>();
    private final AtomicLong lastVersion = new AtomicLong();
    private final RemovalListener listener;
    private final Thread expiryThread;
    private volatile boolean closed;

    public LocalMetadataOwner(final RemovalListener listener)
    {
        this.listener = listener;
        expiryThread = Thread.ofPlatform().daemon().name("ds4j-expiry").start(this::expireLoop);
    }

    @Override
    public long nextVersion()
    {
        final long now = System.currentTimeMillis() * 1000;
        return lastVersion.accumulateAndGet(now, (previous, candidate) -> Math.max(previous + 1, candidate));
    }

    @Override
    public PublishResult publish(final StoreEntry entry, final ExistenceOpt existence)
    {
        final StoreEntry[] replaced = new StoreEntry[1];
        final boolean[] kept = new boolean[1];
        entries.compute(entry.key(), (k, current) ->
        {
            if (current != null && existence == ExistenceOpt.NX && !current.isExpired(System.currentTimeMillis()))
            {
                kept[0] = true;
                return current;
            }
            replaced[0] = current;
            return entry;
        });
        if (kept[0])
        {
            return PublishResult.KEPT_EXISTING;
        }
        if (replaced[0] != null)
        {
            listener.removed(replaced[0], Removal.REPLACED, entry);
        }
        schedule(entry);
        wake(entry.key());
        return replaced[0] == null ? PublishResult.CREATED : PublishResult.PUBLISHED;
    }

    private void schedule(final StoreEntry entry)
    {
        final long at = entry.expiresAtMs();
        if (at > 0)
        {
            expiries.add(new Expiry(entry, at));
        }
    }

    @Override
    public StoreEntry lookup(final String key)
    {
        final StoreEntry entry = entries.get(key);
        return entry == null || entry.isExpired(System.currentTimeMillis()) ? null : entry;
    }

    @Override
    public StoreEntry[] await(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        final StoreEntry[] found = new StoreEntry[keys.size()];
        int missing = fill(keys, found);
        if (missing == 0 || subTimeoutMs <= 0)
        {
            return found;
        }
        final Waiter waiter = new Waiter();
        for (int i = 0; i < found.length; i++)
        {
            if (found[i] == null)
            {
                waiters.compute(keys.get(i), (k, list) ->
                {
                    final List<Waiter> registered = list == null ? new CopyOnWriteArrayList<>() : list;
                    registered.add(waiter);
                    return registered;
                });
            }
        }
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(subTimeoutMs);
        try
        {
            // re-check after registering, so a publish between the first look and the registration is not missed
            missing = fill(keys, found);
            while (missing > 0)
            {
                final long left = deadline - System.nanoTime();
                if (left <= 0 || !waiter.await(left))
                {
                    fill(keys, found);
                    break;
                }
                missing = fill(keys, found);
            }
        }
        finally
        {
            for (final String key : keys)
            {
                waiters.computeIfPresent(key, (k, list) ->
                {
                    list.remove(waiter);
                    return list.isEmpty() ? null : list;
                });
            }
        }
        return found;
    }

    /** Fills the keys still missing in {@code found}; returns how many remain missing. */
    private int fill(final List<String> keys, final StoreEntry[] found)
    {
        int missing = 0;
        for (int i = 0; i < found.length; i++)
        {
            if (found[i] == null)
            {
                found[i] = lookup(keys.get(i));
                if (found[i] == null)
                {
                    missing++;
                }
            }
        }
        return missing;
    }

    private void wake(final String key)
    {
        final List<Waiter> list = waiters.get(key);
        if (list != null)
        {
            for (final Waiter waiter : list)
            {
                waiter.signal();
            }
        }
    }

    @Override
    public boolean delete(final String key)
    {
        final StoreEntry removed = entries.remove(key);
        if (removed == null)
        {
            return false;
        }
        listener.removed(removed, Removal.DELETED, null);
        return !removed.isExpired(System.currentTimeMillis());
    }

    @Override
    public boolean removeIfCurrent(final StoreEntry entry, final Removal why)
    {
        if (entries.remove(entry.key(), entry))
        {
            listener.removed(entry, why, null);
            return true;
        }
        return false;
    }

    @Override
    public boolean expire(final String key, final int ttlSecond)
    {
        final StoreEntry entry = lookup(key);
        if (entry == null)
        {
            return false;
        }
        entry.expiresAtMs(ttlSecond > 0 ? System.currentTimeMillis() + ttlSecond * 1000L : 0);
        schedule(entry);
        return entries.get(key) == entry;
    }

    @Override
    public boolean exists(final String key)
    {
        return lookup(key) != null;
    }

    @Override
    public int size()
    {
        return entries.size();
    }

    private void expireLoop()
    {
        while (!closed)
        {
            try
            {
                final Expiry due = expiries.take();
                // a later expire() or overwrite made this record stale: only the record matching the entry acts
                if (due.entry.expiresAtMs() == due.atMs && removeIfCurrent(due.entry, Removal.EXPIRED))
                {
                    LOG.debug("key {} expired", due.entry.key());
                }
            }
            catch (final InterruptedException e)
            {
                return;
            }
            catch (final RuntimeException e)
            {
                LOG.error("expiry failed", e);
            }
        }
    }

    @Override
    public void close()
    {
        closed = true;
        expiryThread.interrupt();
    }

    /** One scheduled expiry; stale ones (the entry's expiry changed since) are ignored when they fire. */
    private static final class Expiry implements Delayed
    {
        final StoreEntry entry;
        final long atMs;

        Expiry(final StoreEntry entry, final long atMs)
        {
            this.entry = entry;
            this.atMs = atMs;
        }

        @Override
        public long getDelay(final TimeUnit unit)
        {
            return unit.convert(atMs - System.currentTimeMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public int compareTo(final Delayed other)
        {
            return Long.compare(atMs, ((Expiry) other).atMs);
        }
    }

    /** A get blocked on missing keys; woken by any publish of one of them, then it re-checks all. */
    private static final class Waiter
    {
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition changed = lock.newCondition();
        private boolean signalled;

        void signal()
        {
            lock.lock();
            try
            {
                signalled = true;
                changed.signalAll();
            }
            finally
            {
                lock.unlock();
            }
        }

        boolean await(final long nanos) throws InterruptedException
        {
            lock.lock();
            try
            {
                long left = nanos;
                while (!signalled && left > 0)
                {
                    left = changed.awaitNanos(left);
                }
                final boolean woke = signalled;
                signalled = false;
                return woke;
            }
            finally
            {
                lock.unlock();
            }
        }
    }
}
