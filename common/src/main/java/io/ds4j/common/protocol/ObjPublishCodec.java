package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.util.List;

/**
 * {@code OBJ_PUBLISH} (docs/protocol.md 5.15): publishes an object the session holds in the pool. Request: key,
 * allocation id, flags (SEAL, DROP_VIEW), nested keys (0..10,000). Reply: the new version (int64).
 */
public final class ObjPublishCodec
{
    private ObjPublishCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key, final long allocationId,
        final boolean seal, final boolean dropView, final List<String> nested)
    {
        out.putString(key).putLong(allocationId).putByte(ObjectParamsCodec.flags(seal, dropView));
        BatchCodec.writeKeys(out, nested);
    }

    public static void writeReply(final BodyWriter out, final long version)
    {
        out.putLong(version);
    }

    public static long readReply(final BodyReader in)
    {
        return in.getLong();
    }

    /** A reusable decoder of one request at a time (one per connection). */
    public static final class Request
    {
        private String key;
        private long allocationId;
        private int flags;
        private List<String> nested;

        /** @throws DsException INVALID for more than 10,000 nested keys */
        public void read(final BodyReader in)
        {
            key = in.getString();
            allocationId = in.getLong();
            flags = in.getByte();
            nested = BatchCodec.readNestedKeys(in);
        }

        public String key()
        {
            return key;
        }

        public long allocationId()
        {
            return allocationId;
        }

        public boolean seal()
        {
            return (flags & ObjectParamsCodec.FLAG_SEAL) != 0;
        }

        public boolean dropView()
        {
            return (flags & ObjectParamsCodec.FLAG_DROP_VIEW) != 0;
        }

        /** A list of this request's own (or the shared empty list): the callee may keep it. */
        public List<String> nested()
        {
            return nested;
        }
    }
}
