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

    /** The key's record, or null when there is none (or it expired). The caller closes it. */
    L2Record get(String key) throws IOException;

    /** Removes the key's record; false if there was none. */
    boolean delete(String key) throws IOException;

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
