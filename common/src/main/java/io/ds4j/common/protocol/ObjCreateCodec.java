package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;

import java.util.function.Function;

/**
 * {@code OBJ_CREATE} (docs/protocol.md 5.14): a region for one object, filled in place. Request: the object
 * parameters (consistency type, cache type), a key, a size (int64). Reply: allocation id, segment index, data
 * offset.
 */
public final class ObjCreateCodec
{
    private ObjCreateCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final ConsistencyType consistency, final CacheType cacheType,
        final String key, final long size)
    {
        ObjectParamsCodec.writeParams(out, consistency, cacheType);
        out.putString(key).putLong(size);
    }

    public static void writeReply(final BodyWriter out, final long allocationId, final int segmentIndex,
        final long dataOffset)
    {
        out.putLong(allocationId).putInt(segmentIndex).putLong(dataOffset);
    }

    /** Reads the reply into {@code region} (always a created one: a failure is an error response). */
    public static void readReply(final BodyReader in, final CreatedRegion region)
    {
        final long allocationId = in.getLong();
        final int segmentIndex = in.getInt();
        region.created(allocationId, segmentIndex, in.getLong());
    }

    /**
     * A reusable decoder of one request at a time (one per connection). The cache type goes to the reader's own
     * parameter type as soon as it is read.
     */
    public static final class Request<P>
    {
        private ConsistencyType consistency;
        private P params;
        private String key;
        private long size;

        /** @throws DsException INVALID for an unknown consistency or cache type; what {@code params} throws */
        public void read(final BodyReader in, final Function<CacheType, P> params)
        {
            consistency = ObjectParamsCodec.readConsistency(in);
            this.params = ObjectParamsCodec.readCacheType(in, params);
            key = in.getString();
            size = in.getLong();
        }

        public ConsistencyType consistency()
        {
            return consistency;
        }

        public P params()
        {
            return params;
        }

        public String key()
        {
            return key;
        }

        /** May be negative (the worker answers INVALID). */
        public long size()
        {
            return size;
        }
    }
}
