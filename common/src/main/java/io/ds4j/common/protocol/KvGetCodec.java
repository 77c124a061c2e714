package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code KV_GET} (docs/protocol.md 5.8). Request: sub timeout ms (int64), views (bool), then a key list
 * (1..10,000). Reply: a count, then per key an entry: a {@link ValueKind} byte, then nothing (MISSING), the value's
 * bytes (INLINE), or a pool reference (POOL_VIEW: allocation id, segment index, data offset, data size).
 */
public final class KvGetCodec
{
    /** The bytes an inline entry takes besides its value: the kind and the length word. */
    public static final int INLINE_ENTRY_OVERHEAD = 5;
    /** The least bytes an entry takes: its kind. */
    private static final int MIN_ENTRY_BYTES = 1;

    private KvGetCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final long subTimeoutMs, final boolean views,
        final List<String> keys)
    {
        out.putLong(subTimeoutMs).putBoolean(views);
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

    /** An inline entry: {@link #INLINE_ENTRY_OVERHEAD} bytes plus the value's. */
    public static void writeInline(final BodyWriter out, final MemorySegment value)
    {
        ValueKind.INLINE.write(out);
        out.putBytes(value);
    }

    public static void writeView(final BodyWriter out, final long allocationId, final int segmentIndex,
        final long dataOffset, final long dataSize)
    {
        ValueKind.POOL_VIEW.write(out);
        ValueEntry.writeView(out, allocationId, segmentIndex, dataOffset, dataSize);
    }

    /** @throws ProtocolException for a count above {@code max} (the request's) or beyond the frame */
    public static int readEntryCount(final BodyReader in, final int max)
    {
        return in.getCount(MIN_ENTRY_BYTES, max);
    }

    /**
     * Reads the next entry into {@code entry} and returns its kind. After INLINE the value follows: take it with
     * {@link #readInline} or {@link #readInlineInPlace} before the next entry.
     *
     * @throws ProtocolException for an unknown kind or a field beyond the frame
     */
    public static ValueKind readEntry(final BodyReader in, final ValueEntry entry)
    {
        final ValueKind kind = ValueKind.read(in);
        entry.header(kind, 0, false);
        if (kind == ValueKind.POOL_VIEW)
        {
            entry.readView(in);
        }
        return kind;
    }

    /** An inline entry's value, copied. */
    public static byte[] readInline(final BodyReader in)
    {
        return in.getBytes();
    }

    /** An inline entry's value in the received frame: valid until the next frame is read on the connection. */
    public static MemorySegment readInlineInPlace(final BodyReader in)
    {
        return in.getBytesInPlace();
    }

    /** A reusable decoder of one request at a time (one per connection). */
    public static final class Request
    {
        private final List<String> keys = new ArrayList<>();
        private long subTimeoutMs;
        private boolean views;

        /** @throws DsException INVALID for 0 keys or more than 10,000 */
        public void read(final BodyReader in)
        {
            subTimeoutMs = in.getLong();
            views = in.getBoolean();
            BatchCodec.readKeys(in, keys);
        }

        /** > 0: wait up to this long for keys that do not exist yet. */
        public long subTimeoutMs()
        {
            return subTimeoutMs;
        }

        /** Whether the client wants zero-copy views. */
        public boolean views()
        {
            return views;
        }

        /** The keys, reused by the next {@link #read}. */
        public List<String> keys()
        {
            return keys;
        }
    }
}
