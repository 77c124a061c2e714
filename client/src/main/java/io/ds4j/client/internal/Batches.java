package io.ds4j.client.internal;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BatchCodec;

import java.util.List;

/**
 * What the SDK makes of batch answers (docs/protocol.md 4.1; the bytes are {@link BatchCodec}'s): batch calls return
 * the keys that failed and throw only when every key failed, with the first failure's code. And the size checks
 * made before anything is sent.
 */
public final class Batches
{
    /** Java arrays, and so single values, hold at most this many bytes. */
    public static final long MAX_VALUE_BYTES = Integer.MAX_VALUE - 8;

    private Batches()
    {
    }

    /** The failed keys; throws with the first failure's code when all {@code total} keys failed. */
    public static List<String> failedKeys(final List<BatchCodec.Failure> failures, final int total,
        final String operation)
    {
        if (failures.isEmpty())
        {
            return List.of();
        }
        if (failures.size() == total)
        {
            final BatchCodec.Failure first = failures.getFirst();
            throw new DsException(first.code(), operation + " failed for all " + total + " keys; first: "
                + first.key() + ": " + first.message());
        }
        return failures.stream().map(BatchCodec.Failure::key).toList();
    }

    /** Throws NOT_FOUND when no element of {@code found} is there; {@code noun} is "key" or "object". */
    public static void throwIfAllMissing(final Object[] found, final List<String> keys, final String noun)
    {
        for (final Object value : found)
        {
            if (value != null)
            {
                return;
            }
        }
        throw new DsException(StatusCode.NOT_FOUND, keys.size() == 1 ? noun + " " + keys.getFirst()
            + " does not exist" : "none of the " + keys.size() + " " + noun + "s exists (first: " + keys.getFirst()
            + ")");
    }

    /**
     * The worker sizes its frame limit to its pool, so bytes that do not fit one request cannot fit the pool:
     * OUT_OF_MEMORY before anything is sent.
     */
    public static void checkFitsInFrame(final WorkerLink.State state, final long bytes, final String what)
    {
        if (bytes + (1 << 16) > state.maxFrameLength())
        {
            throw new DsException(StatusCode.OUT_OF_MEMORY, what + " of " + bytes + " bytes is larger than the"
                + " worker's pool can hold (it accepts at most " + state.maxFrameLength() + " bytes per request)");
        }
    }

    public static void checkValueSize(final long size, final String what)
    {
        if (size < 0 || size > MAX_VALUE_BYTES)
        {
            throw new DsException(StatusCode.INVALID, what + " must be 0.." + MAX_VALUE_BYTES + " bytes, not " + size);
        }
    }
}
