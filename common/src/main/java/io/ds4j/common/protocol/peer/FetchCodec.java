package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

/**
 * {@code FETCH} (docs/protocol.md 13.7). Request: key (string), the version the owner named (long). Reply: found
 * (bool); when found, the version sent (long: that one or a newer one the primary holds by now), flags (byte: bit 0
 * written through the object interface, bit 1 sealed, bit 2 copied: the sender wrote the bytes from memory and
 * wants no FETCH_RECEIVED) and the size (long). The reply frame is
 * followed on the socket by exactly {@code size} raw bytes, the value, which are not part of the frame: the sender
 * streams them from its segment file (sendfile) and the receiver reads them straight into its pool.
 */
public final class FetchCodec
{
    public static final int FLAG_OBJECT = 1;
    public static final int FLAG_SEALED = 2;
    /** The bytes were copied into the socket (a small value), not sent by sendfile: no FETCH_RECEIVED is due. */
    public static final int FLAG_COPIED = 4;

    /**
     * A decoded reply header; the bytes follow on the socket.
     *
     * @param copied the sender copied the bytes into the socket and expects no FETCH_RECEIVED for them
     */
    public record Reply(boolean found, long version, boolean isObject, boolean sealed, long size, boolean copied)
    {
    }

    private FetchCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key, final long version)
    {
        out.putString(key).putLong(version);
    }

    /** @param copied the bytes go by a copy into the socket, not by sendfile: the receiver sends no FETCH_RECEIVED */
    public static void writeFound(final BodyWriter out, final long version, final boolean isObject,
        final boolean sealed, final long size, final boolean copied)
    {
        out.putBoolean(true).putLong(version).putByte((isObject ? FLAG_OBJECT : 0) | (sealed ? FLAG_SEALED : 0)
            | (copied ? FLAG_COPIED : 0)).putLong(size);
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
            return new Reply(false, 0, false, false, 0, false);
        }
        final long version = in.getLong();
        final int flags = in.getByte();
        final long size = in.getLong();
        if (size < 0 || size > maxSize)
        {
            throw new ProtocolException("fetched value of " + size + " bytes is outside 0.." + maxSize);
        }
        return new Reply(true, version, (flags & FLAG_OBJECT) != 0, (flags & FLAG_SEALED) != 0, size,
            (flags & FLAG_COPIED) != 0);
    }
}
