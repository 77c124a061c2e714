package io.ds4j.worker.meta;

import io.ds4j.worker.store.Removal;

/**
 * How a key's owner tells the workers that hold copies of it what changed. The owner calls it for every holder,
 * itself included; the wiring (in {@code Worker}) makes a call to this worker a local call and a call to another
 * worker a message on the peer link. Calls return once the holder applied the change, so the owner can answer a
 * CAUSAL writer only after every old copy is gone.
 */
public interface CopyHolders
{
    /** Versions of {@code key} up to {@code version} are no longer current: {@code holder} drops its copy of them. */
    void retire(String holder, String key, long version, Removal why);

    /**
     * {@code holder}'s replica of {@code version} is now the key's primary copy (the primary's worker is gone, or gave
     * the copy up on a lossless exit): it keeps it as a primary from now on.
     */
    void promote(String holder, String key, long version);

    /** The key's TTL changed: {@code holder} (the primary) records the new expiry of its copy of {@code version}. */
    void expiryChanged(String holder, String key, long version, long expiresAtMs);
}
