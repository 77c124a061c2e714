package io.ds4j.common.protocol;

import io.ds4j.common.DsException;

import java.util.List;
import java.util.function.ToLongFunction;

/**
 * {@code KV_PUBLISH} (docs/protocol.md 5.6): makes filled pending buffers the current values of their keys.
 * Request: a count (1..1999), then that many allocation ids (int64), as in {@link AllocationIdsCodec}. Reply: a
 * failed-keys body ({@link BatchCodec.FailedKeys}), an unknown id under the key {@link #unknownIdKey}.
 */
public final class KvPublishCodec
{
    private KvPublishCodec()
    {
    }

    public static <T> void writeRequest(final BodyWriter out, final List<T> items,
        final ToLongFunction<? super T> allocationId)
    {
        AllocationIdsCodec.write(out, items, allocationId);
    }

    /**
     * Reads the count; then read each id with {@link AllocationIdsCodec#readId}.
     *
     * @throws DsException INVALID for 0 ids or 2000 and more
     */
    public static int readCount(final BodyReader in)
    {
        return BatchCodec.readSetCount(in, AllocationIdsCodec.ITEM_BYTES);
    }

    /** The key under which the failed-keys answer names an id that has no key: {@code "#<id>"}. */
    public static String unknownIdKey(final long allocationId)
    {
        return "#" + allocationId;
    }
}
