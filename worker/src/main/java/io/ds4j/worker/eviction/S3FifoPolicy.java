package io.ds4j.worker.eviction;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.ToIntFunction;

/**
 * S3-FIFO (J. Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023), weighted by bytes.
 *
 * <pre>
 *  admit ─┬─ not in ghost ──► small FIFO (10%) ── tail, hits &lt; threshold ──► candidate ──remove──► ghost
 *         │                        │ tail, hits &ge; threshold                      (fingerprints and bytes)
 *         │ in ghost               ▼
 *         └────────────────► main FIFO (90%) ──── tail, freq = 0 ──► candidate
 *                              ▲          │ tail, freq &gt; 0: back to the head with freq - 1
 *                              └──────────┘ skip(): back to the head
 * </pre>
 *
 * <p>Why it beats LRU on skewed traces: most objects of a Zipf trace are requested once in a long while. LRU lets
 * each of them travel the whole queue, pushing out warm objects; S3-FIFO keeps newcomers in a small probationary
 * queue and drops them from there unless they were hit, while objects hit again (or coming back soon after being
 * dropped, found in the ghost) live in the main queue, where a 2-bit counter gives them up to three more rounds.
 *
 * <p>Why it suits the worker: {@link Node#touch()} is a read and, until the counter reaches 3, one plain store to the
 * node; a hot object costs a read only, so hits from many cores share no written cache line (LRU's clock is one).
 *
 * <p>Keys: the contract's {@code admit} has no key, so the ghost recognises a returning object by a 32-bit
 * fingerprint of the item, by default its {@code hashCode()}. Items must therefore hash by their key (a String,
 * a record of the key); pass a fingerprint function for items with identity hashing, e.g. {@code
 * new S3FifoPolicy<StoreEntry>(e -> e.key().hashCode())}. With identity hashes the ghost never hits and the policy
 * degrades to a two-queue FIFO, still scan-resistant.
 *
 * <p>The queue shares are of the pool's capacity when given, else of the bytes tracked at the time: the policy only
 * matters when the pool is full, and then the two are close (the evictor works between the watermarks).
 *
 * <p>Nodes: an item that extends {@link Links} is its own node, so tracking it allocates nothing (the worker's
 * {@code StoreEntry} does: one object per key instead of an entry and a node); any other item is wrapped in a small
 * node of the policy's own.
 *
 * @param <T> the tracked item
 */
public final class S3FifoPolicy<T> implements EvictionPolicy<T>
{
    /** Cap of the per-node counter: 2 bits, as in the paper. */
    static final int MAX_FREQ = 3;

    private static final VarHandle FREQ;
    private static final byte NONE = 0;
    private static final byte SMALL = 1;
    private static final byte MAIN = 2;
    /** The queue bits of {@link Links#place}. */
    private static final byte QUEUE = 3;
    /** Offered by nextCandidate and not skipped since: a remove() now is an eviction. */
    private static final byte CANDIDATE = 4;

