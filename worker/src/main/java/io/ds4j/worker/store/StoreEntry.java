package io.ds4j.worker.store;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.eviction.EvictionPolicy;
import io.ds4j.worker.store.spill.SpillHandle;

/**
 * This node's copy of one version of a key, and where its bytes are: in the pool, in the spill tier, in L2, or
 * several of them. It is either the primary copy (written here) or a replica (pulled from the primary). What the
 * key's owner keeps about the key (locations, waiters) is not here: that is {@code meta}'s record.
 * {@link LocalCopies} maps keys to this node's entries; {@link TieredStore} moves the bytes between tiers. Tier
 * fields change only under the entry's stripe lock in {@link TieredStore}; {@link #memory} is also read without it,
 * on the hit path, where {@link StoredObject#tryRetain()} settles any race with an eviction.
 */
public final class StoreEntry
{
    /** What an interface adds to an entry it published (the object interface: consistency, seal, nested refs). */
    public interface Attachment
    {
        /** Whether the bytes can no longer change in place. */
        boolean sealed();

        /** The consistency model the object was published with. */
        ConsistencyType consistency();
    }

    /** Where the entry stands with L2. */
    public enum L2State
    {
        NONE, QUEUED, STORED
    }

    private final String key;
    private final long version;
    private final WriteMode writeMode;
    private final long size;
    private final boolean replica;
    private volatile long expiresAtMs;
    volatile StoredObject memory;
    volatile SpillHandle spill;
    volatile L2State l2 = L2State.NONE;
    /** Set once the key no longer maps here (deleted, replaced, expired, dropped): no tier may take it back. */
    volatile boolean removed;
    EvictionPolicy.Node<StoreEntry> node;
    /** What the object interface adds to an entry it published; null for KV. */
    private volatile Attachment attachment;

    StoreEntry(final String key, final long version, final WriteMode writeMode, final long size,
        final long expiresAtMs, final boolean replica)
    {
        this.key = key;
        this.version = version;
        this.writeMode = writeMode;
        this.size = size;
        this.expiresAtMs = expiresAtMs;
        this.replica = replica;
    }

    /** A copy pulled from the primary on another worker: the first thing the evictor drops, never spilled. */
    public boolean replica()
    {
        return replica;
    }

    public String key()
    {
        return key;
    }

    public long version()
    {
        return version;
    }

    public WriteMode writeMode()
    {
        return writeMode;
    }

    public long size()
    {
        return size;
    }

    public long expiresAtMs()
    {
        return expiresAtMs;
    }

    public void expiresAtMs(final long value)
    {
        expiresAtMs = value;
    }

    /** True once the TTL has passed, even before the expiry thread removed the key: nobody sees it any more. */
    public boolean isExpired(final long nowMs)
    {
        final long at = expiresAtMs;
        return at != 0 && at <= nowMs;
    }

    public boolean removed()
    {
        return removed;
    }

    public L2State l2()
    {
        return l2;
    }

    /**
     * The pool copy, or null while the value lives only on disk. The object interface compares it with the object
     * behind a client's buffer to tell whether that buffer is still the key's current value.
     */
    public StoredObject memory()
    {
        return memory;
    }

    public Attachment attachment()
    {
        return attachment;
    }

    /** Set by the interface that publishes the entry, before it is published. */
    public void attachment(final Attachment value)
    {
        attachment = value;
    }

    /**
     * Whether the bytes can no longer change in place: every KV value and a sealed object. An unsealed object may be
     * written through a client's buffer, so a copy of it on disk is only good until the next such write.
     */
    public boolean immutable()
    {
        final Attachment state = attachment;
        return state == null || state.sealed();
    }

    /** Whether the write mode keeps a copy in L2 (when an L2 is configured). */
    public boolean l2Backed()
    {
        return writeMode == WriteMode.WRITE_THROUGH_L2_CACHE || writeMode == WriteMode.WRITE_BACK_L2_CACHE
            || writeMode == WriteMode.WRITE_BACK_L2_CACHE_EVICT;
    }

    @Override
    public String toString()
    {
        return key + "@" + version + (replica ? " (replica)" : "");
    }
}
