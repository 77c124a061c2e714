package io.ds4j.common.protocol;

import java.util.List;

/**
 * {@code DEV_AWAIT} (docs/protocol.md 5.26): a publisher waits until subscribers received its one-shot objects
 * ({@code devPublish}'s futures). Request: timeout in ms (int64), then a key list (1..10,000). Reply, when every key
 * was received or the time ran out: a failed-keys body with the keys not received (FUTURE_TIMEOUT), or whose
 * publication ended otherwise (deleted, or the session ended: NOT_FOUND).
 */
public final class DevAwaitCodec
{
    private DevAwaitCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final long timeoutMs, final List<String> keys)
    {
        out.putLong(timeoutMs);
        BatchCodec.writeKeys(out, keys);
    }

    public static long readTimeoutMs(final BodyReader in)
    {
        return in.getLong();
    }

    public static void readKeys(final BodyReader in, final List<String> keys)
    {
        BatchCodec.readKeys(in, keys);
    }
}
