package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * {@code KV_EXIST} (docs/protocol.md 5.11). Request: a key list (1..10,000). Reply: a count, then per key whether
 * it exists (bool).
 */
public final class KvExistCodec
{
    /** The bytes a reply item takes. */
    private static final int REPLY_ITEM_BYTES = 1;

    private KvExistCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final List<String> keys)
    {
        BatchCodec.writeKeys(out, keys);
    }

    /**
     * Reads the keys into {@code keys}, replacing what it held.
     *
     * @throws DsException INVALID for 0 keys or more than 10,000
     */
    public static void readRequest(final BodyReader in, final List<String> keys)
    {
        BatchCodec.readKeys(in, keys);
    }

    /** The reply: {@code exists} is asked once per key, in order, as the answer is written. */
    public static void writeReply(final BodyWriter out, final List<String> keys, final Predicate<String> exists)
    {
        out.putInt(keys.size());
        for (final String key : keys)
        {
            out.putBoolean(exists.test(key));
        }
    }

    /** @throws ProtocolException for a count above {@code max} (the request's) or beyond the frame */
    public static List<Boolean> readReply(final BodyReader in, final int max)
    {
        final int count = in.getCount(REPLY_ITEM_BYTES, max);
        final List<Boolean> result = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            result.add(in.getBoolean());
        }
        return result;
    }
}
