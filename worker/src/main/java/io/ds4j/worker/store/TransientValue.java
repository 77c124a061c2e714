package io.ds4j.worker.store;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Bytes read from spill or L2 into off-heap memory of their own, for a reader the full pool cannot serve. */
final class TransientValue implements Value
{
    private final Arena arena = Arena.ofShared();
    private final MemorySegment data;

    TransientValue(final long size)
    {
        data = arena.allocate(Math.max(1, size), 64).asSlice(0, size);
    }

    @Override
    public MemorySegment data()
    {
        return data;
    }

    @Override
    public long size()
    {
        return data.byteSize();
    }

    @Override
    public StoredObject pooled()
    {
        return null;
    }

    @Override
    public void release()
    {
        arena.close();
    }
}
