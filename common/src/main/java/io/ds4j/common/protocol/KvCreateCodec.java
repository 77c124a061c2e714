package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.WriteMode;

/**
 * {@code KV_CREATE} (docs/protocol.md 5.5): regions in the pool that the client fills in place. Request: the set
 * parameters ({@link SetParamsCodec}), a count (1..1999), then per item a key and a size (int64). Reply: a count,
 * then per item a status and either the region (allocation id, segment index, data offset) or the reason.
 */
public final class KvCreateCodec
{
    /** The least bytes an item takes: the key's length word and the size. */
    private static final int MIN_ITEM_BYTES = 12;
    /** The least bytes a reply item takes: its status. */
    private static final int MIN_REPLY_ITEM_BYTES = 4;

    private KvCreateCodec()
    {
    }

    /** Starts a request of {@code count} items; then write each with {@link #writeItem}. */
    public static void writeHeader(final BodyWriter out, final WriteMode writeMode, final ExistenceOpt existence,
        final CacheType cacheType, final int ttlSecond, final int count)
    {
        SetParamsCodec.write(out, writeMode, existence, cacheType, ttlSecond);
        out.putInt(count);
    }

    public static void writeItem(final BodyWriter out, final String key, final long size)
    {
        out.putString(key).putLong(size);
    }

    /** Starts the reply; then one {@link #writeCreated} or {@link #writeFailed} per request item, in order. */
    public static void writeReplyCount(final BodyWriter out, final int count)
    {
        out.putInt(count);
    }

    public static void writeCreated(final BodyWriter out, final long allocationId, final int segmentIndex,
        final long dataOffset)
    {
        out.putInt(StatusCodec.OK).putLong(allocationId).putInt(segmentIndex).putLong(dataOffset);
    }

    public static void writeFailed(final BodyWriter out, final DsException e)
    {
        out.putInt(e.code().value()).putString(e.detail());
    }

    /** @throws ProtocolException for a count above {@code max} (the request's) or beyond the frame */
    public static int readReplyCount(final BodyReader in, final int max)
    {
        return in.getCount(MIN_REPLY_ITEM_BYTES, max);
    }

    /** Reads the next reply item into {@code region}. */
    public static void readReplyItem(final BodyReader in, final CreatedRegion region)
    {
        final int status = in.getInt();
        if (status != StatusCodec.OK)
        {
            region.failed(status, in.getString());
            return;
        }
        final long allocationId = in.getLong();
        final int segmentIndex = in.getInt();
        region.created(allocationId, segmentIndex, in.getLong());
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
        private long size;

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

        /** Reads the next item into {@link #key()} and {@link #size()}. */
        public void next()
        {
            key = in.getString();
            size = in.getLong();
        }

        public String key()
        {
            return key;
        }

        /** The value size asked for; may be negative (the worker answers that item INVALID). */
        public long size()
        {
            return size;
        }
    }
}
