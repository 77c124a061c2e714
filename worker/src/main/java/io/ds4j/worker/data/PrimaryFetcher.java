package io.ds4j.worker.data;

import io.ds4j.worker.store.StoredObject;

/**
 * Pulls a version of a key from the worker that holds its primary copy, straight into a region of this node's pool.
 * The cluster implements it over the peer link; a standalone worker has no other worker to pull from.
 */
public interface PrimaryFetcher
{
    /**
     * A pulled copy: its version (the one asked for, or a newer one the primary holds by now), the region (one
     * reference, the caller's), whether it was written through the object interface, and whether it is sealed.
     */
    record Fetched(long version, StoredObject region, boolean isObject, boolean sealed)
    {
    }

    /**
     * @return the copy, or null when {@code primary} holds neither {@code version} nor a newer one (deleted, dropped,
     *         or a writer elsewhere replaced it)
     * @throws io.ds4j.common.DsException RPC_UNAVAILABLE when the primary cannot be reached or died mid-transfer
     *                                    (nothing half-received is kept), OUT_OF_MEMORY when this pool has no room
     */
    Fetched fetch(String primary, String key, long version);

    /**
     * What a key's owner answered in one round trip: its current metadata (null when it has no record of the key),
     * and the bytes when the owner is also the primary and held that version (or a newer one) at that moment.
     */
    record OwnerAnswer(io.ds4j.common.KeyMeta meta, Fetched fetched)
    {
    }

    /**
     * Asks the key's owner for its current version and, when that owner is also the primary, pulls the bytes in the
     * same round trip (OWNER_FETCH, docs/protocol.md 13.9); waits up to {@code subTimeoutMs} for a key not written
     * yet, as an owner query does.
     *
     * @return null when the key's owner is this worker: the caller asks its own records
     * @throws io.ds4j.common.DsException as {@link #fetch}
     */
    default OwnerAnswer fetchAtOwner(final String key, final long subTimeoutMs)
    {
        return null;
    }

    /** The standalone worker's: every key's primary is this worker. */
    PrimaryFetcher NONE = (primary, key, version) ->
    {
        throw new IllegalStateException("a standalone worker has no peer " + primary + " to pull " + key + " from");
    };
}
