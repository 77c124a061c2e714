package io.ds4j.worker.meta;

import io.ds4j.common.KeyMeta;

import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyHandover;

import java.util.List;

/**
 * The owner role for keys' metadata (the upstream's "master"), in keys, versions and locations: which version is
 * current and where its primary copy lives, where the other copies are, expiry, existence, and the waiters of gets
 * with a subscribe timeout. The hash ring decides which worker owns a key; {@link LocalMetadataOwner} is the owner of
 * this worker's ranges (all of them when standalone), and the cluster routes each call to the key's owner. The owner
 * tells the holders of copies about changes through {@link CopyHolders}; it never touches bytes.
 */
public interface MetadataOwner extends AutoCloseable
{
    /** What a publish did. */
    enum PublishResult
    {
        /** The version is now current, replacing the previous one (whose copies were retired). */
        PUBLISHED,
        /** The version is now current; the key had none. */
        CREATED,
        /** NX and the key exists: the old value stays. */
        KEPT_EXISTING,
        /** A version at least as new is already current: the writer must publish with a newer version. */
        OUTDATED
    }

    /** A change of one holder's global references on a key. */
    enum RefOp
    {
        INCREASE, DECREASE, RELEASE_ALL
    }

    /**
     * What a reference change did: the holder's count before and after it, and how many holders the key has left.
     * The global count is the number of holders (a client counts once, however often it increased).
     */
    record RefChange(long before, long after, int holders)
    {
    }

    /**
     * Makes {@code meta} (written at {@code meta.primary()}) the key's current version, unless NX finds a live one,
     * and wakes the key's waiters. The previous version's copies elsewhere than the writer are retired first when
     * the consistency is CAUSAL (always for KV), after the answer for PRAM.
     */
    PublishResult publish(String key, KeyMeta meta, ExistenceOpt existence);

    /**
     * The current versions of {@code keys} (null where missing or expired). With {@code subTimeoutMs > 0} it waits
     * until every key exists or the time is up.
     */
    KeyMeta[] query(List<String> keys, long subTimeoutMs) throws InterruptedException;

    /** Registers a replica of {@code version} at {@code holder}; false when that version is no longer current. */
    boolean addCopy(String key, long version, String holder);

    /** {@code holder} no longer has its copy of {@code version} (a replica it evicted). */
    void removeCopy(String key, long version, String holder);

    /** Ends the key: every copy is retired. True if it existed. */
    boolean delete(String key);

    /** The primary's evictor dropped {@code version} (a droppable value): the key ends if that is still current. */
    void dropped(String key, long version, String holder);

    /** Sets or clears (0) the key's TTL; false if the key does not exist. */
    boolean expire(String key, int ttlSecond);

    boolean exists(String key);

    /**
     * Changes {@code holder}'s global references on {@code key}. Allowed before the key exists (as upstream), unless
     * {@code mustExist} (a nested reference: NOT_FOUND then). The counts live at the owner, independent of where the
     * copies are; they go when the key ends. Deleting the key when the last holder lets go is the caller's move.
     */
    RefChange changeRef(String key, String holder, RefOp op, boolean mustExist);

    /** The key's global reference count: how many holders hold it. */
    int refHolders(String key);

    /**
     * Takes in what another worker knows of keys this owner has just taken over (docs/cluster.md section 6): a
     * version newer than the one recorded here becomes current, the holders of the recorded version are added, and
     * references are merged. Returns, per handover, whether its version is outdated (a newer one is current here):
     * the sender's copy of it is stale and must go.
     */
    boolean[] adopt(List<KeyHandover> handovers);

    @Override
    void close();
}
