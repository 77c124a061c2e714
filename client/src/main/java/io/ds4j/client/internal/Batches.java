package io.ds4j.client.internal;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

import java.util.ArrayList;
import java.util.List;

/**
 * How the SDK writes key lists and reads batch answers (docs/protocol.md 4.1): batch calls return the keys that
 * failed and throw only when every key failed, with the first failure's code.
 */
public final class Batches
{
    /** Java arrays, and so single values, hold at most this many bytes. */
    public static final long MAX_VALUE_BYTES = Integer.MAX_VALUE - 8;

    private Batches()
    {
    }

    /** One failed key of a batch with the worker's reason. */
    public record Failure(String key, StatusCode code, String message)
    {
    }

    public static void writeKeys(final BodyWriter out, final List<String> keys)
    {
        out.putInt(keys.size());
        for (final String key : keys)
        {
            out.putString(key);
        }
    }

    public static List<Failure> readFailures(final BodyReader in)
    {
        final int count = in.getCount(12, Integer.MAX_VALUE);
        if (count == 0)
        {
            return List.of();
        }
        final List<Failure> failures = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            failures.add(new Failure(in.getString(), StatusCode.of(in.getInt()), in.getString()));
        }
        return failures;
    }

    /** The failed keys; throws with the first failure's code when all {@code total} keys failed. */
    public static List<String> failedKeys(final List<Failure> failures, final int total, final String operation)
    {
        if (failures.isEmpty())
        {
            return List.of();
        }
        if (failures.size() == total)
        {
            final Failure first = failures.getFirst();
            throw new DsException(first.code(), operation + " failed for all " + total + " keys; first: "
                + first.key() + ": " + first.message());
        }
        return failures.stream().map(Failure::key).toList();
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
