package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code KV_EXPIRE} (docs/protocol.md 5.12). Request: ttl second (int32, ≥ 0), then a key list (1..10,000). Reply:
 * a failed-keys body ({@link BatchCodec.FailedKeys}).
 */
public final class KvExpireCodec
{
    private KvExpireCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final int ttlSecond, final List<String> keys)
    {
        out.putInt(ttlSecond);
        BatchCodec.writeKeys(out, keys);
    }

    /** A reusable decoder of one request at a time (one per connection). */
    public static final class Request
    {
        private final List<String> keys = new ArrayList<>();
        private int ttlSecond;

        /**
         * Reads the request; a negative ttl fails it before the keys are read.
         *
         * @throws DsException INVALID for a negative ttl, 0 keys or more than 10,000
         */
        public void read(final BodyReader in)
        {
            ttlSecond = in.getInt();
            if (ttlSecond < 0)
            {
                throw new DsException(StatusCode.INVALID, "ttl_second must be 0 (never expires) or positive, not "
                    + ttlSecond);
            }
            BatchCodec.readKeys(in, keys);
        }

        /** > 0: expires this many seconds from now; 0: never. */
        public int ttlSecond()
        {
            return ttlSecond;
        }

        /** The keys, reused by the next {@link #read}. */
        public List<String> keys()
        {
            return keys;
        }
    }
}
