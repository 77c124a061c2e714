package io.ds4j.common.protocol.peer;

import io.ds4j.common.KeyMeta;
import io.ds4j.common.KeyRules;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code OWNER_QUERY} (docs/protocol.md 13.4). Request: subscribe timeout in ms (long), a count, the keys (strings).
 * Reply: a count, then per key a presence byte (0 missing, 1 present) followed, when present, by its
 * {@link KeyMetaCodec key metadata}.
 */
public final class OwnerQueryCodec
{
    /** A decoded request. */
    public record Request(long subTimeoutMs, List<String> keys)
    {
    }

    private OwnerQueryCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final long subTimeoutMs, final List<String> keys)
    {
        out.putLong(subTimeoutMs).putInt(keys.size());
        for (final String key : keys)
        {
            out.putString(key);
        }
    }

    /** The subscribe timeout of a request not read yet (the reader stays where it is). */
    public static long peekSubTimeoutMs(final BodyReader in)
    {
        return in.peekLong();
    }

    public static Request readRequest(final BodyReader in)
    {
        final long subTimeoutMs = in.getLong();
        final int count = in.getCount(4, KeyRules.MAX_READ_BATCH);
        final List<String> keys = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            keys.add(in.getString());
        }
        return new Request(subTimeoutMs, keys);
    }

    public static void writeReply(final BodyWriter out, final KeyMeta[] metas)
    {
        out.putInt(metas.length);
        for (final KeyMeta meta : metas)
        {
            out.putBoolean(meta != null);
            if (meta != null)
            {
                KeyMetaCodec.write(out, meta);
            }
        }
    }

    public static KeyMeta[] readReply(final BodyReader in, final int expected)
    {
        final int count = in.getCount(1, expected);
        final KeyMeta[] metas = new KeyMeta[count];
        for (int i = 0; i < count; i++)
        {
            metas[i] = in.getBoolean() ? KeyMetaCodec.read(in) : null;
        }
        return metas;
    }
}
