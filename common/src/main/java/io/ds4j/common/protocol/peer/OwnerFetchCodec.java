package io.ds4j.common.protocol.peer;

import io.ds4j.common.KeyMeta;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

/**
 * {@code OWNER_FETCH} (docs/protocol.md 13.9): a get's one round trip to a key's owner. Request: subscribe timeout in
 * ms (long), key (string). Reply: present (bool); when present, the owner's {@link KeyMetaCodec key metadata} and
 * then a {@link FetchCodec FETCH reply}: found false when the owner is not the primary of that version (or does not
 * hold it at this moment), so the caller pulls from the primary the metadata names; found true with the version
 * sent, flags and size when the owner is the primary, and then, as after a FETCH reply, exactly {@code size} raw
 * bytes follow the frame on the socket.
 */
public final class OwnerFetchCodec
{
    /** A decoded request. */
    public record Request(String key, long subTimeoutMs)
    {
    }

    /**
     * A decoded reply: {@code meta} null when the owner has no record of the key; {@code bulk} the header of the
     * bytes that follow (not found when none do).
     */
    public record Reply(KeyMeta meta, FetchCodec.Reply bulk)
    {
    }

    private static final FetchCodec.Reply NO_BULK = new FetchCodec.Reply(false, 0, false, false, 0, false);

    private OwnerFetchCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key, final long subTimeoutMs)
    {
        out.putLong(subTimeoutMs).putString(key);
    }

    /** The subscribe timeout of a request not read yet (the reader stays where it is). */
    public static long peekSubTimeoutMs(final BodyReader in)
    {
        return in.peekLong();
    }

    public static Request readRequest(final BodyReader in)
    {
        final long subTimeoutMs = in.getLong();
        return new Request(in.getString(), subTimeoutMs);
    }

    /** The owner has no record of the key. */
    public static void writeAbsent(final BodyWriter out)
    {
        out.putBoolean(false);
    }

    /** The owner's metadata, without bytes: the caller pulls them from the primary it names. */
    public static void writeMeta(final BodyWriter out, final KeyMeta meta)
    {
        out.putBoolean(true);
        KeyMetaCodec.write(out, meta);
        FetchCodec.writeMissing(out);
    }

    /** The owner's metadata and the header of the bytes that follow the frame. */
    public static void writeFound(final BodyWriter out, final KeyMeta meta, final long version,
        final boolean isObject, final boolean sealed, final long size, final boolean copied)
    {
        out.putBoolean(true);
        KeyMetaCodec.write(out, meta);
        FetchCodec.writeFound(out, version, isObject, sealed, size, copied);
    }

    /** @param maxSize the most bytes the receiver accepts (its pool's size) */
    public static Reply readReply(final BodyReader in, final long maxSize)
    {
        if (!in.getBoolean())
        {
            return new Reply(null, NO_BULK);
        }
        final KeyMeta meta = KeyMetaCodec.read(in);
        return new Reply(meta, FetchCodec.readReply(in, maxSize));
    }
}
