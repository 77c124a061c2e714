package io.ds4j.common.protocol;

import java.util.List;
import java.util.function.ToLongFunction;

/**
 * {@code KV_ABORT} and {@code RELEASE} (docs/protocol.md 5.7, 5.9): a count (no limit but the frame), then that many
 * allocation ids (int64). Sent with NO_REPLY; without it the reply is empty. {@link KvPublishCodec} has the same
 * body within the set-batch limit.
 */
public final class AllocationIdsCodec
{
    /** The bytes an item takes. */
    static final int ITEM_BYTES = 8;

    private AllocationIdsCodec()
    {
    }

    /** A body of one id. */
    public static void write(final BodyWriter out, final long allocationId)
    {
        out.putInt(1).putLong(allocationId);
    }

    /** A body of the first {@code count} ids of {@code allocationIds}. */
    public static void write(final BodyWriter out, final long[] allocationIds, final int count)
    {
        out.putInt(count);
        for (int i = 0; i < count; i++)
        {
            out.putLong(allocationIds[i]);
        }
    }

    /** A body of the ids of {@code items}; a method reference for {@code allocationId} allocates nothing. */
    public static <T> void write(final BodyWriter out, final List<T> items, final ToLongFunction<? super T> allocationId)
    {
        out.putInt(items.size());
        for (final T item : items)
        {
            out.putLong(allocationId.applyAsLong(item));
        }
    }

    /** @throws ProtocolException for a negative count or one the frame cannot hold */
    public static int readCount(final BodyReader in)
    {
        return in.getCount(ITEM_BYTES, Integer.MAX_VALUE);
    }

    /** The next id, after {@link #readCount} (or {@link KvPublishCodec#readCount}). */
    public static long readId(final BodyReader in)
    {
        return in.getLong();
    }
}
