package io.ds4j.worker.store.l2;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * The durable second level (spec §3.6): what a WRITE_THROUGH or flushed WRITE_BACK value is kept in, so it outlives
 * the worker. Behind this interface so that an object store can be added beside the shared-filesystem one.
 * Implementations are safe for concurrent use.
 */
public interface L2Cache extends AutoCloseable
{
    /**
     * Stores {@code value} as {@code key}'s {@code version}, durably (on stable storage when this returns) and
     * atomically (after a crash, a reader finds the old record or the new one, never a torn one). A record of a
     * higher version already there wins: the put is then a no-op, so a late write-back never regresses a key.
     *
     * @param expiresAtMs epoch ms at which the key expires, 0 for never; a get after it finds nothing
     */
    void put(String key, long version, long expiresAtMs, MemorySegment value) throws IOException;

    /**
     * Writes {@code value} as {@code key}'s {@code version} durably, beside the key's record, which stays what
     * {@link #get(String)} finds: a WRITE_THROUGH writer stages its version before the key's owner decides on it, so
     * a write the owner refuses never replaces the acknowledged value before it.
     */
    void stage(String key, long version, long expiresAtMs, MemorySegment value) throws IOException;

    /**
     * Makes the staged {@code version} the key's record, unless a record of a higher version is there (then the
     * staged one is dropped); atomically with respect to concurrent puts, commits and conditional deletes, from any
     * process sharing the storage.
     *
     * @return whether the staged version became the key's record
     */
    boolean commit(String key, long version) throws IOException;

    /** Drops a staged version that will not be committed (its owner refused it). */
    void discardStaged(String key, long version) throws IOException;

    /** The key's record, or null when there is none (or it expired). The caller closes it. */
    L2Record get(String key) throws IOException;

    /**
     * The key's record of exactly {@code version}: the key's record when it has that version, else a staged one that
     * was never committed nor discarded (its writer got no answer from the owner, which may have recorded it).
     */
    L2Record get(String key, long version) throws IOException;

    /** Removes the key's record; false if there was none. */
    boolean delete(String key) throws IOException;

    /**
     * Removes the key's record if its version is at most {@code maxVersion}, never a newer one, also when another
     * process installs one meanwhile; false if nothing was removed.
     */
    boolean deleteUpTo(String key, long maxVersion) throws IOException;

    /** For logs: the kind and where it stores, e.g. "sfs:/mnt/shared/ds4j". */
    String describe();

    @Override
    void close();

    /** One stored record, open for reading its value. */
    interface L2Record extends AutoCloseable
    {
        String key();

        long version();

        long expiresAtMs();

        long size();

        /** Reads the whole value into {@code target} (exactly {@link #size()} bytes), checking its checksum. */
        void readInto(MemorySegment target) throws IOException;

        @Override
        void close();
    }
}
