package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.shm.ObjectHeader;

/**
 * {@code LATCH_HELD} and {@code LATCH_RELEASED} (docs/protocol.md 5.21): a client took or gave back a latch in an
 * object header. Request: allocation id (int64), latch kind (int8: {@link ObjectHeader#LATCH_KIND_WRITE} or
 * {@link ObjectHeader#LATCH_KIND_READ}). Sent with NO_REPLY; without it the reply is empty.
 */
public final class LatchCodec
{
    private LatchCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final long allocationId, final int kind)
    {
        out.putLong(allocationId).putByte(kind);
    }

    /** A reusable decoder of one request at a time (one per connection). */
    public static final class Request
    {
        private long allocationId;
        private int kind;

        /** @throws DsException INVALID for a latch kind other than write or read */
        public void read(final BodyReader in)
        {
            allocationId = in.getLong();
            kind = in.getByte();
            if (kind != ObjectHeader.LATCH_KIND_WRITE && kind != ObjectHeader.LATCH_KIND_READ)
            {
                throw new DsException(StatusCode.INVALID, "latch kind " + kind + " is neither 1 (write) nor 2 (read)");
            }
        }

        public long allocationId()
        {
            return allocationId;
        }

        /** {@link ObjectHeader#LATCH_KIND_WRITE} or {@link ObjectHeader#LATCH_KIND_READ}. */
        public int kind()
        {
            return kind;
        }
    }
}
