package io.ds4j.client;

import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * A read-only view of a value. Through shared memory it is the worker's own copy, read in place: the worker keeps
 * that memory for this view until {@link #close()}, even if the key is deleted or overwritten meanwhile. Over TCP
 * it wraps the bytes that arrived. If the worker restarts while a view is open, {@link #data()} fails with
 * CLIENT_WORKER_DISCONNECT rather than show memory the worker no longer owns.
 */
public final class ReadOnlyBuffer implements AutoCloseable
{
    private final String key;
    private final MemorySegment data;
    private final WorkerLink link;
    private final PoolMapping mapping;
    private final long allocationId;
    private boolean closed;

    ReadOnlyBuffer(final String key, final MemorySegment data, final WorkerLink link, final PoolMapping mapping,
        final long allocationId)
    {
        this.key = key;
        this.data = data.asReadOnly();
        this.link = link;
        this.mapping = mapping;
        this.allocationId = allocationId;
    }

    public String key()
    {
        return key;
    }

    /** The value as a read-only segment, valid until this buffer is closed. */
    public MemorySegment data()
    {
        checkUsable();
        return data;
    }

    /** The value as a read-only ByteBuffer over the same memory. */
    public ByteBuffer asByteBuffer()
    {
        checkUsable();
        return data.asByteBuffer();
    }

    /** A copy of the value. */
    public byte[] toByteArray()
    {
        checkUsable();
        return data.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    public long size()
    {
        return data.byteSize();
    }

    /** True when the bytes are read in place in the worker's shared memory. */
    public boolean isZeroCopy()
    {
        return mapping != null;
    }

    private void checkUsable()
    {
        if (closed)
        {
            throw new IllegalStateException("buffer of key " + key + " is closed");
        }
        if (mapping != null)
        {
            mapping.checkValid();
        }
    }

    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            if (mapping != null)
            {
                link.release(mapping, allocationId);
            }
        }
    }
}
