package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code OBJ_GET} (docs/protocol.md 5.17). Request: sub timeout ms (int64), then a key list (1..10,000). Reply: a
 * count, then per key an entry: a {@link ValueKind} byte; unless MISSING the version (int64) and entry flags (int8,
 * bit 0x01 sealed), then the object's bytes (INLINE) or a pool reference (POOL_VIEW: allocation id, segment index,
 * data offset, data size).
 */
public final class ObjGetCodec
{
    /** The bytes an inline entry takes besides its value: kind, version, flags and the length word. */
    public static final int INLINE_ENTRY_OVERHEAD = 14;
    /** Entry flag bit: the object is sealed. */
    private static final int ENTRY_SEALED = 0x01;
    /** The least bytes an entry takes: its kind. */
    private static final int MIN_ENTRY_BYTES = 1;

    private ObjGetCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final long subTimeoutMs, final List<String> keys)
    {
        out.putLong(subTimeoutMs);
        BatchCodec.writeKeys(out, keys);
    }

    /** Starts the reply; then one entry per requested key, in order. */
    public static void writeEntryCount(final BodyWriter out, final int count)
    {
        out.putInt(count);
    }

    public static void writeMissing(final BodyWriter out)
    {
        ValueKind.MISSING.write(out);
    }

    /** An inline entry: {@link #INLINE_ENTRY_OVERHEAD} bytes plus the object's. */
    public static void writeInline(final BodyWriter out, final long version, final boolean sealed,
        final MemorySegment value)
    {
        writeHeader(out, ValueKind.INLINE, version, sealed);
        out.putBytes(value);
    }

    public static void writeView(final BodyWriter out, final long version, final boolean sealed,
        final long allocationId, final int segmentIndex, final long dataOffset, final long dataSize)
    {
        writeHeader(out, ValueKind.POOL_VIEW, version, sealed);
        ValueEntry.writeView(out, allocationId, segmentIndex, dataOffset, dataSize);
    }

    private static void writeHeader(final BodyWriter out, final ValueKind kind, final long version,
        final boolean sealed)
    {
        kind.write(out);
        out.putLong(version).putByte(sealed ? ENTRY_SEALED : 0);
    }

    /** @throws ProtocolException for a count above {@code max} (the request's) or beyond the frame */
    public static int readEntryCount(final BodyReader in, final int max)
    {
        return in.getCount(MIN_ENTRY_BYTES, max);
    }

    /**
     * Reads the next entry into {@code entry} and returns its kind. After INLINE the object's bytes follow: take
     * them with {@link #readInlineInPlace} before the next entry.
     *
     * @throws ProtocolException for an unknown kind or a field beyond the frame
     */
    public static ValueKind readEntry(final BodyReader in, final ValueEntry entry)
    {
        final ValueKind kind = ValueKind.read(in);
        if (kind == ValueKind.MISSING)
        {
            entry.header(kind, 0, false);
            return kind;
        }
        final long version = in.getLong();
        entry.header(kind, version, (in.getByte() & ENTRY_SEALED) != 0);
        if (kind == ValueKind.POOL_VIEW)
        {
            entry.readView(in);
        }
        return kind;
    }

    /** An inline entry's bytes in the received frame: valid until the next frame is read on the connection. */
    public static MemorySegment readInlineInPlace(final BodyReader in)
    {
        return in.getBytesInPlace();
    }

    /** A reusable decoder of one request at a time (one per connection). */
    public static final class Request
    {
        private final List<String> keys = new ArrayList<>();
        private long subTimeoutMs;

        /** @throws DsException INVALID for 0 keys or more than 10,000 */
        public void read(final BodyReader in)
        {
            subTimeoutMs = in.getLong();
            BatchCodec.readKeys(in, keys);
        }

        /** > 0: wait up to this long for objects not yet published. */
        public long subTimeoutMs()
        {
            return subTimeoutMs;
        }

        /** The keys, reused by the next {@link #read}. */
        public List<String> keys()
        {
            return keys;
        }
    }
}
