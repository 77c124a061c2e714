package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.util.List;

/**
 * {@code KV_DELETE} (docs/protocol.md 5.10). Request: a key list (1..10,000). Reply: a failed-keys body
 * ({@link BatchCodec.FailedKeys}).
 */
public final class KvDeleteCodec
{
    private KvDeleteCodec()
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
}
