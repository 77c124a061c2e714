package io.ds4j.worker.eviction;

/**
 * Decides which memory-resident object to consider next when the pool must shrink. The evictor, not the policy,
 * decides what happens to a candidate (spill, drop, keep) by the action table of spec §3.6; the policy only orders
 * them. Implementations are safe for concurrent use; {@link Node#touch()} runs on every hit and must be cheap.
 *
 * @param <T> the tracked item
 */
public interface EvictionPolicy<T>
{
    /** Starts tracking {@code item}, now resident in memory and {@code bytes} large; keep the node with the item. */
    Node<T> admit(T item, long bytes);

    /**
     * The next candidate, or null when nothing is tracked. The candidate stays tracked: the caller either
     * {@link #remove}s it (it left memory) or passes it to {@link #skip} (it must stay, e.g. a view is open), after
     * which it is not offered again before the others.
     */
    Node<T> nextCandidate();

    /** The candidate must stay in memory for now. */
    void skip(Node<T> node);

    /** Stops tracking (the item left memory for any reason: evicted, spilled, deleted, expired). Idempotent. */
    void remove(Node<T> node);

    /** Items tracked. */
    int size();

    /** For logs and metrics, e.g. "lru" or "s3fifo". */
    String name();

    /** The policy's handle on one item. */
    interface Node<T>
    {
        T item();

        /** Records a hit. Lock-free and allocation-free. */
        void touch();
    }
}
