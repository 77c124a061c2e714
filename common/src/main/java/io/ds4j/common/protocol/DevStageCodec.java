package io.ds4j.common.protocol;

import io.ds4j.common.KeyRules;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code DEV_STAGE} (docs/protocol.md 5.27) and {@code DEV_SERVE} (5.28): a device object read where its IPC handles
 * cannot be opened (another host) goes through a host object. The reader asks for it with DEV_STAGE: pairs of
 * (device object key, staging key), the staging key an ordinary KV key the reader chose. The producer's client,
 * waiting in DEV_SERVE, gets the pairs of its objects, copies each object D2H into its staging key (msetD2H), and the
 * reader reads that key (mgetH2D) through the cluster's data plane, then deletes it.
 *
 * <p>DEV_STAGE request: a count (1..10,000), then per pair the key and the staging key. Reply: a failed-keys body
 * (NOT_FOUND, or CLIENT_WORKER_DISCONNECT when the producer ended). DEV_SERVE request: the longest wait in ms
 * (int64). Reply, as soon as at least one pair is queued for this session or the wait ran out: a count (0..10,000),
 * then the pairs.
 */
public final class DevStageCodec
{
    private static final int MIN_PAIR_BYTES = 8;

    /** A device object key and the staging key its bytes are to be copied to. */
    public record Pair(String key, String stagingKey)
    {
    }

    private DevStageCodec()
    {
    }

    public static void writePairs(final BodyWriter out, final List<Pair> pairs)
    {
        out.putInt(pairs.size());
        for (final Pair pair : pairs)
        {
            out.putString(pair.key()).putString(pair.stagingKey());
        }
    }

    /** @param allowEmpty whether 0 pairs is valid (a DEV_SERVE answer) or malformed (a DEV_STAGE request) */
    public static List<Pair> readPairs(final BodyReader in, final boolean allowEmpty)
    {
        final int count = in.getCount(MIN_PAIR_BYTES, KeyRules.MAX_READ_BATCH);
        if (count == 0 && !allowEmpty)
        {
            throw new ProtocolException("DEV_STAGE without keys");
        }
        final List<Pair> pairs = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final String key = in.getString();
            final String staging = in.getString();
            if (key == null || staging == null)
            {
                throw new ProtocolException("a DEV_STAGE pair with a null key");
            }
            pairs.add(new Pair(key, staging));
        }
        return pairs;
    }

    public static void writeServeRequest(final BodyWriter out, final long waitMs)
    {
        out.putLong(waitMs);
    }

    public static long readServeRequest(final BodyReader in)
    {
        return in.getLong();
    }
}
