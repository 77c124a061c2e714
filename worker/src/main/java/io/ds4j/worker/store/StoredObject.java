package io.ds4j.worker.store;

import io.ds4j.common.shm.ObjectHeader;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One allocation in the pool: a 64-byte object header followed by the value. It is reference counted: the key's
 * metadata entry holds one reference while the object is the key's current version, and every open client view or
 * in-flight copy holds one more. The memory goes back to the allocator only when the count reaches zero, so a view
 * never sees its region reused, even after the key was deleted or overwritten.
 */
public final class StoredObject implements Value
{
    private static final VarHandle REFS;

    static
    {
        try
        {
            REFS = MethodHandles.lookup().findVarHandle(StoredObject.class, "refs", int.class);
        }
        catch (final ReflectiveOperationException e)
        {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final SharedPool pool;
    private final long allocationId;
    private final long headerOffset;
    private final long dataSize;
    private final long allocatedSize;
    @SuppressWarnings("unused") // accessed through REFS
    private volatile int refs = 1;

    StoredObject(final SharedPool pool, final long allocationId, final long headerOffset, final long dataSize,
        final long allocatedSize)
    {
        this.pool = pool;
        this.allocationId = allocationId;
        this.headerOffset = headerOffset;
        this.dataSize = dataSize;
        this.allocatedSize = allocatedSize;
    }

    SharedPool pool()
    {
        return pool;
    }

    public long allocationId()
    {
        return allocationId;
    }

    /** Index of the segment file that holds it (one segment today). */
    public int segmentIndex()
    {
        return 0;
    }

    /** Offset of the object header within the segment file. */
    public long headerOffset()
    {
        return headerOffset;
    }

    /** Offset of the value within the segment file: what clients map. */
    public long dataOffset()
    {
        return headerOffset + ObjectHeader.LENGTH;
    }

    public long dataSize()
    {
        return dataSize;
    }

    @Override
    public long size()
    {
        return dataSize;
    }

    @Override
    public StoredObject pooled()
    {
        return this;
    }

    long allocatedSize()
    {
        return allocatedSize;
    }

    /** The value's bytes in the worker's mapping. */
    @Override
    public MemorySegment data()
    {
        return pool.segment().asSlice(dataOffset(), dataSize);
    }

    public long version()
    {
        return ObjectHeader.version(pool.segment(), headerOffset);
    }

    public void markPublished(final long version)
    {
        ObjectHeader.version(pool.segment(), headerOffset, version);
        ObjectHeader.state(pool.segment(), headerOffset, ObjectHeader.STATE_PUBLISHED);
    }

    /** The object can no longer change: its header says SEALED (after {@link #markPublished}). */
    public void markSealed()
    {
        ObjectHeader.state(pool.segment(), headerOffset, ObjectHeader.STATE_SEALED);
    }

    /**
     * Takes one more reference unless the object was already freed; a reader that loses that race treats the key
     * as gone rather than touching recycled memory.
     */
    public boolean tryRetain()
    {
        int current = (int) REFS.getVolatile(this);
        while (current > 0)
        {
            final int witness = (int) REFS.compareAndExchange(this, current, current + 1);
            if (witness == current)
            {
                return true;
            }
            current = witness;
        }
        return false;
    }

    /** Drops one reference; the last one returns the memory to the pool. */
    @Override
    public void release()
    {
        final int remaining = (int) REFS.getAndAdd(this, -1) - 1;
        if (remaining == 0)
        {
            ObjectHeader.state(pool.segment(), headerOffset, ObjectHeader.STATE_DEAD);
            pool.free(this);
        }
        else if (remaining < 0)
        {
            throw new IllegalStateException("object " + allocationId + " released more often than retained");
        }
    }

    public int references()
    {
        return (int) REFS.getVolatile(this);
    }
}
