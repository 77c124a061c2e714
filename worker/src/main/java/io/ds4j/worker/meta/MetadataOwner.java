package io.ds4j.worker.meta;

import io.ds4j.common.ExistenceOpt;
import io.ds4j.worker.store.StoreEntry;

import java.util.List;

/**
 * The owner role for keys' metadata (the upstream's "master"): which entry is a key's current version, expiry,
 * existence checks, and the waiters of a get with a subscribe timeout. The hash ring decides which worker owns a
 * key; a standalone worker owns the whole ring and uses {@link LocalMetadataOwner}. The cluster issue adds an
 * implementation that forwards to the owning worker. Whatever stops being a key's current entry is handed to the
 * {@link RemovalListener}, the one place where its tiers are cleaned up.
 */
public interface MetadataOwner extends AutoCloseable
{
    /** What a publish did. */
    enum PublishResult
    {
        /** The entry is now the key's current version, replacing the previous one. */
        PUBLISHED,
        /** The entry is now the key's current version; the key had none (new, or first write since a restart). */
        CREATED,
        /** NX and the key exists: the old value stays, the new entry was not installed. */
        KEPT_EXISTING
    }

    /** Why an entry stopped being its key's current version. */
    enum Removal
    {
        DELETED, REPLACED, EXPIRED, DROPPED
    }

    /** Told about every entry that stops being current, exactly once per entry. */
    @FunctionalInterface
    interface RemovalListener
    {
        /** @param replacement the new current entry when {@code why} is REPLACED, else null */
        void removed(StoreEntry entry, Removal why, StoreEntry replacement);
    }

    /** Makes {@code entry} its key's current version (unless NX finds a live one) and wakes the key's waiters. */
    PublishResult publish(StoreEntry entry, ExistenceOpt existence);

    /** The key's current, unexpired entry, or null. */
    StoreEntry lookup(String key);

    /**
     * The current entries of {@code keys} (null where missing). With {@code subTimeoutMs > 0} it waits until every
     * key exists or the time is up.
     */
    StoreEntry[] await(List<String> keys, long subTimeoutMs) throws InterruptedException;

    /** Removes the key; true if it existed. */
    boolean delete(String key);

    /** Removes {@code entry} if it is still its key's current version (eviction of a droppable object). */
    boolean removeIfCurrent(StoreEntry entry, Removal why);

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
