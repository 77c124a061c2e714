package io.ds4j.common.protocol;

/**
 * {@code OBJ_QUERY_REF} (docs/protocol.md 5.19). Request: a key. Reply: the key's total global reference count
 * (int64).
 */
public final class ObjQueryRefCodec
{
    private ObjQueryRefCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key)
    {
        out.putString(key);
    }

    public static String readRequest(final BodyReader in)
    {
        return in.getString();
    }

    public static void writeReply(final BodyWriter out, final long count)
    {
        out.putLong(count);
    }

    public static long readReply(final BodyReader in)
    {
        return in.getLong();
    }
}
