package io.ds4j.common.shm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The first page of every pool segment file (docs/shm-layout.md, "Segment header"). The worker writes it once when
 * it creates the segment and then only the heartbeat and state words; clients read it after mapping to check that
 * the file belongs to the worker generation they were told about in HELLO.
 *
 * <pre>
 *   0  magic            int64  "DS4JSEG1"
 *   8  layout version   int32
 *  12  segment index    int32
 *  16  generation       int64  random, non-zero, new at every worker start
 *  24  worker pid       int64
 *  32  worker start     int64  epoch ms
 *  40  segment size     int64  bytes of the file
 *  48  data offset      int64  where the allocator's region starts (one page)
 *  56  data size        int64
 *  64  heartbeat        int64  epoch ms, written every heartbeat_interval_ms (own cache line)
 * 128  state            int32  1 = serving, 2 = closed (release/acquire)
 * </pre>
 */
public final class SegmentHeader
{
    public static final long MAGIC = 0x314745534A345344L; // the bytes "DS4JSEG1" read as a little-endian long
    public static final int LAYOUT_VERSION = 1;

    public static final long MAGIC_OFFSET = 0;
    public static final long LAYOUT_VERSION_OFFSET = 8;
    public static final long SEGMENT_INDEX_OFFSET = 12;
    public static final long GENERATION_OFFSET = 16;
    public static final long WORKER_PID_OFFSET = 24;
    public static final long WORKER_START_OFFSET = 32;
    public static final long SEGMENT_SIZE_OFFSET = 40;
    public static final long DATA_OFFSET_OFFSET = 48;
    public static final long DATA_SIZE_OFFSET = 56;
    public static final long HEARTBEAT_OFFSET = 64;
    public static final long STATE_OFFSET = 128;
    /** The header takes one page so that the data region starts page-aligned. */
    public static final long LENGTH = 4096;

    public static final int STATE_SERVING = 1;
    public static final int STATE_CLOSED = 2;

    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private SegmentHeader()
    {
    }

    /** Written by the worker before the segment's name is given to any client. */
    public static void write(final MemorySegment segment, final int index, final long generation, final long pid,
        final long startEpochMs)
    {
        segment.set(ValueLayout.JAVA_LONG, MAGIC_OFFSET, MAGIC);
        segment.set(ValueLayout.JAVA_INT, LAYOUT_VERSION_OFFSET, LAYOUT_VERSION);
        segment.set(ValueLayout.JAVA_INT, SEGMENT_INDEX_OFFSET, index);
        segment.set(ValueLayout.JAVA_LONG, GENERATION_OFFSET, generation);
        segment.set(ValueLayout.JAVA_LONG, WORKER_PID_OFFSET, pid);
        segment.set(ValueLayout.JAVA_LONG, WORKER_START_OFFSET, startEpochMs);
        segment.set(ValueLayout.JAVA_LONG, SEGMENT_SIZE_OFFSET, segment.byteSize());
        segment.set(ValueLayout.JAVA_LONG, DATA_OFFSET_OFFSET, LENGTH);
        segment.set(ValueLayout.JAVA_LONG, DATA_SIZE_OFFSET, segment.byteSize() - LENGTH);
        LONG.setRelease(segment, HEARTBEAT_OFFSET, startEpochMs);
        INT.setRelease(segment, STATE_OFFSET, STATE_SERVING);
    }

    public static long magic(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_LONG, MAGIC_OFFSET);
    }

    public static int layoutVersion(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_INT, LAYOUT_VERSION_OFFSET);
    }

    public static int segmentIndex(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_INT, SEGMENT_INDEX_OFFSET);
    }

    public static long generation(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_LONG, GENERATION_OFFSET);
    }

    public static long workerPid(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_LONG, WORKER_PID_OFFSET);
    }

    public static long dataOffset(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_LONG, DATA_OFFSET_OFFSET);
    }

    public static long dataSize(final MemorySegment segment)
    {
        return segment.get(ValueLayout.JAVA_LONG, DATA_SIZE_OFFSET);
    }

    public static long heartbeat(final MemorySegment segment)
    {
        return (long) LONG.getAcquire(segment, HEARTBEAT_OFFSET);
    }

    public static void heartbeat(final MemorySegment segment, final long epochMs)
    {
        LONG.setRelease(segment, HEARTBEAT_OFFSET, epochMs);
    }

    public static int state(final MemorySegment segment)
    {
        return (int) INT.getAcquire(segment, STATE_OFFSET);
    }

    public static void state(final MemorySegment segment, final int state)
    {
        INT.setRelease(segment, STATE_OFFSET, state);
    }
}
