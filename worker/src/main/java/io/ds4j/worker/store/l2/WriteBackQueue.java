package io.ds4j.worker.store.l2;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The WRITE_BACK path to L2 (spec §1.2, §3.6): a set hands its value here and returns; one flusher thread writes the
 * queued values to L2 in arrival order. The queue is bounded ({@code l2_cache_async_write_queue_size}: a full queue
 * refuses, and the caller answers WRITE_BACK_QUEUE_FULL) because every queued item pins its value's memory. Writes
 * are rate-limited ({@code l2_cache_async_write_rate_limit_mb}) so that flushing does not starve the foreground's
 * WRITE_THROUGH writes and reads of the shared filesystem.
 *
 * <p>The limiter is a token bucket holding a quarter second of the rate. An item is charged its size before it is
 * written; when that drives the bucket negative the flusher waits until the debt is repaid, so an item larger than
 * the bucket still goes through, after a wait proportional to its size.
 *
 * <p>A failed put is retried after 100, 200 and 400 ms; the fourth failure ends the item with
 * {@code done(false, failure)}. Every accepted item gets exactly one {@link Item#done} call, from the flusher (or
 * from {@link #close()} for items it abandons), and is counted in {@link #depth()} until that call has returned.
 */
public final class WriteBackQueue implements AutoCloseable
{
    /** Retries after the first failed put. */
    static final int MAX_RETRIES = 3;

    private static final Logger LOG = LoggerFactory.getLogger(WriteBackQueue.class);
    private static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofMillis(100);
    private static final Duration DEFAULT_CLOSE_DRAIN = Duration.ofSeconds(5);
    /** The bucket holds this many seconds of the rate: enough to absorb bursts of small items. */
    private static final double BURST_SECONDS = 0.25;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    /**
     * One value waiting to be written. Its {@link #data()} is read from the flusher thread, so it must not be
     * confined to the offering thread, and must stay valid until {@link #done} is called.
     */
    public interface Item
    {
        String key();

        long version();

        /** Epoch ms at which the key expires, 0 for never. */
        long expiresAtMs();

        MemorySegment data();

        /**
         * Called once when the item leaves the queue: written (L2 now holds this version or a newer one), or not,
         * with the last put failure, or null when the queue closed before writing it. The caller releases the
         * data's memory here and records whether the key is in L2. Called on the flusher thread; must not block.
         */
        void done(boolean written, IOException failure);
    }

    /** An accepted item and its size, fixed at offer time so the byte count cannot drift. */
    private record Entry(Item item, long bytes)
    {
    }

    private final L2Cache l2;
    private final int capacity;
    private final long bytesPerSecond;
    private final double burstBytes;
    private final Duration retryBackoff;
    private final Duration closeDrain;
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled on offer and on stop: wakes the flusher. */
    private final Condition wake = lock.newCondition();
    /** Signalled when an item is done: wakes drain. */
    private final Condition settled = lock.newCondition();
    private final ArrayDeque<Entry> waiting = new ArrayDeque<>();
    private final Thread flusher;
    // Guarded by lock.
    private int pending;
    private long pendingBytes;
    private long written;
    private long failed;
    private boolean closed;
    private boolean stopping;
    // Flusher-thread only.
    private double tokens;
    private long refilledAtNanos;

    /**
     * Starts the flusher.
     *
     * @param capacity most items accepted and not yet done (waiting or being written)
     * @param bytesPerSecond the write rate limit; 0 or less for none
     */
    public WriteBackQueue(final L2Cache l2, final int capacity, final long bytesPerSecond)
    {
        this(l2, capacity, bytesPerSecond, DEFAULT_RETRY_BACKOFF, DEFAULT_CLOSE_DRAIN);
    }

    /** As the public constructor, with the first retry's backoff and close's drain time (tests). */
    WriteBackQueue(final L2Cache l2, final int capacity, final long bytesPerSecond, final Duration retryBackoff,
        final Duration closeDrain)
    {
        if (capacity < 1)
        {
            throw new IllegalArgumentException("the write-back queue capacity must be at least 1, not " + capacity);
        }
        this.l2 = Objects.requireNonNull(l2, "l2");
        this.capacity = capacity;
        this.bytesPerSecond = bytesPerSecond;
        this.burstBytes = Math.max(1.0, bytesPerSecond * BURST_SECONDS);
        this.retryBackoff = Objects.requireNonNull(retryBackoff, "retryBackoff");
        this.closeDrain = Objects.requireNonNull(closeDrain, "closeDrain");
        this.tokens = burstBytes;
        this.refilledAtNanos = System.nanoTime();
        // A platform thread: it spends its time in blocking file I/O and fsync, which pin a virtual thread anyway.
        this.flusher = Thread.ofPlatform().daemon().name("ds4j-l2-writeback").unstarted(this::runFlusher);
        flusher.start();
    }

    /**
     * Queues {@code item}; false when {@code capacity} items are already pending, or the queue is closed. On false
     * the item is not the queue's: {@link Item#done} is not called.
     */
    public boolean offer(final Item item)
    {
        Objects.requireNonNull(item, "item");
        final long bytes = item.data().byteSize();
        lock.lock();
        try
        {
            if (closed || pending >= capacity)
            {
                return false;
            }
            waiting.addLast(new Entry(item, bytes));
            pending++;
            pendingBytes += bytes;
            wake.signal();
            return true;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Items accepted and not yet done: waiting, plus the one being written. */
    public int depth()
    {
        lock.lock();
        try
        {
            return pending;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Value bytes of the items counted by {@link #depth()}: memory the queue keeps from being reclaimed. */
    public long bytesQueued()
    {
        lock.lock();
        try
        {
            return pendingBytes;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Items written to L2 since the queue started. */
    public long written()
    {
        lock.lock();
        try
        {
            return written;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Items that ended without being written: put failures after retries, and items abandoned by close. */
    public long failed()
    {
        lock.lock();
        try
        {
            return failed;
        }
        finally
        {
            lock.unlock();
        }
    }

    /**
     * Waits until every accepted item is done, or {@code timeout} passes. Items offered meanwhile are waited for too.
     *
     * @return true when the queue is empty
     */
    public boolean drain(final Duration timeout)
    {
        long remaining = timeout.toNanos();
        lock.lock();
        try
        {
            while (pending > 0)
            {
                if (remaining <= 0)
                {
                    return false;
                }
                remaining = settled.awaitNanos(remaining);
            }
            return true;
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return pending == 0;
        }
        finally
        {
            lock.unlock();
        }
    }

    /**
     * Refuses new items, lets the flusher work for up to 5 s, then stops it and ends the items still waiting with
     * {@code done(false, null)}. A put in progress is not interrupted (an interrupt would close its channel halfway);
     * close waits a further 5 s for it before giving up on the thread.
     */
    @Override
    public void close()
    {
        lock.lock();
        try
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        finally
        {
            lock.unlock();
        }
        if (!drain(closeDrain))
        {
            LOG.warn("write-back queue still holds {} item(s) after {} ms; abandoning those not yet written",
                depth(), closeDrain.toMillis());
        }
        final List<Entry> abandoned = new ArrayList<>();
        lock.lock();
        try
        {
            stopping = true;
            abandoned.addAll(waiting);
            waiting.clear();
            wake.signalAll();
        }
        finally
        {
            lock.unlock();
        }
        for (final Entry entry : abandoned)
        {
            finish(entry, false, null);
        }
        try
        {
            flusher.join(closeDrain);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        if (flusher.isAlive())
        {
            LOG.warn("the write-back flusher is still inside an L2 put; leaving it to finish on its own");
        }
    }

    private void runFlusher()
    {
        while (true)
        {
            final Entry entry = next();
            if (entry == null)
            {
                return;
            }
            try
            {
                if (!throttle(entry.bytes()))
                {
                    finish(entry, false, null);
                    continue;
                }
                write(entry);
            }
            catch (final RuntimeException | Error e)
            {
                // Never let one bad item kill the thread that every later item depends on.
                LOG.error("write-back of key {} failed unexpectedly", entry.item().key(), e);
                finish(entry, false, new IOException("unexpected failure: " + e, e));
            }
        }
    }

    /** The oldest waiting entry, or null once stopping. */
    private Entry next()
    {
        lock.lock();
        try
        {
            while (waiting.isEmpty() && !stopping)
            {
                wake.awaitUninterruptibly();
            }
            return stopping ? null : waiting.pollFirst();
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Charges {@code bytes} to the bucket and waits off any debt; false when the queue stopped meanwhile. */
    private boolean throttle(final long bytes)
    {
        if (bytesPerSecond <= 0)
        {
            return true;
        }
        final long now = System.nanoTime();
        tokens = Math.min(burstBytes, tokens + (now - refilledAtNanos) * (double) bytesPerSecond / NANOS_PER_SECOND);
        refilledAtNanos = now;
        tokens -= bytes;
        if (tokens >= 0)
        {
            return true;
        }
        final long debtNanos = (long) Math.ceil(-tokens * NANOS_PER_SECOND / bytesPerSecond);
        return pause(debtNanos);
    }

    private void write(final Entry entry)
    {
        final Item item = entry.item();
        IOException failure = null;
        for (int attempt = 0; attempt <= MAX_RETRIES; attempt++)
        {
            if (attempt > 0 && !pause(retryBackoff.toNanos() << (attempt - 1)))
            {
                break;
            }
            try
            {
                l2.put(item.key(), item.version(), item.expiresAtMs(), item.data());
                finish(entry, true, null);
                return;
            }
            catch (final IOException e)
            {
                failure = e;
                LOG.debug("write-back of key {} failed (attempt {} of {}): {}", item.key(), attempt + 1,
                    MAX_RETRIES + 1, e.toString());
            }
            catch (final RuntimeException e)
            {
                // A bad argument or a closed L2: retrying cannot help.
                failure = new IOException("L2 put failed: " + e, e);
                break;
            }
        }
        LOG.warn("write-back of key {} version {} to {} failed, giving up: {}", item.key(), item.version(),
            l2.describe(), failure == null ? "the queue closed" : failure.toString());
        finish(entry, false, failure);
    }

    /** Sleeps for {@code nanos} unless the queue stops first; false when it did. */
    private boolean pause(final long nanos)
    {
        final long deadline = System.nanoTime() + nanos;
        lock.lock();
        try
        {
            // Offers signal the same condition, so wake-ups before the deadline are normal: keep waiting.
            long remaining = nanos;
            while (!stopping && remaining > 0)
            {
                wake.awaitNanos(remaining);
                remaining = deadline - System.nanoTime();
            }
            return !stopping;
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return false;
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Ends an entry: its done callback first, so that a drain that returns has seen every callback run. */
    private void finish(final Entry entry, final boolean wasWritten, final IOException failure)
    {
        try
        {
            entry.item().done(wasWritten, failure);
        }
        catch (final RuntimeException | Error e)
        {
            // Still count the entry below, or drain would wait for it forever.
            LOG.error("the done callback of write-back key {} failed", entry.item().key(), e);
        }
        lock.lock();
        try
        {
            pending--;
            pendingBytes -= entry.bytes();
            if (wasWritten)
            {
                written++;
            }
            else
            {
                failed++;
            }
            settled.signalAll();
        }
        finally
        {
            lock.unlock();
        }
    }
}
