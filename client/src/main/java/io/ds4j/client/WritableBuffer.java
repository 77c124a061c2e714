package io.ds4j.client;

import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;

import java.lang.foreign.MemorySegment;

/**
 * A region for one key's value, from {@link KvClient#mcreate}: fill {@link #data()} in place, then publish it with
 * {@link KvClient#msetBuffer}. Through shared memory the region is already in the worker's pool, so publishing
 * copies nothing. Closing a buffer that was never published gives its memory back.
 */
public final class WritableBuffer implements AutoCloseable
{
    private final String key;
    private final MemorySegment data;
    private final SetParam param;
    private final WorkerLink link;
    private final PoolMapping mapping;
    private final long allocationId;
    private boolean published;
    private boolean closed;

    WritableBuffer(final String key, final MemorySegment data, final SetParam param, final WorkerLink link,
        final PoolMapping mapping, final long allocationId)
    {
        this.key = key;
        this.data = data;
        this.param = param;
        this.link = link;
        this.mapping = mapping;
        this.allocationId = allocationId;
    }

    public String key()
    {
        return key;
    }

    /** The writable region, exactly as large as requested. */
    public MemorySegment data()
    {
        if (closed || published)
        {
            throw new IllegalStateException("buffer of key " + key + " was already " + (published ? "published"
                : "closed"));
        }
        if (mapping != null)
        {
            mapping.checkValid();
        }
        return data;
    }

    public long size()
    {
        return data.byteSize();
    }

    SetParam param()
    {
        return param;
    }

    PoolMapping mapping()
    {
        return mapping;
    }

    long allocationId()
    {
        return allocationId;
    }

    /** The filled bytes, for a client that sends values inline. */
    MemorySegment contents()
    {
        return data;
    }

    boolean isPublished()
    {
        return published;
    }

    void markPublished()
    {
        published = true;
    }

    @Override
    public synchronized void close()
    {
        if (!closed)
        {
            closed = true;
            if (!published && mapping != null)
            {
                link.abort(mapping, allocationId);
            }
        }
    }
}
