package io.ds4j.worker.store;

import java.lang.foreign.MemorySegment;

/**
 * A value handed to a reader, retained until {@link #release()}: either an object in the shared pool (which a
 * shared-memory client can map) or a transient copy read from disk because the pool had no room for it.
 */
public interface Value
{
    MemorySegment data();

    long size();

    /** The pool allocation, or null when the bytes live outside the pool (send them inline). */
    StoredObject pooled();

    void release();
}
