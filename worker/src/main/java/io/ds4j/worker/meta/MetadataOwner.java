package io.ds4j.worker.meta;

import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.store.StoredObject;

import java.util.List;

/**
 * The owner role for keys' metadata (the upstream's "master"): versions, expiry, existence checks, and the waiters
 * of a get with a subscribe timeout. The hash ring decides which worker owns a key; a standalone worker owns the
 * whole ring and uses {@link LocalMetadataOwner}. The cluster issue adds an implementation that forwards to the
 * owning worker.
 */
public interface MetadataOwner extends AutoCloseable
{
    /** What a publish did. */
    enum PublishResult
    {
        /** The object is now the key's current version. */
        PUBLISHED,
        /** NX and the key exists: the old value stays, the new object was not installed. */
        KEPT_EXISTING
    }

    /**
     * Makes {@code object} the current version of {@code key}. The owner takes over the caller's reference to
     * the object when it publishes it; with KEPT_EXISTING the caller keeps it (and releases it).
     */
    PublishResult publish(String key, StoredObject object, WriteMode writeMode, int ttlSecond, ExistenceOpt existence);

    /**
     * The current objects of {@code keys}, each retained for the caller (null where missing). With
     * {@code subTimeoutMs > 0} it waits until every key exists or the time is up.
     */
    StoredObject[] acquire(List<String> keys, long subTimeoutMs) throws InterruptedException;

    /** Removes the key; true if it existed. */
    boolean delete(String key);

    /** Sets or clears (0) the key's TTL; false if the key does not exist. */
    boolean expire(String key, int ttlSecond);

    boolean exists(String key);

    /** Number of keys. */
    int size();

    /** A new version number, increasing across the worker's life (microseconds since the epoch, like upstream). */
    long nextVersion();

    @Override
    void close();
}
