package io.ds4j.common.protocol.peer;

import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

/**
 * {@code OWNER_REF} (docs/protocol.md 13.8). Request: key (string), holder (string), operation (byte: 0 increase,
 * 1 decrease, 2 release all), must exist (bool). Reply: the holder's count before (long) and after (long), and the
 * key's holders left (int). {@code OWNER_REF_COUNT}: request key (string), reply the holders (int).
 */
public final class OwnerRefCodec
{
    /** A decoded request; {@code op} is the operation's wire number. */
    public record Request(String key, String holder, int op, boolean mustExist)
    {
    }

    /** A decoded reply. */
    public record Reply(long before, long after, int holders)
    {
    }

    private OwnerRefCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key, final String holder, final int op,
        final boolean mustExist)
    {
        out.putString(key).putString(holder).putByte(op).putBoolean(mustExist);
    }

    /** @param operations how many operations there are (numbers above are malformed) */
    public static Request readRequest(final BodyReader in, final int operations)
    {
        final Request request = new Request(in.getString(), in.getString(), in.getByte(), in.getBoolean());
        if (request.op() >= operations)
        {
            throw new ProtocolException("unknown reference operation " + request.op());
        }
        return request;
    }

    public static void writeReply(final BodyWriter out, final long before, final long after, final int holders)
    {
        out.putLong(before).putLong(after).putInt(holders);
    }

    public static Reply readReply(final BodyReader in)
    {
        return new Reply(in.getLong(), in.getLong(), in.getInt());
    }
}