    static
    {
        try
        {
            FREQ = MethodHandles.lookup().findVarHandle(Links.class, "freq", byte.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ToIntFunction<? super T> fingerprint;
    private final long capacityBytes;
    private final double smallRatio;
    private final double ghostRatio;
    private final int promoteThreshold;
    private final ReentrantLock lock = new ReentrantLock();
    private final Fifo<T> small = new Fifo<>();
    private final Fifo<T> main = new Fifo<>();
    private final GhostQueue ghost = new GhostQueue();

    /**
     * The paper's parameters, the ghost keyed by the items' own {@code hashCode()}, and queue shares taken of the
     * bytes tracked at the time.
     */
    public S3FifoPolicy()
    {
        this(0, Objects::hashCode);
    }

    /** As {@link #S3FifoPolicy()}, with the ghost keyed by {@code fingerprint} (say, the hash of the item's key). */
    public S3FifoPolicy(final ToIntFunction<? super T> fingerprint)
    {
        this(0, fingerprint);
    }

    /**
     * The paper's parameters for a cache of {@code capacityBytes}, the ghost keyed by the items' {@code hashCode()}.
     * Only for items that hash by their key; see the class comment.
     */
    public S3FifoPolicy(final long capacityBytes)
    {
        this(capacityBytes, Objects::hashCode);
    }

    /**
     * The paper's parameters for a cache of {@code capacityBytes} (0: use the bytes tracked), the ghost keyed by
     * {@code fingerprint}: for the worker, {@code new S3FifoPolicy<StoreEntry>(pool.capacity(), e ->
     * e.key().hashCode())}.
     */
    public S3FifoPolicy(final long capacityBytes, final ToIntFunction<? super T> fingerprint)
    {
        this(fingerprint, capacityBytes, 0.1, 0.9, 1);
    }

    /**
     * For experiments.
     *
     * @param fingerprint      identifies an item across evictions (equal keys must give equal values)
     * @param capacityBytes    the cache size the shares are of; 0 takes the bytes tracked at the time
     * @param smallRatio       share of the cache the small queue may hold before it is evicted from first;
     *                         0 admits everything into the main queue (a 2-bit CLOCK)
     * @param ghostRatio       ghost budget as a share of the cache; 0 disables the ghost
     * @param promoteThreshold hits while in the small queue that move an object to the main queue, 1 to 3
     */
    S3FifoPolicy(final ToIntFunction<? super T> fingerprint, final long capacityBytes, final double smallRatio,
        final double ghostRatio, final int promoteThreshold)
    {
        if (capacityBytes < 0 || smallRatio < 0 || smallRatio > 1 || ghostRatio < 0 || promoteThreshold < 1
            || promoteThreshold > MAX_FREQ)
        {
            throw new IllegalArgumentException("capacityBytes=" + capacityBytes + " smallRatio=" + smallRatio
                + " ghostRatio=" + ghostRatio + " promoteThreshold=" + promoteThreshold);
        }
        this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
        this.capacityBytes = capacityBytes;
        this.smallRatio = smallRatio;
        this.ghostRatio = ghostRatio;
        this.promoteThreshold = promoteThreshold;
    }

    /**
     * {@inheritDoc} An item that extends {@link Links} is returned as its own node; it must not be tracked already,
     * and {@code bytes} must be its {@link Links#trackedBytes()}.
     */
    @Override
    @SuppressWarnings("unchecked")
    public Node<T> admit(final T item, final long bytes)
    {
        final Links<T> node = item instanceof Links<?> own ? (Links<T>) own : new Holder<>(item, bytes);
        if (node.trackedBytes() != bytes)
        {
            throw new IllegalArgumentException(item + " tracks " + node.trackedBytes() + " bytes, not " + bytes);
        }
        final int print = mix(fingerprint.applyAsInt(item));
        lock.lock();
        try
        {
            if (node.place != NONE)
            {
                throw new IllegalStateException(item + " is tracked already");
            }
            FREQ.setOpaque(node, (byte) 0);
            // Recently dropped from the small queue and back already: it was not a one-hit wonder after all.
            if (smallRatio == 0 || ghost.removeIfPresent(print))
            {
                main.pushHead(node, MAIN);
            }
            else
            {
                small.pushHead(node, SMALL);
            }
            return node;
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public Node<T> nextCandidate()
    {
        lock.lock();
        try
        {
            // Each move either promotes a node for good or spends one unit of its counter, so the loop ends after
            // about 3 passes over the queues; the bound only stops a livelock against a storm of touches.
            long moves = 0;
            final long maxMoves = 4L * (small.count + main.count) + 16;
            while (small.tail != null || main.tail != null)
            {
                final boolean bounded = ++moves > maxMoves;
                if (small.tail != null && (main.tail == null || small.bytes > smallTarget()))
                {
                    final Links<T> tail = small.tail;
                    if (bounded || (byte) FREQ.getOpaque(tail) < promoteThreshold)
                    {
                        tail.place |= CANDIDATE;
                        return tail;
                    }
                    // Hit while on probation: it earns a place in the main queue, keeping its counter.
                    small.unlink(tail);
                    main.pushHead(tail, MAIN);
                }
                else
                {
                    final Links<T> tail = main.tail;
                    final int freq = (byte) FREQ.getOpaque(tail);
                    if (bounded || freq == 0)
                    {
                        tail.place |= CANDIDATE;
                        return tail;
                    }
                    main.unlink(tail);
                    main.pushHead(tail, MAIN);
                    FREQ.setOpaque(tail, (byte) (Math.min(freq, MAX_FREQ) - 1));
                }
            }
            return null;
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public void skip(final Node<T> node)
    {
        final Links<T> n = (Links<T>) node;
        lock.lock();
        try
        {
            if (n.place == NONE)
            {
                return;
            }
            // Pinned (open view, held latch): park it at the head of main, the longest way back to a tail.
            queue(n.place).unlink(n);
            main.pushHead(n, MAIN);
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public void remove(final Node<T> node)
    {
        final Links<T> n = (Links<T>) node;
        lock.lock();
        try
        {
            final byte from = n.place;
            if (from == NONE)
            {
                return;
            }
            queue(from).unlink(n);
            // Only an eviction from the small queue feeds the ghost; a delete or an expiry says nothing of reuse.
            if ((from & QUEUE) == SMALL && (from & CANDIDATE) != 0 && ghostRatio > 0)
            {
                ghost.add(mix(fingerprint.applyAsInt(n.item())), n.trackedBytes());
            }
            ghost.trim((long) (ghostRatio * cacheBytes()));
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public int size()
    {
        lock.lock();
        try
        {
            return small.count + main.count;
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public String name()
    {
        return "s3fifo";
    }

    /** Bytes in the small queue, main queue and ghost, for metrics and tests. */
    long[] queueBytes()
    {
        lock.lock();
        try
        {
            return new long[] {small.bytes, main.bytes, ghost.bytes()};
        }
        finally
        {
            lock.unlock();
        }
    }

    /** Whether the node sits in the main queue, for tests. */
    boolean inMain(final Node<T> node)
    {
        lock.lock();
        try
        {
            return (((Links<T>) node).place & QUEUE) == MAIN;
        }
        finally
        {
            lock.unlock();
        }
    }

    private double smallTarget()
    {
        return smallRatio * cacheBytes();
    }

    /** The size the queue shares are of: the configured capacity, else what is tracked now. */
    private long cacheBytes()
    {
        return capacityBytes > 0 ? capacityBytes : small.bytes + main.bytes;
    }

    private Fifo<T> queue(final byte place)
    {
        return (place & QUEUE) == SMALL ? small : main;
    }

    /** Spreads clustered hash codes (Integer keys hash to themselves) before they serve as 32-bit fingerprints. */
    private static int mix(final int hash)
    {
        final int h = hash * 0x9E3779B9;
        final int fp = h ^ h >>> 15;
        return fp == 0 ? 1 : fp;
    }

    /** An intrusive doubly linked FIFO: push at the head, evict at the tail, unlink anywhere in O(1). */
    private static final class Fifo<T>
    {
        private Links<T> head;
        private Links<T> tail;
        private long bytes;
        private int count;

        void pushHead(final Links<T> node, final byte which)
        {
            node.place = which;
            node.prev = null;
            node.next = head;
            if (head != null)
            {
                head.prev = node;
            }
            else
            {
                tail = node;
            }
            head = node;
            bytes += node.trackedBytes();
            count++;
        }

        void unlink(final Links<T> node)
        {
            if (node.prev != null)
            {
                node.prev.next = node.next;
            }
            else
            {
                head = node.next;
            }
            if (node.next != null)
            {
                node.next.prev = node.prev;
            }
            else
            {
                tail = node.prev;
            }
            node.prev = null;
            node.next = null;
            node.place = NONE;
            bytes -= node.trackedBytes();
            count--;
        }
    }

    /**
     * What the policy keeps of one item: its hit counter (written lock-free by hits) and its place in a queue (under
     * the policy's lock), 10 bytes. An item class extends it to be its own node (see the class comment); the
     * fingerprint is not kept but taken again from the item when the ghost needs it.
     *
     * @param <T> the item: for an item that extends this class, itself
     */
    public abstract static class Links<T> implements Node<T>
    {
        private Links<T> prev;
        private Links<T> next;
        @SuppressWarnings("unused") // accessed through FREQ
        private byte freq;
        /** The queue (NONE, SMALL, MAIN) and the CANDIDATE bit. */
        private byte place = NONE;

        protected Links()
        {
        }

        /** The bytes the policy counts for the item; must not change while the item is tracked. */
        protected abstract long trackedBytes();

        @Override
        public final void touch()
        {
            // Opaque read and store: no fence on the hit path, and no store at all once the counter is saturated.
            // Two racing hits may count as one; the counter is a hint.
            final byte f = (byte) FREQ.getOpaque(this);
            if (f < MAX_FREQ)
            {
                FREQ.setOpaque(this, (byte) (f + 1));
            }
        }
    }

    /** The node of an item that is not its own. */
    private static final class Holder<T> extends Links<T>
    {
        private final T item;
        private final long bytes;

        Holder(final T item, final long bytes)
        {
            this.item = item;
            this.bytes = bytes;
        }

        @Override
        public T item()
        {
            return item;
        }

        @Override
        protected long trackedBytes()
        {
            return bytes;
        }

        @Override
        public String toString()
        {
            return String.valueOf(item);
        }
    }
}
