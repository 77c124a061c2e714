package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

/**
 * The body of the one-key owner calls (docs/protocol.md 13.6): {@code OWNER_DELETE} and {@code OWNER_EXISTS} (key),
 * {@code OWNER_EXPIRE} (key, ttl seconds as an int). Reply: a bool (existed, exists, was found).
 */
public final class KeyCodec
{
    private KeyCodec()
    {
    }

    public static void writeKey(final BodyWriter out, final String key)
    {
        out.putString(key);
    }

    public static void writeKeyTtl(final BodyWriter out, final String key, final int ttlSecond)
    {
        out.putString(key).putInt(ttlSecond);
    }

    public static void writeReply(final BodyWriter out, final boolean answer)
    {
        out.putBoolean(answer);
    }

    public static boolean readReply(final BodyReader in)
    {
        return in.getBoolean();
    }
}
