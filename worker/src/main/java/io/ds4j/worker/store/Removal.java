package io.ds4j.worker.store;

/** Why this node's copy of a key stopped being current. */
public enum Removal
{
    /** The key was deleted (by a client, or when its global reference count reached 0). */
    DELETED,
    /** A newer version was published (here or on another worker). */
    REPLACED,
    /** Its TTL passed. */
    EXPIRED,
    /** The evictor let it go: a droppable value, or a replica. */
    DROPPED,
    /** It never became current: NX kept the existing value, or a newer write overtook it before it was installed. */
    DISCARDED,
    /**
     * Its publish failed at the owner with no answer (a timeout, a connection lost): the owner may have recorded it
     * all the same, so, unlike {@link #DISCARDED}, its L2 record stays for readers to find.
     */
    ABANDONED,
    /**
     * A newer WRITE_THROUGH version was published on another worker: like {@link #REPLACED}, except that this copy's
     * L2 record is left for that version's writer to replace. The writer commits its record only after the owner
     * retired the old copies, so deleting the old record here would leave the key with no L2 record until then, and
     * with none at all if the writer fails before its commit.
     */
    REPLACED_DURABLY
}
