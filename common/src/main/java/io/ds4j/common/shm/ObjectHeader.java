package io.ds4j.common.shm;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The 64 bytes in front of every value in the pool (docs/shm-layout.md, "Object header"). The worker writes it
 * when it allocates and when the object changes state; a client that maps the pool checks the allocation id of a
 * view against the one the worker told it, so a mix-up can never hand out another object's bytes.
 *
 * <pre>
 *   0  magic          int32  0x4A424F44 ("DOBJ")
 *   4  state          int32  1 writing, 2 published, 3 sealed, 4 dead (release/acquire)
 *   8  allocation id  int64  unique within one worker generation
 *  16  data size      int64  bytes of the value that follows the header
 *  24  version        int64  the key's version this value is
 *  32  latch word     int64  reserved for the object interface (cross-process latch)
 *  40  ref word       int64  reserved for the object interface (reference count)
 *  48  reserved       2 x int64, zero
 *  64  value bytes ...
 * </pre>
 */
public final class ObjectHeader
{
    public static final int MAGIC = 0x4A424F44;
    public static final long MAGIC_OFFSET = 0;
    public static final long STATE_OFFSET = 4;
    public static final long ALLOCATION_ID_OFFSET = 8;
    public static final long DATA_SIZE_OFFSET = 16;
    public static final long VERSION_OFFSET = 24;
    public static final long LATCH_OFFSET = 32;
    public static final long REF_OFFSET = 40;
    public static final long LENGTH = 64;

    public static final int STATE_WRITING = 1;
    public static final int STATE_PUBLISHED = 2;
    public static final int STATE_SEALED = 3;
    public static final int STATE_DEAD = 4;

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    private ObjectHeader()
    {
    }

    /** Initialises the header at {@code headerOffset} of the mapped segment for a fresh allocation. */
    public static void init(final MemorySegment segment, final long headerOffset, final long allocationId,
        final long dataSize, final long version)
    {
        segment.set(ValueLayout.JAVA_INT, headerOffset + MAGIC_OFFSET, MAGIC);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + ALLOCATION_ID_OFFSET, allocationId);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + DATA_SIZE_OFFSET, dataSize);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + VERSION_OFFSET, version);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + LATCH_OFFSET, 0L);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + REF_OFFSET, 0L);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + 48, 0L);
        segment.set(ValueLayout.JAVA_LONG, headerOffset + 56, 0L);
        INT.setRelease(segment, headerOffset + STATE_OFFSET, STATE_WRITING);
    }

    public static int magic(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_INT, headerOffset + MAGIC_OFFSET);
    }

    public static int state(final MemorySegment segment, final long headerOffset)
    {
        return (int) INT.getAcquire(segment, headerOffset + STATE_OFFSET);
    }

    public static void state(final MemorySegment segment, final long headerOffset, final int state)
    {
        INT.setRelease(segment, headerOffset + STATE_OFFSET, state);
    }

    public static long allocationId(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_LONG, headerOffset + ALLOCATION_ID_OFFSET);
    }

    public static long dataSize(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_LONG, headerOffset + DATA_SIZE_OFFSET);
    }

    public static long version(final MemorySegment segment, final long headerOffset)
    {
        return segment.get(ValueLayout.JAVA_LONG, headerOffset + VERSION_OFFSET);
    }

    public static void version(final MemorySegment segment, final long headerOffset, final long version)
    {
        segment.set(ValueLayout.JAVA_LONG, headerOffset + VERSION_OFFSET, version);
    }
}
