package io.ds4j.worker.server;

import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;

import java.util.List;

/**
 * How every batch request is read and answered (docs/protocol.md 4.1, 7): key lists within the upstream's limits,
 * answered INVALID beyond them rather than by closing the connection, and the failed-keys answer.
 */
public final class Batches
{
    private Batches()
    {
    }

    /** Reads a read-like key list (1..10,000 keys) into {@code keys}, replacing what it held. */
    public static void readKeys(final BodyReader request, final List<String> keys)
    {
        final int count = request.getCount(4, Integer.MAX_VALUE);
        if (count == 0 || count > KeyRules.MAX_READ_BATCH)
        {
            throw new DsException(StatusCode.INVALID, "a batch holds " + count + " keys; it must hold 1.."
                + KeyRules.MAX_READ_BATCH);
        }
        keys.clear();
        for (int i = 0; i < count; i++)
        {
            keys.add(request.getString());
        }
    }

    /** Reads the item count of a set-like batch (1..1999 items of at least {@code minItemBytes} each). */
    public static int setBatchCount(final BodyReader request, final int minItemBytes)
    {
        final int count = request.getCount(minItemBytes, Integer.MAX_VALUE);
        if (count == 0 || count >= KeyRules.MAX_SET_BATCH_EXCLUSIVE)
        {
            throw new DsException(StatusCode.INVALID, "a set batch holds " + count + " keys; it must hold 1.."
                + (KeyRules.MAX_SET_BATCH_EXCLUSIVE - 1));
        }
        return count;
    }

    /**
     * The failed-keys answer of batch calls: status OK, then (key, code, message) per failed key. The count is
     * patched in at the end, so keys are written as they fail without a second list.
     */
    public static final class FailedKeys
    {
        private final BodyWriter out;
        private final int countPosition;
        private int count;

        public FailedKeys(final BodyWriter out, final long correlationId, final short type)
        {
            this.out = out;
            out.beginResponse(type, correlationId, 0);
            countPosition = out.position();
            out.putInt(0);
        }

        public void add(final String key, final DsException e)
        {
            out.putString(key).putInt(e.code().value()).putString(e.detail());
            count++;
        }

        public void finish()
        {
            out.putIntAt(countPosition, count);
        }
    }
}
