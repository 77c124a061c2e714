package io.ds4j.worker.store;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.WriteMode;
import io.ds4j.worker.eviction.EvictionPolicy;
import io.ds4j.worker.eviction.S3FifoPolicy;
import io.ds4j.worker.store.spill.SpillHandle;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * This node's copy of one version of a key, and where its bytes are: in the pool, in the spill tier, in L2, or
 * several of them. It is either the primary copy (written here) or a replica (pulled from the primary). What the
 * key's owner keeps about the key (locations, waiters) is not here: that is {@code meta}'s record.
 * {@link LocalCopies} maps keys to this node's entries; {@link TieredStore} moves the bytes between tiers. Tier
 * fields change only under the entry's stripe lock in {@link TieredStore}; {@link #memory} is also read without it,
 * on the hit path, where {@link StoredObject#tryRetain()} settles any race with an eviction.
 *
 * <p>Kept small, one per key (docs/benchmarks.md, "Memory per key"): the entry is its own S3-FIFO node (it extends
 * {@link S3FifoPolicy.Links}, so tracking it allocates nothing), the write mode and the replica flag share one final
 * byte, and the L2 state and the removed flag one volatile byte, changed by compare-and-set. With compact object
 * headers it takes 64 bytes.
 */
public final class StoreEntry extends S3FifoPolicy.Links<StoreEntry>
{
    /** What an interface adds to an entry it published (the object interface: consistency, seal, nested refs). */
    public interface Attachment
    {
        /** Whether the bytes can no longer change in place. */
        boolean sealed();

        /** The consistency model the object was published with. */
        ConsistencyType consistency();
    }

    /**
     * Where the entry stands with L2: not in it, queued for write-back, staged (a WRITE_THROUGH version written
     * beside the key's record until its owner recorded it), or the key's record.
     */
    public enum L2State
    {
        NONE, QUEUED, STORED, STAGED
    }

    private static final WriteMode[] WRITE_MODES = WriteMode.values();
    private static final L2State[] L2_STATES = L2State.values();
    /** In {@link #modeBits}, beside the write mode's ordinal. */
    private static final int REPLICA = 0x80;
    private static final int MODE_BITS = 0x7F;
    /** In {@link #state}, beside the L2 state's ordinal (bits 0..1). */
    private static final int REMOVED = 0x4;
    private static final int L2_BITS = 0x3;
    private static final VarHandle STATE;

    static
    {
        try
        {
            STATE = MethodHandles.lookup().findVarHandle(StoreEntry.class, "state", byte.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String key;
    private final long version;
    private final long size;
    private volatile long expiresAtMs;
    volatile StoredObject memory;
    volatile SpillHandle spill;
    /** The policy's node while the pool copy is tracked: this entry itself with S3-FIFO, else the policy's own. */
    EvictionPolicy.Node<StoreEntry> node;
    /** What the object interface adds to an entry it published; null for KV. */
    private volatile Attachment attachment;
    /** The write mode's ordinal, and {@link #REPLICA} (cleared once, when the owner promotes the replica). */
    private volatile byte modeBits;
    /**
     * The L2 state's ordinal, and {@link #REMOVED}: set once the key no longer maps here (deleted, replaced,
     * expired, dropped), after which no tier may take it back. Read volatile, changed by compare-and-set (the
     * write-back flusher sets the L2 state while a delete may set REMOVED).
     */
    @SuppressWarnings("unused") // accessed through STATE
    private volatile byte state;

    StoreEntry(final String key, final long version, final WriteMode writeMode, final long size,
        final long expiresAtMs, final boolean replica)
    {
        this.key = key;
        this.version = version;
        this.modeBits = (byte) (writeMode.ordinal() | (replica ? REPLICA : 0));
        this.size = size;
        this.expiresAtMs = expiresAtMs;
    }

    /** A copy pulled from the primary on another worker: the first thing the evictor drops, never spilled. */
    public boolean replica()
    {
        return (modeBits & REPLICA) != 0;
    }

    /**
     * The key's owner made this replica the primary copy (the primary's worker died or left): from now on the evictor
     * treats it as the primary, spilling it rather than dropping it.
     */
    public void promote()
    {
        modeBits = (byte) (modeBits & ~REPLICA);
    }

    /** The entry as the eviction policy's node: itself. */
    @Override
    public StoreEntry item()
    {
        return this;
    }

    @Override
    protected long trackedBytes()
    {
        return size;
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
        return WRITE_MODES[modeBits & MODE_BITS];
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
        return ((byte) STATE.getVolatile(this) & REMOVED) != 0;
    }

    /** Marks the entry removed (under its stripe lock); its L2 state stays. */
    void markRemoved()
    {
        byte current = (byte) STATE.getVolatile(this);
        while (!STATE.compareAndSet(this, current, (byte) (current | REMOVED)))
        {
            current = (byte) STATE.getVolatile(this);
        }
    }

    public L2State l2()
    {
        return L2_STATES[(byte) STATE.getVolatile(this) & L2_BITS];
    }

    /** Sets the L2 state; the removed flag stays. */
    void l2(final L2State value)
    {
        byte current = (byte) STATE.getVolatile(this);
        while (!STATE.compareAndSet(this, current, (byte) (current & ~L2_BITS | value.ordinal())))
        {
            current = (byte) STATE.getVolatile(this);
        }
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
        final WriteMode writeMode = writeMode();
        return writeMode == WriteMode.WRITE_THROUGH_L2_CACHE || writeMode == WriteMode.WRITE_BACK_L2_CACHE
            || writeMode == WriteMode.WRITE_BACK_L2_CACHE_EVICT;
    }

    @Override
    public String toString()
    {
        return key + "@" + version + (replica() ? " (replica)" : "");
    }
}
