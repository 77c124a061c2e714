package io.ds4j.client.hetero;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The only code that writes or reads the fragment layout kept in front of a host object made by {@code msetD2H}
 * (docs/device.md, "The fragment layout"): how many device fragments the key had and how big each was, so that
 * {@code mgetH2D} restores them, in any process and after any worker that held the value.
 *
 * <pre>
 *  0  u32  magic "DSFL"
 *  4  u16  layout version (1)
 *  6  u16  0
 *  8  u32  fragment count n (1..65,536)
 * 12  u32  0
 * 16  u64  data offset: where fragment 0 starts (the header's length rounded up to 64)
 * 24  n x u64  fragment sizes
 *  .. zeros up to the data offset, then the fragments back to back
 * </pre>
 * Little-endian. The value is an ordinary KV value: {@code kv().get} of the key returns the header and the bytes.
 */
public final class FragmentLayout
{
    public static final int MAGIC = 0x4C46_5344; // "DSFL" read as a little-endian int
    public static final int VERSION = 1;
    public static final int MAX_FRAGMENTS = 65_536;
    /** Fragment data starts on a cache line, as the pool's values do. */
    private static final int ALIGNMENT = 64;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT =
        ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int MAGIC_OFFSET = 0;
    private static final int VERSION_OFFSET = 4;
    private static final int COUNT_OFFSET = 8;
    private static final int DATA_OFFSET_OFFSET = 16;
    private static final int SIZES_OFFSET = 24;

    private FragmentLayout()
    {
    }

    /** Where the fragments start in an object of {@code count} fragments. */
    public static long dataOffset(final int count)
    {
        final long header = SIZES_OFFSET + 8L * count;
        return (header + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** The size of the host object holding fragments of these sizes. */
    public static long objectSize(final long[] sizes, final int count)
    {
        checkCount(count);
        long total = dataOffset(count);
        for (int i = 0; i < count; i++)
        {
            total += sizes[i];
        }
        return total;
    }

    /** Writes the header for {@code count} fragments of {@code sizes} at the start of {@code object}. */
    public static void write(final MemorySegment object, final long[] sizes, final int count)
    {
        checkCount(count);
        final long dataOffset = dataOffset(count);
        object.set(INT, MAGIC_OFFSET, MAGIC);
        object.set(SHORT, VERSION_OFFSET, (short) VERSION);
        object.set(SHORT, VERSION_OFFSET + 2, (short) 0);
        object.set(INT, COUNT_OFFSET, count);
        object.set(INT, COUNT_OFFSET + 4, 0);
        object.set(LONG, DATA_OFFSET_OFFSET, dataOffset);
        for (int i = 0; i < count; i++)
        {
            object.set(LONG, SIZES_OFFSET + 8L * i, sizes[i]);
        }
        final long padding = SIZES_OFFSET + 8L * count;
        object.asSlice(padding, dataOffset - padding).fill((byte) 0);
    }

    /**
     * Checks {@code object}'s header and that its fragments are exactly {@code sizes}; returns the data offset.
     *
     * @throws DsException INVALID when the value was not made by msetD2H (no header, another version, sizes that do
     *                     not add up to the value) or its fragments are not the ones asked for
     */
    public static long check(final MemorySegment object, final long[] sizes, final int count, final String key)
    {
        if (object.byteSize() < SIZES_OFFSET || object.get(INT, MAGIC_OFFSET) != MAGIC)
        {
            throw new DsException(StatusCode.INVALID, key + " was not set by msetD2H (its value has no fragment"
                + " layout); read it with kv().get");
        }
        final int version = object.get(SHORT, VERSION_OFFSET);
        if (version != VERSION)
        {
            throw new DsException(StatusCode.INVALID, key + " has fragment layout version " + version
                + "; this client reads version " + VERSION);
        }
        final int stored = object.get(INT, COUNT_OFFSET);
        final long dataOffset = object.get(LONG, DATA_OFFSET_OFFSET);
        if (stored < 1 || stored > MAX_FRAGMENTS || dataOffset != dataOffset(stored) || dataOffset > object.byteSize())
        {
            throw new DsException(StatusCode.DATA_INCONSISTENCY, key + " has a corrupt fragment layout");
        }
        if (stored != count)
        {
            throw new DsException(StatusCode.INVALID, key + " was stored as " + stored + " fragments, but "
                + count + " blobs were given");
        }
        long total = dataOffset;
        for (int i = 0; i < count; i++)
        {
            final long size = object.get(LONG, SIZES_OFFSET + 8L * i);
            if (size != sizes[i])
            {
                throw new DsException(StatusCode.INVALID, key + ": fragment " + i + " was stored with " + size
                    + " bytes, but its blob has " + sizes[i]);
            }
            total += size;
        }
        if (total != object.byteSize())
        {
            throw new DsException(StatusCode.DATA_INCONSISTENCY, key + ": fragments of " + (total - dataOffset)
                + " bytes do not fill its value of " + object.byteSize() + " bytes");
        }
        return dataOffset;
    }

    /** The stored fragment sizes (upstream {@code MetaInfo.blob_size_list}). */
    public static long[] sizes(final MemorySegment object, final String key)
    {
        if (object.byteSize() < SIZES_OFFSET || object.get(INT, MAGIC_OFFSET) != MAGIC)
        {
            throw new DsException(StatusCode.INVALID, key + " was not set by msetD2H");
        }
        final int count = object.get(INT, COUNT_OFFSET);
        if (count < 1 || count > MAX_FRAGMENTS || dataOffset(count) > object.byteSize())
        {
            throw new DsException(StatusCode.DATA_INCONSISTENCY, key + " has a corrupt fragment layout");
        }
        final long[] sizes = new long[count];
        for (int i = 0; i < count; i++)
        {
            sizes[i] = object.get(LONG, SIZES_OFFSET + 8L * i);
        }
        return sizes;
    }

    private static void checkCount(final int count)
    {
        if (count < 1 || count > MAX_FRAGMENTS)
        {
            throw new DsException(StatusCode.INVALID, "a key holds 1.." + MAX_FRAGMENTS + " fragments, not " + count);
        }
    }
}
