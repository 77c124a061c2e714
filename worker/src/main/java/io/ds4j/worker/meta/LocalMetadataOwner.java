package io.ds4j.worker.meta;

import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.store.StoredObject;
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

    private final ConcurrentHashMap<String, ObjectEntry> entries = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, List<Waiter>> waiters = new ConcurrentHashMap<>();
    private final DelayQueue<Expiry> expiries = new DelayQueue<>();
    private final AtomicLong lastVersion = new AtomicLong();
    private final Thread expiryThread;
    private volatile boolean closed;

    public LocalMetadataOwner()
    {
        expiryThread = Thread.ofPlatform().daemon().name("ds4j-expiry").start(this::expireLoop);
    }

    @Override
    public long nextVersion()
    {
        final long now = System.currentTimeMillis() * 1000;
        return lastVersion.accumulateAndGet(now, (previous, candidate) -> Math.max(previous + 1, candidate));
    }

    @Override
    public PublishResult publish(final String key, final StoredObject object, final WriteMode writeMode,
        final int ttlSecond, final ExistenceOpt existence)
    {
        final long version = object.version();
        final long expiresAt = ttlSecond > 0 ? System.currentTimeMillis() + ttlSecond * 1000L : 0;
        final ObjectEntry fresh = new ObjectEntry(key, object, version, writeMode, expiresAt);
        final ObjectEntry[] replaced = new ObjectEntry[1];
        final boolean[] kept = new boolean[1];
        entries.compute(key, (k, current) ->
        {
            if (current != null && existence == ExistenceOpt.NX && !isExpired(current, System.currentTimeMillis()))
            {
                kept[0] = true;
                return current;
            }
            replaced[0] = current;
            return fresh;
        });
        if (kept[0])
        {
            return PublishResult.KEPT_EXISTING;
        }
        if (replaced[0] != null)
        {
            replaced[0].object.release();
        }
        if (expiresAt > 0)
        {
            expiries.add(new Expiry(fresh, expiresAt));
        }
        wake(key);
        return PublishResult.PUBLISHED;
    }

    @Override
    public StoredObject[] acquire(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        final StoredObject[] found = new StoredObject[keys.size()];
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
        boolean completed = false;
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
            completed = true;
        }
        finally
        {
            if (!completed)
            {
                // interrupted (the worker is stopping): hand back what was already retained
                for (final StoredObject object : found)
                {
                    if (object != null)
                    {
                        object.release();
                    }
                }
            }
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

    /** Retains the objects of the keys still missing in {@code found}; returns how many remain missing. */
    private int fill(final List<String> keys, final StoredObject[] found)
    {
        int missing = 0;
        final long now = System.currentTimeMillis();
        for (int i = 0; i < found.length; i++)
        {
            if (found[i] != null)
            {
                continue;
            }
            final ObjectEntry entry = entries.get(keys.get(i));
            if (entry != null && !isExpired(entry, now) && entry.object.tryRetain())
            {
                found[i] = entry.object;
            }
            else
            {
                missing++;
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
        final ObjectEntry removed = entries.remove(key);
        if (removed == null)
        {
            return false;
        }
        removed.object.release();
        return true;
    }

    @Override
    public boolean expire(final String key, final int ttlSecond)
    {
        final ObjectEntry entry = entries.get(key);
        if (entry == null || isExpired(entry, System.currentTimeMillis()))
        {
            return false;
        }
        final long expiresAt = ttlSecond > 0 ? System.currentTimeMillis() + ttlSecond * 1000L : 0;
        entry.expiresAtMs = expiresAt;
        if (expiresAt > 0)
        {
            expiries.add(new Expiry(entry, expiresAt));
        }
        return entries.get(key) == entry;
    }

    @Override
    public boolean exists(final String key)
    {
        final ObjectEntry entry = entries.get(key);
        return entry != null && !isExpired(entry, System.currentTimeMillis());
    }

    /** True once the TTL passed, even before the expiry thread removed the key: nobody sees it any more. */
    private static boolean isExpired(final ObjectEntry entry, final long nowMs)
    {
        final long expiresAt = entry.expiresAtMs;
        return expiresAt != 0 && expiresAt <= nowMs;
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
                final ObjectEntry entry = due.entry;
                // a later expire() or overwrite made this record stale: only the record matching the entry acts
                if (entry.expiresAtMs == due.atMs && entries.remove(entry.key, entry))
                {
                    entry.object.release();
                    LOG.debug("key {} expired", entry.key);
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
        final ObjectEntry entry;
        final long atMs;

        Expiry(final ObjectEntry entry, final long atMs)
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
