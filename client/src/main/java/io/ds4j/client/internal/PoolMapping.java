package io.ds4j.client.internal;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.HelloCodec;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.common.shm.SegmentFiles;
import io.ds4j.common.shm.SegmentHeader;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * This process's mapping of one worker generation's pool. When the worker restarts, the client closes the old
 * mapping: every view into it then fails with a clear error instead of reading memory the new worker knows nothing
 * about, and the old pages are released (a client that kept them could exhaust a restarted worker's memory).
 */
public final class PoolMapping
{
    private final long generation;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment[] segments;
    private volatile boolean valid = true;

    private PoolMapping(final long generation, final MemorySegment[] segments)
    {
        this.generation = generation;
        this.segments = segments;
    }

    /**
     * Maps every segment and checks its header belongs to {@code generation}; null when the files cannot be
     * opened here (the worker is on another host, or its files are not readable by this user).
     */
    public static PoolMapping tryMap(final long generation, final List<HelloCodec.Segment> infos)
    {
        if (infos.isEmpty())
        {
            return null;
        }
        final PoolMapping mapping = new PoolMapping(generation, new MemorySegment[infos.size()]);
        try
        {
            for (final HelloCodec.Segment info : infos)
            {
                final MemorySegment segment = SegmentFiles.map(Path.of(info.path()), mapping.arena);
                if (segment.byteSize() != info.size() || SegmentHeader.magic(segment) != SegmentHeader.MAGIC
                    || SegmentHeader.generation(segment) != generation
                    || SegmentHeader.layoutVersion(segment) != SegmentHeader.LAYOUT_VERSION)
                {
                    mapping.close();
                    return null;
                }
                mapping.segments[info.index()] = segment;
            }
            return mapping;
        }
        catch (final IOException | RuntimeException e)
        {
            mapping.close();
            return null;
        }
    }

    public long generation()
    {
        return generation;
    }

    public boolean valid()
    {
        return valid;
    }

    /** The mapped segments, whole (device memory pins them once: {@code io.ds4j.client.hetero}). */
    public java.util.List<MemorySegment> segments()
    {
        checkValid();
        return java.util.List.of(segments);
    }

    /**
     * The value at {@code dataOffset} of segment {@code index}, after checking that the object header in front of
     * it is the allocation the worker named: a mismatch would mean reading another object's bytes.
     */
    public MemorySegment slice(final int index, final long dataOffset, final long size, final long allocationId)
    {
        checkValid();
        if (index < 0 || index >= segments.length)
        {
            throw new DsException(StatusCode.DATA_INCONSISTENCY, "worker named segment " + index + " of "
                + segments.length);
        }
        final MemorySegment segment = segments[index];
        final long header = dataOffset - ObjectHeader.LENGTH;
        if (header < SegmentHeader.LENGTH || dataOffset + size > segment.byteSize()
            || ObjectHeader.allocationId(segment, header) != allocationId)
        {
            throw new DsException(StatusCode.DATA_INCONSISTENCY, "object header at offset " + header
                + " does not match allocation " + allocationId);
        }
        return segment.asSlice(dataOffset, size);
    }

    /**
     * The object header and value of an allocation, {@code [dataOffset - 64, dataOffset + size)}, after the same
     * checks as {@link #slice}: the object interface reads the header's state and latch word through it.
     */
    public MemorySegment objectSlice(final int index, final long dataOffset, final long size, final long allocationId)
    {
        slice(index, dataOffset, size, allocationId);
        return segments[index].asSlice(dataOffset - ObjectHeader.LENGTH, ObjectHeader.LENGTH + size);
    }

    public void checkValid()
    {
        if (!valid)
        {
            throw new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, "this buffer belongs to an ended session with"
                + " the worker (it restarted, or reclaimed this client after a long disconnect); its memory is no"
                + " longer reserved for you: get the key again");
        }
    }

    public void close()
    {
        if (valid)
        {
            valid = false;
            arena.close();
        }
    }
}
