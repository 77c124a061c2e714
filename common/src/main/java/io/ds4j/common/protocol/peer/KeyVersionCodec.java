package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

/**
 * The body shared by the messages about one version of a key at one worker (docs/protocol.md 13.5):
 * {@code OWNER_ADD_COPY}, {@code OWNER_REMOVE_COPY}, {@code OWNER_DROPPED} (key, version, holder),
 * {@code HOLDER_RETIRE} (key, version, and the reason's ordinal in the holder field's place as a long),
 * {@code HOLDER_EXPIRY} (key, version, expiry ms) and {@code HOLDER_PROMOTE} (key, version, 0). Replies: a bool for
 * OWNER_ADD_COPY, empty for the others.
 */
public final class KeyVersionCodec
{
    /** A decoded request; {@code holder} is null and {@code extra} holds the reason or the expiry where they apply. */
    public record Request(String key, long version, String holder, long extra)
    {
    }

    private KeyVersionCodec()
    {
    }

    /** OWNER_ADD_COPY, OWNER_REMOVE_COPY, OWNER_DROPPED. */
    public static void writeHolder(final BodyWriter out, final String key, final long version, final String holder)
    {
        out.putString(key).putLong(version).putString(holder);
    }

    public static Request readHolder(final BodyReader in)
    {
        return new Request(in.getString(), in.getLong(), in.getString(), 0);
    }

    /** HOLDER_RETIRE (reason: the ordinal of the worker's removal reason), HOLDER_EXPIRY (expiry ms), HOLDER_PROMOTE (0). */
    public static void writeValue(final BodyWriter out, final String key, final long version, final long value)
    {
        out.putString(key).putLong(version).putLong(value);
    }

    public static Request readValue(final BodyReader in)
    {
        return new Request(in.getString(), in.getLong(), null, in.getLong());
    }
}
