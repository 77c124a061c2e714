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
 *
 * <p>Kept small, one per value in memory: the allocation id is read back from the object header, where the pool
 * wrote it, and the block's size is the header plus the value, so neither is a field.
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
    private final long headerOffset;
    private final long dataSize;
    @SuppressWarnings("unused") // accessed through REFS
    private volatile int refs = 1;

    StoredObject(final SharedPool pool, final long headerOffset, final long dataSize)
    {
        this.pool = pool;
        this.headerOffset = headerOffset;
        this.dataSize = dataSize;
    }

    SharedPool pool()
    {
        return pool;
    }

    /** The id the pool gave the allocation, from its header: ask it only while holding a reference. */
    public long allocationId()
    {
        return ObjectHeader.allocationId(pool.segment(), headerOffset);
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

    /** The bytes asked of the allocator: the header and the value. */
    long allocatedSize()
    {
        return ObjectHeader.LENGTH + dataSize;
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
            throw new IllegalStateException("object at " + headerOffset + " released more often than retained");
        }
    }

    public int references()
    {
        return (int) REFS.getVolatile(this);
    }
}
