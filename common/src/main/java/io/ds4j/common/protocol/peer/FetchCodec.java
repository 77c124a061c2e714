package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

/**
 * {@code FETCH} (docs/protocol.md 13.7). Request: key (string), the version the owner named (long). Reply: found
 * (bool); when found, the version sent (long: that one or a newer one the primary holds by now), flags (byte: bit 0
 * written through the object interface, bit 1 sealed) and the size (long). The reply frame is
 * followed on the socket by exactly {@code size} raw bytes, the value, which are not part of the frame: the sender
 * streams them from its segment file (sendfile) and the receiver reads them straight into its pool.
 */
public final class FetchCodec
{
    public static final int FLAG_OBJECT = 1;
    public static final int FLAG_SEALED = 2;

    /** A decoded reply header; the bytes follow on the socket. */
    public record Reply(boolean found, long version, boolean isObject, boolean sealed, long size)
    {
    }

    private FetchCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key, final long version)
    {
        out.putString(key).putLong(version);
    }

    public static void writeFound(final BodyWriter out, final long version, final boolean isObject,
        final boolean sealed, final long size)
    {
        out.putBoolean(true).putLong(version).putByte((isObject ? FLAG_OBJECT : 0) | (sealed ? FLAG_SEALED : 0)).putLong(size);
    }

    public static void writeMissing(final BodyWriter out)
    {
        out.putBoolean(false);
    }

    /** @param maxSize the most bytes the receiver accepts (its pool's size) */
    public static Reply readReply(final BodyReader in, final long maxSize)
    {
        if (!in.getBoolean())
        {
            return new Reply(false, 0, false, false, 0);
        }
        final long version = in.getLong();
        final int flags = in.getByte();
        final long size = in.getLong();
        if (size < 0 || size > maxSize)
        {
            throw new ProtocolException("fetched value of " + size + " bytes is outside 0.." + maxSize);
        }
        return new Reply(true, version, (flags & FLAG_OBJECT) != 0, (flags & FLAG_SEALED) != 0, size);
    }
}
