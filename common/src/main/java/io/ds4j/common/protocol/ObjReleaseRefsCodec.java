package io.ds4j.common.protocol;

/**
 * {@code OBJ_RELEASE_REFS} (docs/protocol.md 5.20). Request: a remote client id (string). Reply: how many
 * references were released (int64).
 */
public final class ObjReleaseRefsCodec
{
    private ObjReleaseRefsCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String remoteClientId)
    {
        out.putString(remoteClientId);
    }

    public static String readRequest(final BodyReader in)
    {
        return in.getString();
    }

    public static void writeReply(final BodyWriter out, final long released)
    {
        out.putLong(released);
    }

    public static long readReply(final BodyReader in)
    {
        return in.getLong();
    }
}
