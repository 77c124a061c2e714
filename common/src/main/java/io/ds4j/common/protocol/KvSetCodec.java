package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.WriteMode;

import java.lang.foreign.MemorySegment;

/**
 * {@code KV_SET} (docs/protocol.md 5.4): values sent inline. Request: the set parameters ({@link SetParamsCodec}),
 * a count (1..1999), then per item a key and its value (bytes, non-null). Reply: a failed-keys body
 * ({@link BatchCodec.FailedKeys}).
 */
public final class KvSetCodec
{
    /** The least bytes an item takes: the key's and the value's length words. */
    private static final int MIN_ITEM_BYTES = 8;

    private KvSetCodec()
    {
    }

    /** Starts a request of {@code count} items; then write each with {@link #writeItem}. */
    public static void writeHeader(final BodyWriter out, final WriteMode writeMode, final ExistenceOpt existence,
        final CacheType cacheType, final int ttlSecond, final int count)
    {
        SetParamsCodec.write(out, writeMode, existence, cacheType, ttlSecond);
        out.putInt(count);
    }

    public static void writeItem(final BodyWriter out, final String key, final MemorySegment value)
    {
        out.putString(key).putBytes(value);
    }

    public static void writeItem(final BodyWriter out, final String key, final byte[] value)
    {
        out.putString(key).putBytes(value);
    }

    /** The bytes an item adds to a request besides its value: the key and the two length words. */
    public static long itemOverhead(final String key)
    {
        return 8L + key.length();
    }

    /**
     * A reusable decoder of one request at a time (one per connection): {@link #read} the header, then
     * {@link #next} once per item.
     */
    public static final class Request<P>
    {
        private BodyReader in;
        private P params;
        private int count;
        private String key;
        private MemorySegment value;

        /**
         * Reads the parameters and the count.
         *
         * @throws DsException INVALID for a bad parameter or a count outside 1..1999; what {@code params} throws
         */
        public void read(final BodyReader reader, final SetParamsCodec.Factory<P> params)
        {
            in = reader;
            this.params = SetParamsCodec.read(reader, params);
            count = BatchCodec.readSetCount(reader, MIN_ITEM_BYTES);
        }

        public P params()
        {
            return params;
        }

        public int count()
        {
            return count;
        }

        /** Reads the next item into {@link #key()} and {@link #value()}. */
        public void next()
        {
            key = in.getString();
            value = in.getBytesInPlace();
        }

        public String key()
        {
            return key;
        }

        /** The value's bytes in the received frame: valid until the next frame is read on the connection. */
        public MemorySegment value()
        {
            return value;
        }
    }
}
