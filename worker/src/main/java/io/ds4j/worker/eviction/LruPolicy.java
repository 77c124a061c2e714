package io.ds4j.worker.eviction;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Exact least-recently-used order with a lock-free {@link Node#touch()}.
 *
 * <p>A hit only stores a fresh value of a per-policy access clock in its node; it takes no lock and moves nothing.
 * The nodes sit in a binary min-heap keyed by the clock value they had when last positioned. A node touched since
 * then has a stale, smaller key; {@link #nextCandidate()} repairs the root lazily by raising its key to its latest
 * access and sifting it down, until the root is current. The current root is then the true least recently used
 * node: every other node's last access is at least its key, which is at least the root's. So the eviction order is
 * exactly LRU (checked against a {@code LinkedHashMap} in access order by the tests), which the common "lazy LRU"
 * with a linked list and move-to-head on discovery is not: two nodes found stale in the wrong order would keep
 * that order.
 *
 * <p>Costs: touch is one atomic increment plus one plain store; admit O(1) (the newest key is the largest, so it
 * stays a leaf); remove, skip and each repair O(log n) under the lock. The shared clock is one contended cache line
 * on hits from many cores; {@link S3FifoPolicy} has none and writes nothing once an object is hot.
 *
 * @param <T> the tracked item
 */
public final class LruPolicy<T> implements EvictionPolicy<T>
{
    private static final VarHandle STAMP;
    private static final int REMOVED = -1;

    static
    {
        try
        {
            STAMP = MethodHandles.lookup().findVarHandle(LruNode.class, "stamp", long.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final AtomicLong clock = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private LruNode<T>[] heap;
    private int size;

    @SuppressWarnings("unchecked")
    public LruPolicy()
    {
        heap = (LruNode<T>[]) new LruNode<?>[64];
    }

    @Override
    public Node<T> admit(final T item, final long bytes)
    {
        final LruNode<T> node = new LruNode<>(item, clock);
        lock.lock();
        try
        {
            // Take the stamp under the lock: admissions then enter in clock order and stay leaves.
            final long now = clock.incrementAndGet();
            node.stamp = now;
            node.key = now;
            if (size == heap.length)
            {
                heap = Arrays.copyOf(heap, size * 2);
            }
            node.index = size;
            heap[size++] = node;
            siftUp(node.index);
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
            // Each repair raises a key for good; the bound only stops a livelock against a storm of touches.
            for (int repairs = 0; size > 0; repairs++)
            {
                final LruNode<T> root = heap[0];
                final long last = (long) STAMP.getOpaque(root);
                if (last <= root.key || repairs > size)
                {
                    return root;
                }
                root.key = last;
                siftDown(0);
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
        final LruNode<T> n = (LruNode<T>) node;
        lock.lock();
        try
        {
            if (n.index == REMOVED)
            {
                return;
            }
            // A skipped node counts as just used: it goes behind every other node.
            final long now = clock.incrementAndGet();
            STAMP.setOpaque(n, now);
            n.key = now;
            siftDown(n.index);
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public void remove(final Node<T> node)
    {
        final LruNode<T> n = (LruNode<T>) node;
        lock.lock();
        try
        {
            final int i = n.index;
            if (i == REMOVED)
            {
                return;
            }
            n.index = REMOVED;
            final LruNode<T> last = heap[--size];
            heap[size] = null;
            if (last != n)
            {
                heap[i] = last;
                last.index = i;
                siftDown(i);
                siftUp(last.index);
            }
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
            return size;
        }
        finally
        {
            lock.unlock();
        }
    }

    @Override
    public String name()
    {
        return "lru";
    }

    private void siftUp(final int from)
    {
        final LruNode<T> node = heap[from];
        int i = from;
        while (i > 0)
        {
            final int parent = (i - 1) >>> 1;
            final LruNode<T> p = heap[parent];
            if (p.key <= node.key)
            {
                break;
            }
            heap[i] = p;
            p.index = i;
            i = parent;
        }
        heap[i] = node;
        node.index = i;
    }

    private void siftDown(final int from)
    {
        final LruNode<T> node = heap[from];
        int i = from;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= size)
            {
                break;
            }
            if (child + 1 < size && heap[child + 1].key < heap[child].key)
            {
                child++;
            }
            final LruNode<T> c = heap[child];
            if (node.key <= c.key)
            {
                break;
            }
            heap[i] = c;
            c.index = i;
            i = child;
        }
        heap[i] = node;
        node.index = i;
    }

    /** The policy's handle on one item: its last access (written lock-free) and its heap slot (under the lock). */
    private static final class LruNode<T> implements Node<T>
    {
        private final T item;
        private final AtomicLong clock;
        /** Clock value of the latest access; written by any thread without the lock. */
        @SuppressWarnings("unused") // accessed through STAMP
        private long stamp;
        /** Clock value the heap is ordered by: the latest access the policy has seen. */
        private long key;
        private int index;

        LruNode(final T item, final AtomicLong clock)
        {
            this.item = item;
            this.clock = clock;
        }

        @Override
        public T item()
        {
            return item;
        }

        @Override
        public void touch()
        {
            // Opaque: the lock holder must see the value eventually, not at once; a plain volatile store would
            // add a full fence to every hit. Racing touches may store out of order, which only loses a tie.
            STAMP.setOpaque(this, clock.incrementAndGet());
        }

        @Override
        public String toString()
        {
            return String.valueOf(item);
        }
    }
}
