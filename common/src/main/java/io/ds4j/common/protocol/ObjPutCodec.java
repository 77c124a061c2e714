package io.ds4j.common.protocol;

import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.function.Function;

/**
 * {@code OBJ_PUT} (docs/protocol.md 5.16): an object sent inline. Request: the object parameters (consistency type,
 * cache type), flags (SEAL), expected version (int64, 0 for a new object), key, nested keys (0..10,000), value
 * (bytes, non-null). Reply: the new version (int64).
 */
public final class ObjPutCodec
{
    /** More than the bytes of an OBJ_PUT's fixed fields and length words: the SDK's frame estimate. */
    private static final int FIXED_BYTES_BOUND = 32;

    private ObjPutCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final ConsistencyType consistency, final CacheType cacheType,
        final boolean seal, final long expectVersion, final String key, final List<String> nested,
        final MemorySegment value)
    {
        ObjectParamsCodec.writeParams(out, consistency, cacheType);
        out.putByte(ObjectParamsCodec.flags(seal, false)).putLong(expectVersion).putString(key);
        BatchCodec.writeKeys(out, nested);
        out.putBytes(value);
    }

    /** At least the bytes an OBJ_PUT of these takes (keys are ASCII by the key rules). */
    public static long requestBytes(final String key, final List<String> nested, final long valueBytes)
    {
        return valueBytes + BatchCodec.keyListBytes(nested) + key.length() + FIXED_BYTES_BOUND;
    }

    public static void writeReply(final BodyWriter out, final long version)
    {
        out.putLong(version);
    }

    public static long readReply(final BodyReader in)
    {
        return in.getLong();
    }

    /**
     * A reusable decoder of one request at a time (one per connection). The cache type goes to the reader's own
     * parameter type as soon as it is read.
     */
    public static final class Request<P>
    {
        private ConsistencyType consistency;
        private P params;
        private int flags;
        private long expectVersion;
        private String key;
        private List<String> nested;
        private MemorySegment value;

        /**
         * @throws DsException INVALID for an unknown consistency or cache type, more than 10,000 nested keys; what
         *                     {@code params} throws
         */
        public void read(final BodyReader in, final Function<CacheType, P> params)
        {
            consistency = ObjectParamsCodec.readConsistency(in);
            this.params = ObjectParamsCodec.readCacheType(in, params);
            flags = in.getByte();
            expectVersion = in.getLong();
            key = in.getString();
            nested = BatchCodec.readNestedKeys(in);
            value = in.getBytesInPlace();
        }

        public ConsistencyType consistency()
        {
            return consistency;
        }

        public P params()
        {
            return params;
        }

        public boolean seal()
        {
            return (flags & ObjectParamsCodec.FLAG_SEAL) != 0;
        }

        /** 0: a new object; otherwise the version this one replaces. */
        public long expectVersion()
        {
            return expectVersion;
        }

        public String key()
        {
            return key;
        }

        /** A list of this request's own (or the shared empty list): the callee may keep it. */
        public List<String> nested()
        {
            return nested;
        }

        /** The object's bytes in the received frame: valid until the next frame is read on the connection. */
        public MemorySegment value()
        {
            return value;
        }
    }
}
