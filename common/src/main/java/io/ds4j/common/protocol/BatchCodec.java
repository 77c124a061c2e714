package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;

import java.util.ArrayList;
import java.util.List;

/**
 * What every batch message shares (docs/protocol.md 4.1, 5.13, 7): key lists, item counts checked against the
 * upstream's batch limits, nested-key lists, and the failed-keys answer. A count outside its batch limit, in a frame
 * that could hold it, is answered INVALID; a count the frame cannot hold is a protocol error.
 */
public final class BatchCodec
{
    /** The least bytes a key takes in a frame: its length word. */
    static final int MIN_KEY_BYTES = 4;
    /** The least bytes a failed item takes: two length words and the code. */
    private static final int MIN_FAILURE_BYTES = 12;

    private BatchCodec()
    {
    }

    /** A key list: count, then each key. */
    public static void writeKeys(final BodyWriter out, final List<String> keys)
    {
        out.putInt(keys.size());
        for (final String key : keys)
        {
            out.putString(key);
        }
    }

    /**
     * Reads a read-like key list (1..10,000 keys) into {@code keys}, replacing what it held.
     *
     * @throws DsException INVALID for 0 keys or more than 10,000
     */
    public static void readKeys(final BodyReader in, final List<String> keys)
    {
        final int count = in.getCount(MIN_KEY_BYTES, Integer.MAX_VALUE);
        if (count == 0 || count > KeyRules.MAX_READ_BATCH)
        {
            throw new DsException(StatusCode.INVALID, "a batch holds " + count + " keys; it must hold 1.."
                + KeyRules.MAX_READ_BATCH);
        }
        keys.clear();
        for (int i = 0; i < count; i++)
        {
            keys.add(in.getString());
        }
    }

    /**
     * Reads the item count of a set-like batch (1..1999 items of at least {@code minItemBytes} each).
     *
     * @throws DsException INVALID for 0 items or 2000 and more
     */
    public static int readSetCount(final BodyReader in, final int minItemBytes)
    {
        final int count = in.getCount(minItemBytes, Integer.MAX_VALUE);
        if (count == 0 || count >= KeyRules.MAX_SET_BATCH_EXCLUSIVE)
        {
            throw new DsException(StatusCode.INVALID, "a set batch holds " + count + " keys; it must hold 1.."
                + (KeyRules.MAX_SET_BATCH_EXCLUSIVE - 1));
        }
        return count;
    }

    /**
     * Reads the nested keys of an OBJ_PUBLISH or OBJ_PUT (0..10,000): a new list, or the shared empty one.
     *
     * @throws DsException INVALID for more than 10,000
     */
    static List<String> readNestedKeys(final BodyReader in)
    {
        final int count = in.getCount(MIN_KEY_BYTES, Integer.MAX_VALUE);
        if (count > KeyRules.MAX_READ_BATCH)
        {
            throw new DsException(StatusCode.INVALID, "an object may name at most " + KeyRules.MAX_READ_BATCH
                + " nested keys per publish, not " + count);
        }
        if (count == 0)
        {
            return List.of();
        }
        final List<String> nested = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            nested.add(in.getString());
        }
        return nested;
    }

    /** The bytes a key list takes in a frame (keys are ASCII by the key rules). */
    static long keyListBytes(final List<String> keys)
    {
        long bytes = 4;
        for (final String key : keys)
        {
            bytes += 4 + key.length();
        }
        return bytes;
    }

    /** One failed item of a batch, as the worker reported it. */
    public record Failure(String key, StatusCode code, String message)
    {
    }

    /** Reads a failed-keys answer: the failed items in request order, or the shared empty list. */
    public static List<Failure> readFailures(final BodyReader in)
    {
        final int count = in.getCount(MIN_FAILURE_BYTES, Integer.MAX_VALUE);
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

    /**
     * Writes the failed-keys answer of a batch (4.1): the count, then (key, code, message) per failed item. The count
     * is patched in at the end, so items are written as they fail without a second list. Reusable: one per
     * connection, for one answer at a time.
     */
    public static final class FailedKeys
    {
        private BodyWriter out;
        private int countPosition;
        private int count;

        /** Starts the body, right after the response's status word. */
        public FailedKeys begin(final BodyWriter writer)
        {
            out = writer;
            countPosition = writer.position();
            count = 0;
            writer.putInt(0);
            return this;
        }

        public void add(final String key, final DsException e)
        {
            out.putString(key).putInt(e.code().value()).putString(e.detail());
            count++;
        }

        public void finish()
        {
            out.putIntAt(countPosition, count);
            out = null;
        }
    }
}
